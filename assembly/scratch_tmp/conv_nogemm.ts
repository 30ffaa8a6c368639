// conv2d (NCHW, any kernel, stride, zero padding, groups) and its two backward passes, as GEMMs
// over packed panels fed to the 4x8 micro-kernel in gemm.ts.
//
//   forward          Y[k, p]   = W[k, kk] * col(X)[kk, p]            (kk = ci, ky, kx; p = oy, ox)
//   backward input   stride 1: the forward of dY with the flipped, transposed kernel;
//                    otherwise dcol[kk, p] = W^T[kk, k] * dY[k, p], scattered back (col2im)
//   backward weight  dW[k, kk] = sum over images and p of dY[k, p] * col(X)[kk, p]
//
// Nothing here allocates: the caller passes a workspace of the size the *_workspace functions
// return (in bytes). Every function works on images [0, n); a later threaded version splits that
// range (or the column panels) across workers without changing these signatures' meaning.

import { gemmTile, gemmTileToScratch } from '../gemm';

// Depth of one B panel in the forward (floats of reduction per panel): 512 * 8 * 4 B = 16 KiB, L1.
const KC: i32 = 512;
// Output positions per chunk in the weight gradient.
const PC: i32 = 256;

// @ts-ignore: decorator
@inline function ceilDiv(a: i32, b: i32): i32 { return (a + b - 1) / b; }
// @ts-ignore: decorator
@inline function f32at(p: usize, i: i32): usize { return p + ((<usize>i) << 2); }

/** For every reduction index kk = (ci, ky, kx): the input offset ci*h*w + ky*w + kx, and ky, kx. */
function fillTapTable(table: usize, kd: i32, h: i32, w: i32, kh: i32, kw: i32): void {
  const taps = kh * kw;
  for (let kk = 0; kk < kd; kk++) {
    const ci = kk / taps;
    const r = kk - ci * taps;
    const ky = r / kw;
    const kx = r - ky * kw;
    const t = table + (<usize>kk) * 12;
    store<i32>(t, ci * h * w + ky * w + kx);
    store<i32>(t, ky, 4);
    store<i32>(t, kx, 8);
  }
}

/** Input coordinates (top-left of the window) of up to 8 output positions starting at p0. */
function fillColumnCoords(coords: usize, p0: i32, cols: i32, ow: i32, sh: i32, sw: i32, ph: i32, pw: i32): void {
  for (let j = 0; j < 8; j++) {
    const p = p0 + (j < cols ? j : cols - 1);
    const oy = p / ow;
    const ox = p - oy * ow;
    store<i32>(coords + (<usize>j << 2), oy * sh - ph);
    store<i32>(coords + (<usize>j << 2), ox * sw - pw, 32);
  }
}

/** B panel of im2col(X) for the forward: rows kk in [kc0, kc0 + kc), 8 output positions from p0. */
function packIm2colPanel(xg: usize, dst: usize, table: usize, coords: usize, kc0: i32, kc: i32, p0: i32, cols: i32,
  h: i32, w: i32, sw: i32, pointwise: bool): void {
  const hw = h * w;
  if (pointwise && cols == 8) {
    // 1x1, stride 1, no padding: columns are contiguous input pixels.
    for (let kk = 0; kk < kc; kk++) {
      const src = f32at(xg, (kc0 + kk) * hw + p0);
      const d = dst + (<usize>kk << 5);
      v128.store(d, v128.load(src));
      v128.store(d, v128.load(src, 16), 16);
    }
    return;
  }
  const iy0 = load<i32>(coords);
  const ix0 = load<i32>(coords, 32);
  const sameRow = cols == 8 && sw == 1 && iy0 == load<i32>(coords, 28);
  for (let kk = 0; kk < kc; kk++) {
    const t = table + (<usize>(kc0 + kk)) * 12;
    const off = load<i32>(t);
    const ky = load<i32>(t, 4);
    const kx = load<i32>(t, 8);
    const d = dst + (<usize>kk << 5);
    if (sameRow) {
      const iy = iy0 + ky;
      const ix = ix0 + kx;
      if (<u32>iy >= <u32>h) {
        v128.store(d, f32x4.splat(0));
        v128.store(d, f32x4.splat(0), 16);
        continue;
      }
      if (ix >= 0 && ix + 8 <= w) {
        const src = f32at(xg, off + iy0 * w + ix0);
        v128.store(d, v128.load(src));
        v128.store(d, v128.load(src, 16), 16);
        continue;
      }
    }
    for (let j = 0; j < 8; j++) {
      let v: f32 = 0;
      if (j < cols) {
        const iy = load<i32>(coords + (<usize>j << 2)) + ky;
        const ix = load<i32>(coords + (<usize>j << 2), 32) + kx;
        if (<u32>iy < <u32>h && <u32>ix < <u32>w) {
          v = load<f32>(f32at(xg, off + (iy - ky) * w + (ix - kx)));
        }
      }
      store<f32>(d + (<usize>j << 2), v);
    }
  }
}

/** Packs W [groups * kg, kd] into 4-row interleaved panels per group (rows past kg are zero). */
function packWeightRows(w: usize, dst: usize, groups: i32, kg: i32, kd: i32): void {
  const mt = ceilDiv(kg, 4);
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < mt; m++) {
      const d = dst + (<usize>((g * mt + m) * kd) << 4);
      for (let r = 0; r < 4; r++) {
        const row = m * 4 + r;
        for (let kk = 0; kk < kd; kk++) {
          const v: f32 = row < kg ? load<f32>(f32at(w, (g * kg + row) * kd + kk)) : 0;
          store<f32>(d + ((<usize>(kk * 4 + r)) << 2), v);
        }
      }
    }
  }
}

/** Packs the kernel of the "transposed" convolution (used for the stride-1 input gradient):
 *  per group, out channel o' = ci (cg of them), in channel ci' = ko (kg of them), kernel rotated
 *  by 180 degrees. */
function packWeightFlipped(w: usize, dst: usize, groups: i32, kg: i32, cg: i32, kh: i32, kw: i32): void {
  const taps = kh * kw;
  const kd2 = kg * taps;
  const mt = ceilDiv(cg, 4);
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < mt; m++) {
      const d = dst + (<usize>((g * mt + m) * kd2) << 4);
      for (let r = 0; r < 4; r++) {
        const o = m * 4 + r;
        for (let kk = 0; kk < kd2; kk++) {
          let v: f32 = 0;
          if (o < cg) {
            const ko = kk / taps;
            const t = kk - ko * taps;
            const ky = t / kw;
            const kx = t - ky * kw;
            v = load<f32>(f32at(w, ((g * kg + ko) * cg + o) * taps + (kh - 1 - ky) * kw + (kw - 1 - kx)));
          }
          store<f32>(d + ((<usize>(kk * 4 + r)) << 2), v);
        }
      }
    }
  }
}

/** Packs W^T per group: rows kk (kd of them, in 4-row panels), reduction over ko (kg). */
function packWeightColumns(w: usize, dst: usize, groups: i32, kg: i32, kd: i32): void {
  const mt = ceilDiv(kd, 4);
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < mt; m++) {
      const d = dst + (<usize>((g * mt + m) * kg) << 4);
      for (let ko = 0; ko < kg; ko++) {
        for (let r = 0; r < 4; r++) {
          const kk = m * 4 + r;
          const v: f32 = kk < kd ? load<f32>(f32at(w, (g * kg + ko) * kd + kk)) : 0;
          store<f32>(d + ((<usize>(ko * 4 + r)) << 2), v);
        }
      }
    }
  }
}

// Workspace layout shared by the forward driver: [packed A][B panel][tile][coords][tap table].
function forwardWorkspaceBytes(c: i32, k: i32, kh: i32, kw: i32, groups: i32): i32 {
  const kd = (c / groups) * kh * kw;
  const packedA = groups * ceilDiv(k / groups, 4) * kd * 16;
  return packedA + (KC + 64) * 32 + 128 + 64 + kd * 12 + 64;
}

/** The forward GEMM over pre-packed weights. y must hold the bias (or zeros): tiles accumulate. */
function convForwardPacked(x: usize, packedA: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, scratch: usize): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kg, 4);
  const bpanel = scratch;
  const tile = bpanel + <usize>(KC + 64) * 32;
  const coords = tile + 128;
  const table = coords + 64;
  fillTapTable(table, kd, h, w, kh, kw);
  const pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
  // Equal chunks of at most KC: 576 runs as one chunk of 576 rather than 512 + 64.
  const kcStep = ceilDiv(kd, ceilDiv(kd, KC + 64));
  for (let img = 0; img < n; img++) {
    for (let g = 0; g < groups; g++) {
      const xg = f32at(x, (img * c + g * cg) * h * w);
      const yg = f32at(y, (img * k + g * kg) * np);
      const ag = packedA + (<usize>(g * mt * kd) << 4);
      for (let kc0 = 0; kc0 < kd; kc0 += kcStep) {
        const kc = min(kcStep, kd - kc0);
        for (let p0 = 0; p0 < np; p0 += 8) {
          const cols = min(8, np - p0);
          fillColumnCoords(coords, p0, cols, ow, sh, sw, ph, pw);
          packIm2colPanel(xg, bpanel, table, coords, kc0, kc, p0, cols, h, w, sw, pointwise);
          for (let m = 0; m < mt; m++) {
            const rows = min(4, kg - m * 4);
            if (kc == -1) gemmTile(kc, ag + (<usize>(m * kd + kc0) << 4), bpanel, f32at(yg, m * 4 * np + p0), np, rows, cols, tile);
          }
        }
      }
    }
  }
}

/** Fills each output channel plane with its bias, or zeros. */
function fillBias(y: usize, bias: usize, n: i32, k: i32, np: i32): void {
  for (let img = 0; img < n; img++) {
    for (let ko = 0; ko < k; ko++) {
      const v: f32 = bias ? load<f32>(f32at(bias, ko)) : 0;
      const splat = f32x4.splat(v);
      const row = f32at(y, (img * k + ko) * np);
      let i = 0;
      for (; i + 4 <= np; i += 4) v128.store(f32at(row, i), splat);
      for (; i < np; i++) store<f32>(f32at(row, i), v);
    }
  }
}

export function conv2d_forward_workspace(c: i32, k: i32, kh: i32, kw: i32, groups: i32): i32 {
  return forwardWorkspaceBytes(c, k, kh, kw, groups);
}

/** y = conv2d(x, w) + bias (bias = 0 pointer: none). */
export function conv2d_forward(x: usize, wt: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize): void {
  const kd = (c / groups) * kh * kw;
  const packedA = ws;
  const scratch = ws + <usize>(groups * ceilDiv(k / groups, 4) * kd * 16);
  packWeightRows(wt, packedA, groups, k / groups, kd);
  fillBias(y, bias, n, k, oh * ow);
  convForwardPacked(x, packedA, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, scratch);
}

// @ts-ignore: decorator
@inline function inputGradIsConv(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return sh == 1 && sw == 1 && ph <= kh - 1 && pw <= kw - 1;
}

export function conv2d_backward_input_workspace(c: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32): i32 {
  if (inputGradIsConv(kh, kw, sh, sw, ph, pw)) return forwardWorkspaceBytes(k, c, kh, kw, groups);
  const kg = k / groups;
  const kd = (c / groups) * kh * kw;
  return groups * ceilDiv(kd, 4) * kg * 16 + kg * 32 + 128 + 64 + kd * 12 + 64;
}

/** dx = gradient of conv2d with respect to its input. */
export function conv2d_backward_input(dy: usize, wt: usize, dx: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize): void {
  const cg = c / groups;
  const kg = k / groups;
  if (inputGradIsConv(kh, kw, sh, sw, ph, pw)) {
    // Stride 1: dx is a plain convolution of dy with the rotated kernel, padded by k - 1 - p.
    const kd2 = kg * kh * kw;
    const packedA = ws;
    const scratch = ws + <usize>(groups * ceilDiv(cg, 4) * kd2 * 16);
    packWeightFlipped(wt, packedA, groups, kg, cg, kh, kw);
    fillBias(dx, 0, n, c, h * w);
    convForwardPacked(dy, packedA, dx, n, k, oh, ow, c, kh, kw, 1, 1, kh - 1 - ph, kw - 1 - pw, groups, h, w, scratch);
    return;
  }
  // Strided: dcol = W^T dY one 4x8 tile at a time, each tile scattered into dx (col2im).
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kd, 4);
  const packedA = ws;
  const bpanel = packedA + <usize>(groups * mt * kg * 16);
  const tile = bpanel + <usize>kg * 32;
  const coords = tile + 128;
  const table = coords + 64;
  packWeightColumns(wt, packedA, groups, kg, kd);
  fillTapTable(table, kd, h, w, kh, kw);
  fillBias(dx, 0, n, c, h * w);
  for (let img = 0; img < n; img++) {
    for (let g = 0; g < groups; g++) {
      const dyg = f32at(dy, (img * k + g * kg) * np);
      const dxg = f32at(dx, (img * c + g * cg) * h * w);
      const ag = packedA + (<usize>(g * mt * kg) << 4);
      for (let p0 = 0; p0 < np; p0 += 8) {
        const cols = min(8, np - p0);
        for (let ko = 0; ko < kg; ko++) {
          const d = bpanel + (<usize>ko << 5);
          for (let j = 0; j < 8; j++) {
            store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(f32at(dyg, ko * np + p0 + j)) : 0);
          }
        }
        fillColumnCoords(coords, p0, cols, ow, sh, sw, ph, pw);
        for (let m = 0; m < mt; m++) {
          gemmTileToScratch(kg, ag + (<usize>(m * kg) << 4), bpanel, tile);
          const rows = min(4, kd - m * 4);
          for (let r = 0; r < rows; r++) {
            const t = table + (<usize>(m * 4 + r)) * 12;
            const off = load<i32>(t);
            const ky = load<i32>(t, 4);
            const kx = load<i32>(t, 8);
            for (let j = 0; j < cols; j++) {
              const iy0 = load<i32>(coords + (<usize>j << 2));
              const ix0 = load<i32>(coords + (<usize>j << 2), 32);
              const iy = iy0 + ky;
              const ix = ix0 + kx;
              if (<u32>iy < <u32>h && <u32>ix < <u32>w) {
                const p = f32at(dxg, off + iy0 * w + ix0);
                store<f32>(p, load<f32>(p) + load<f32>(tile + ((<usize>(r * 8 + j)) << 2)));
              }
            }
          }
        }
      }
    }
  }
}

export function conv2d_backward_weight_workspace(c: i32, k: i32, kh: i32, kw: i32, groups: i32): i32 {
  const kg = k / groups;
  const kd = (c / groups) * kh * kw;
  return ceilDiv(kg, 4) * PC * 16 + ceilDiv(kd, 8) * PC * 32 + 128 + kd * 12 + 64;
}

/** dw = sum over the batch of dY * col(X)^T; dbias (when not 0) = sum of dY per channel. */
export function conv2d_backward_weight(x: usize, dy: usize, dw: usize, dbias: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kg, 4);
  const nt = ceilDiv(kd, 8);
  const apack = ws;
  const bpack = apack + <usize>(mt * PC * 16);
  const tile = bpack + <usize>(nt * PC * 32);
  const table = tile + 128;
  fillTapTable(table, kd, h, w, kh, kw);
  memory.fill(dw, 0, <usize>(k * kd) << 2);
  for (let img = 0; img < n; img++) {
    for (let g = 0; g < groups; g++) {
      const xg = f32at(x, (img * c + g * cg) * h * w);
      const dyg = f32at(dy, (img * k + g * kg) * np);
      const dwg = f32at(dw, g * kg * kd);
      for (let p0 = 0; p0 < np; p0 += PC) {
        const pc = min(PC, np - p0);
        // A: dY rows, 4 output channels interleaved per position.
        for (let m = 0; m < mt; m++) {
          const d = apack + (<usize>(m * pc) << 4);
          for (let r = 0; r < 4; r++) {
            const row = m * 4 + r;
            if (row < kg) {
              const src = f32at(dyg, row * np + p0);
              for (let p = 0; p < pc; p++) store<f32>(d + ((<usize>(p * 4 + r)) << 2), load<f32>(f32at(src, p)));
            } else {
              for (let p = 0; p < pc; p++) store<f32>(d + ((<usize>(p * 4 + r)) << 2), 0);
            }
          }
        }
        // B: col(X) transposed, 8 taps interleaved per position. One panel at a time, positions in
        // order: writes stay sequential and reads walk the input rows.
        for (let t = 0; t < nt; t++) {
          const d0 = bpack + (<usize>(t * pc) << 5);
          const taps = min(8, kd - t * 8);
          let oy = p0 / ow;
          let ox = p0 - oy * ow;
          for (let p = 0; p < pc; p++) {
            const iy0 = oy * sh - ph;
            const ix0 = ox * sw - pw;
            const base = iy0 * w + ix0;
            const d = d0 + (<usize>p << 5);
            if (taps == 8 && iy0 >= 0 && iy0 + kh <= h && ix0 >= 0 && ix0 + kw <= w) {
              const tt = table + (<usize>(t * 8)) * 12;
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt))));
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt, 12))), 4);
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt, 24))), 8);
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt, 36))), 12);
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt, 48))), 16);
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt, 60))), 20);
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt, 72))), 24);
              store<f32>(d, load<f32>(f32at(xg, base + load<i32>(tt, 84))), 28);
            } else {
              for (let j = 0; j < 8; j++) {
                let v: f32 = 0;
                if (j < taps) {
                  const tt = table + (<usize>(t * 8 + j)) * 12;
                  const iy = iy0 + load<i32>(tt, 4);
                  const ix = ix0 + load<i32>(tt, 8);
                  if (<u32>iy < <u32>h && <u32>ix < <u32>w) v = load<f32>(f32at(xg, base + load<i32>(tt)));
                }
                store<f32>(d + (<usize>j << 2), v);
              }
            }
            ox++;
            if (ox == ow) { ox = 0; oy++; }
          }
        }
        for (let t = 0; t < nt; t++) {
          const cols = min(8, kd - t * 8);
          const b = bpack + (<usize>(t * pc) << 5);
          for (let m = 0; m < mt; m++) {
            const rows = min(4, kg - m * 4);
            gemmTile(pc, apack + (<usize>(m * pc) << 4), b, f32at(dwg, m * 4 * kd + t * 8), kd, rows, cols, tile);
          }
        }
      }
    }
  }
  if (dbias) {
    for (let ko = 0; ko < k; ko++) {
      let acc = f32x4.splat(0);
      let tail: f32 = 0;
      for (let img = 0; img < n; img++) {
        const row = f32at(dy, (img * k + ko) * np);
        let i = 0;
        for (; i + 4 <= np; i += 4) acc = f32x4.add(acc, v128.load(f32at(row, i)));
        for (; i < np; i++) tail += load<f32>(f32at(row, i));
      }
      store<f32>(f32at(dbias, ko), f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) +
        f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) + tail);
    }
  }
}
