// Max pooling (NCHW) and its backward, which routes each gradient to the first maximum of its window.
import type { Pool2dShape } from '../../backend.js';

/**
 * Index (within the plane starting at `base`) of the maximum of the window of output (oy, ox), exactly
 * as PyTorch's CPU kernel picks it: padding counts as -Infinity (it is skipped), the window is
 * scanned in row-major order with a strict `>`, so the FIRST maximum wins; a NaN always wins
 * (the last NaN, like PyTorch). Starts from the first in-bounds element, so the index is always valid.
 */
export function windowArgmax(s: Pool2dShape, x: Float32Array, base: number, oy: number, ox: number): number {
  const y0 = Math.max(oy * s.sh - s.ph, 0);
  const y1 = Math.min(oy * s.sh - s.ph + s.kh, s.h);
  const x0 = Math.max(ox * s.sw - s.pw, 0);
  const x1 = Math.min(ox * s.sw - s.pw + s.kw, s.w);
  let best = y0 * s.w + x0;
  let max = -Infinity;
  for (let iy = y0; iy < y1; iy++) {
    for (let ix = x0; ix < x1; ix++) {
      const idx = iy * s.w + ix;
      const v = x[base + idx];
      if (v > max || v !== v) {
        max = v;
        best = idx;
      }
    }
  }
  return best;
}

export function maxPool2d(s: Pool2dShape, x: Float32Array, y: Float32Array): void {
  const inPlane = s.h * s.w;
  for (let nc = 0; nc < s.n * s.c; nc++) {
    const base = nc * inPlane;
    const out = nc * s.oh * s.ow;
    for (let oy = 0; oy < s.oh; oy++) {
      for (let ox = 0; ox < s.ow; ox++) y[out + oy * s.ow + ox] = x[base + windowArgmax(s, x, base, oy, ox)];
    }
  }
}

/** dx = 0, then each dy is added at its window's first maximum (windows may overlap). */
export function maxPool2dBackward(s: Pool2dShape, x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  dx.fill(0);
  const inPlane = s.h * s.w;
  for (let nc = 0; nc < s.n * s.c; nc++) {
    const base = nc * inPlane;
    const out = nc * s.oh * s.ow;
    for (let oy = 0; oy < s.oh; oy++) {
      for (let ox = 0; ox < s.ow; ox++) dx[base + windowArgmax(s, x, base, oy, ox)] += dy[out + oy * s.ow + ox];
    }
  }
}
