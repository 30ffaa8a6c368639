// Dead taps. A kernel tap whose reads fall in the zero padding for every output position adds only
// zeros to the forward and scatters only into the padding in the input gradient. On small maps
// whole rows and columns of taps are dead: A0 trained at 32x32 ends with a 3x3 stride-2 conv from
// 2x2 maps to 1x1 outputs, which reads 4 of its 9 taps. Where the kernel cropped to its live taps
// is an ordinary convolution of its own (the same output size, its padding reduced by the taps cut
// before, the same on both sides), the direct passes that pack their weights in the call (conv2d,
// conv2d_backward_input: conv2d.ts) run that convolution instead, and the GEMM's reduction shrinks
// to the live taps. Every output receives the same products; only the zeros are gone.
import { ceilDiv, f32at } from './util';
import { itemTarget, pieceEnd, pieces } from './conv2d_plan';

// The cropped convolution, set by planCrop: its kernel, padding, and the first tap kept per axis.
export let crKh: i32 = 0;
export let crKw: i32 = 0;
export let crPh: i32 = 0;
export let crPw: i32 = 0;
export let crY0: i32 = 0;
export let crX0: i32 = 0;

/** Whether tap t along one axis (input n, stride s, padding p, o outputs) reads the input for some
 *  output position: output j reads j * s + t - p, which grows with j, so the first that is not
 *  in the top padding decides. */
// @ts-ignore: decorator
@inline function tapLive(t: i32, n: i32, s: i32, p: i32, o: i32): bool {
  const j = t >= p ? 0 : ceilDiv(p - t, s);
  return j < o && j * s + t - p < n;
}

/** Whether this convolution has dead taps to crop and the cropped one is an ordinary conv (see
 *  above); if so, sets crKh, crKw, crPh, crPw, crY0, crX0. */
export function planCrop(h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, oh: i32, ow: i32): bool {
  if (oh <= 0 || ow <= 0 || h <= 0 || w <= 0) return false;
  let y0 = 0;
  while (y0 < kh && !tapLive(y0, h, sh, ph, oh)) y0++;
  let y1 = kh;
  while (y1 > y0 && !tapLive(y1 - 1, h, sh, ph, oh)) y1--;
  let x0 = 0;
  while (x0 < kw && !tapLive(x0, w, sw, pw, ow)) x0++;
  let x1 = kw;
  while (x1 > x0 && !tapLive(x1 - 1, w, sw, pw, ow)) x1--;
  const kh2 = y1 - y0;
  const kw2 = x1 - x0;
  const ph2 = ph - y0;
  const pw2 = pw - x0;
  if (kh2 <= 0 || kw2 <= 0 || kh2 * kw2 == kh * kw || ph2 < 0 || pw2 < 0) return false;
  if (h + 2 * ph2 < kh2 || w + 2 * pw2 < kw2) return false;
  if ((h + 2 * ph2 - kh2) / sh + 1 != oh || (w + 2 * pw2 - kw2) / sw + 1 != ow) return false;
  crKh = kh2;
  crKw = kw2;
  crPh = ph2;
  crPw = pw2;
  crY0 = y0;
  crX0 = x0;
  return true;
}

/** Bytes of the cropped weights [k, cg, kh2, kw2] (64-byte aligned, so what follows them is too). */
export function croppedBytes(k: i32, cg: i32, kh2: i32, kw2: i32): i32 {
  return (k * cg * kh2 * kw2 * 4 + 63) & ~63;
}

/** Items of the cropping phase: pieces of the k output channels. */
export function cropItems(k: i32, threads: i32): i32 {
  return pieces(k, 1, itemTarget(threads));
}

/** Item i of cropItems(k, threads): W [k, cg, kh, kw] cropped to taps [y0, y0 + kh2) x [x0, x0 + kw2)
 *  into dst [k, cg, kh2, kw2], for its output channels. */
export function cropWeights(w: usize, dst: usize, k: i32, cg: i32, kh: i32, kw: i32, y0: i32, x0: i32, kh2: i32, kw2: i32,
  threads: i32, i: i32): void {
  const size = ceilDiv(k, cropItems(k, threads));
  const o1 = pieceEnd(i, size, k);
  for (let plane = i * size * cg; plane < o1 * cg; plane++) {
    const src = f32at(w, plane * kh * kw + y0 * kw + x0);
    const out = f32at(dst, plane * kh2 * kw2);
    for (let ky = 0; ky < kh2; ky++) {
      for (let kx = 0; kx < kw2; kx++) store<f32>(f32at(out, ky * kw2 + kx), load<f32>(f32at(src, ky * kw + kx)));
    }
  }
}
