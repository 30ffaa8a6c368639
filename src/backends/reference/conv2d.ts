// conv2d (NCHW, grouped, strided, zero-padded) and its two backward passes as direct loops: the
// oracle the WASM kernels are tested against. Sums in float64.
import type { Conv2dShape } from '../../backend.js';

/**
 * Output indices o in [lo, hi) whose input index o * stride - pad + tap lies inside [0, size).
 * Hoisting this out of the inner loops keeps them free of bounds tests.
 */
export function validRange(tap: number, pad: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = Math.max(0, Math.ceil((pad - tap) / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 + pad - tap) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

/** y[n,k,oy,ox] = bias[k] + sum over (ci in k's group, r, q) of w[k,ci,r,q] * x[n,ci,oy*sh-ph+r,ox*sw-pw+q]. */
export function conv2d(s: Conv2dShape, x: Float32Array, w: Float32Array, bias: Float32Array | null,
  y: Float32Array): void {
  const { n, c, h, w: width, k, kh, kw, sh, sw, ph, pw, groups, oh, ow } = s;
  const cg = c / groups;
  const kg = k / groups;
  const plane = oh * ow;
  const acc = new Float64Array(plane);
  for (let b = 0; b < n; b++) {
    for (let ko = 0; ko < k; ko++) {
      const g = Math.floor(ko / kg);
      acc.fill(bias ? bias[ko] : 0);
      for (let ci = 0; ci < cg; ci++) {
        const xBase = (b * c + g * cg + ci) * h * width;
        const wBase = (ko * cg + ci) * kh * kw;
        for (let r = 0; r < kh; r++) {
          const [oyLo, oyHi] = validRange(r, ph, sh, h, oh);
          for (let q = 0; q < kw; q++) {
            const [oxLo, oxHi] = validRange(q, pw, sw, width, ow);
            const wv = w[wBase + r * kw + q];
            for (let oy = oyLo; oy < oyHi; oy++) {
              const xRow = xBase + (oy * sh - ph + r) * width - pw + q; // x index = xRow + ox * sw
              const aRow = oy * ow;
              for (let ox = oxLo; ox < oxHi; ox++) acc[aRow + ox] += wv * x[xRow + ox * sw];
            }
          }
        }
      }
      y.set(acc, (b * k + ko) * plane);
    }
  }
}

/** dx[n,ci,iy,ix] = sum over the outputs that read x[n,ci,iy,ix] of w * dy (overwrites dx). */
export function conv2dBackwardInput(s: Conv2dShape, dy: Float32Array, w: Float32Array, dx: Float32Array): void {
  const { n, c, h, w: width, k, kh, kw, sh, sw, ph, pw, groups, oh, ow } = s;
  const cg = c / groups;
  const kg = k / groups;
  const plane = oh * ow;
  const acc = new Float64Array(h * width);
  for (let b = 0; b < n; b++) {
    for (let cIn = 0; cIn < c; cIn++) {
      const g = Math.floor(cIn / cg);
      const ci = cIn - g * cg;
      acc.fill(0);
      for (let ko = g * kg; ko < (g + 1) * kg; ko++) {
        const dyBase = (b * k + ko) * plane;
        const wBase = (ko * cg + ci) * kh * kw;
        for (let r = 0; r < kh; r++) {
          const [oyLo, oyHi] = validRange(r, ph, sh, h, oh);
          for (let q = 0; q < kw; q++) {
            const [oxLo, oxHi] = validRange(q, pw, sw, width, ow);
            const wv = w[wBase + r * kw + q];
            for (let oy = oyLo; oy < oyHi; oy++) {
              const xRow = (oy * sh - ph + r) * width - pw + q;
              const dRow = dyBase + oy * ow;
              for (let ox = oxLo; ox < oxHi; ox++) acc[xRow + ox * sw] += wv * dy[dRow + ox];
            }
          }
        }
      }
      dx.set(acc, (b * c + cIn) * h * width);
    }
  }
}

/** dw[k,ci,r,q] = sum over batch and output positions of dy * x; dbias[k] = sum of dy[:,k] (overwrites both). */
export function conv2dBackwardWeight(s: Conv2dShape, x: Float32Array, dy: Float32Array, dw: Float32Array,
  dbias: Float32Array | null): void {
  const { n, c, h, w: width, k, kh, kw, sh, sw, ph, pw, groups, oh, ow } = s;
  const cg = c / groups;
  const kg = k / groups;
  const plane = oh * ow;
  for (let ko = 0; ko < k; ko++) {
    const g = Math.floor(ko / kg);
    for (let ci = 0; ci < cg; ci++) {
      for (let r = 0; r < kh; r++) {
        const [oyLo, oyHi] = validRange(r, ph, sh, h, oh);
        for (let q = 0; q < kw; q++) {
          const [oxLo, oxHi] = validRange(q, pw, sw, width, ow);
          let sum = 0;
          for (let b = 0; b < n; b++) {
            const xBase = (b * c + g * cg + ci) * h * width;
            const dyBase = (b * k + ko) * plane;
            for (let oy = oyLo; oy < oyHi; oy++) {
              const xRow = xBase + (oy * sh - ph + r) * width - pw + q;
              const dRow = dyBase + oy * ow;
              for (let ox = oxLo; ox < oxHi; ox++) sum += dy[dRow + ox] * x[xRow + ox * sw];
            }
          }
          dw[((ko * cg + ci) * kh + r) * kw + q] = sum;
        }
      }
    }
  }
  if (dbias) {
    for (let ko = 0; ko < k; ko++) {
      let sum = 0;
      for (let b = 0; b < n; b++) {
        const base = (b * k + ko) * plane;
        for (let i = 0; i < plane; i++) sum += dy[base + i];
      }
      dbias[ko] = sum;
    }
  }
}

/** The reference "packs" by copying: conv2dPacked is conv2d, whatever the algorithm (the reference
 *  is the exact oracle the fast algorithms are measured against). */
export function conv2dPackWeight(w: Float32Array, packed: Float32Array): void {
  packed.set(w);
}

export function conv2dPacked(s: Conv2dShape, x: Float32Array, packed: Float32Array, bias: Float32Array | null,
  y: Float32Array, relu: boolean): void {
  conv2d(s, x, packed, bias, y);
  if (relu) for (let i = 0; i < y.length; i++) if (!(y[i] > 0) && !Number.isNaN(y[i])) y[i] = 0;
}

