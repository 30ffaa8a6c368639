// conv2d (NCHW, any kernel, stride, zero padding, groups) and its two backward passes, as GEMMs
// over packed panels fed to the 4x8 micro-kernel in gemm.ts.
//
//   forward          Y[k, p]   = W[k, kk] * col(X)[kk, p]            (kk = ci, ky, kx; p = oy, ox)
//   backward input   stride 1: the forward of dY with the flipped, transposed kernel;
//                    otherwise dcol[kk, p] = W^T[kk, k] * dY[k, p], scattered back (col2im)
//   backward weight  dW[k, kk] = sum over images and p of dY[k, p] * col(X)[kk, p]
//
// Each image's input (one group at a time) is first copied into a zero-bordered scratch plane, so
// that gathering the im2col panels needs no bounds checks: every tap reads at base(p) + off(kk).
// Small maps (the late stages: 7x7, 4x4, 2x2) would give GEMMs a few columns wide, so images are
// taken in blocks: the columns of one GEMM run over the positions of several images
// (q = image * oh * ow + p), enough to fill the panels.
//
// Nothing here allocates: the caller passes a workspace of the size the *_workspace functions
// return (in bytes). Every function loops over images [0, n); a threaded version will hand each
// worker a range of images (or of column panels) without changing what these functions compute.

import { gemmTile, gemmTileToScratch } from './gemm';

// Depth of one B panel in the forward: at most 576 * 8 * 4 B = 18 KiB, within L1.
const KC: i32 = 576;
// Output positions per chunk in the weight gradient.
const PC: i32 = 256;
// Columns one forward GEMM should span at least: small maps are batched across images up to this.
const NB_COLS: i32 = 512;
// Slack after every scratch region: the stride-2 gather reads one vector past its last tap.
const SLACK: i32 = 64;

// @ts-ignore: decorator
@inline function ceilDiv(a: i32, b: i32): i32 { return (a + b - 1) / b; }
// @ts-ignore: decorator
@inline function f32at(p: usize, i: i32): usize { return p + ((<usize>i) << 2); }
// @ts-ignore: decorator
@inline function align64(bytes: i32): i32 { return (bytes + 63) & ~63; }

/** Copies `planes` planes of h x w into planes of (h + 2 ph) x (w + 2 pw) whose border is already
 *  zero (the caller zeroes the scratch once per call; only the interior is written here). */
function copyPadded(src: usize, dst: usize, planes: i32, h: i32, w: i32, ph: i32, pw: i32): void {
  const wp = w + 2 * pw;
  const plane = (h + 2 * ph) * wp;
  for (let c = 0; c < planes; c++) {
    for (let y = 0; y < h; y++) {
      memory.copy(f32at(dst, c * plane + (y + ph) * wp + pw), f32at(src, (c * h + y) * w), <usize>w << 2);
    }
  }
}

/** For every reduction index kk = (ci, ky, kx): its offset ci*hp*wp + ky*wp + kx in the padded input. */
function fillTapOffsets(table: usize, kd: i32, hp: i32, wp: i32, kh: i32, kw: i32): void {
  const taps = kh * kw;
  for (let kk = 0; kk < kd; kk++) {
    const ci = kk / taps;
    const r = kk - ci * taps;
    const ky = r / kw;
    store<i32>(table + (<usize>kk << 2), ci * hp * wp + ky * wp + (r - ky * kw));
  }
}

/** Images per block: enough that a block's columns (images * np) reach `target`, at most n. */
// @ts-ignore: decorator
@inline function imagesPerBlock(n: i32, np: i32, target: i32): i32 {
  return max(1, min(n, target / np));
}

/** Padded-input offsets of the windows of block columns q0 .. q0 + 7 (q = image * np + p; each
 *  image's padded planes are imgStride floats apart). Columns past the end repeat the last one:
 *  they are computed but never stored. Returns true when all 8 lie in one output row of one image. */
function fillColumnBases(bases: usize, q0: i32, cols: i32, np: i32, ow: i32, wp: i32, sh: i32, sw: i32, imgStride: i32): bool {
  for (let j = 0; j < 8; j++) {
    const q = q0 + (j < cols ? j : cols - 1);
    const img = q / np;
    const p = q - img * np;
    const oy = p / ow;
    store<i32>(bases + (<usize>j << 2), img * imgStride + oy * sh * wp + (p - oy * ow) * sw);
  }
  if (cols != 8 || q0 / np != (q0 + 7) / np) return false;
  const p0 = q0 % np;
  return p0 / ow == (p0 + 7) / ow;
}

/** B panel of im2col(X) for the forward: rows kk in [kc0, kc0 + kc), 8 output positions. */
function packIm2colPanel(xp: usize, dst: usize, table: usize, bases: usize, kc0: i32, kc: i32, sameRow: bool, sw: i32): void {
  const b0 = load<i32>(bases);
  if (sameRow && sw == 1) {
    for (let kk = 0; kk < kc; kk++) {
      const src = f32at(xp, b0 + load<i32>(table + (<usize>(kc0 + kk) << 2)));
      const d = dst + (<usize>kk << 5);
      v128.store(d, v128.load(src));
      v128.store(d, v128.load(src, 16), 16);
    }
    return;
  }
  if (sameRow && sw == 2) {
    for (let kk = 0; kk < kc; kk++) {
      const src = f32at(xp, b0 + load<i32>(table + (<usize>(kc0 + kk) << 2)));
      const d = dst + (<usize>kk << 5);
      v128.store(d, v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6));
      v128.store(d, v128.shuffle<f32>(v128.load(src, 32), v128.load(src, 48), 0, 2, 4, 6), 16);
    }
    return;
  }
  const b1 = load<i32>(bases, 4), b2 = load<i32>(bases, 8), b3 = load<i32>(bases, 12);
  const b4 = load<i32>(bases, 16), b5 = load<i32>(bases, 20), b6 = load<i32>(bases, 24), b7 = load<i32>(bases, 28);
  for (let kk = 0; kk < kc; kk++) {
    const src = f32at(xp, load<i32>(table + (<usize>(kc0 + kk) << 2)));
    const d = dst + (<usize>kk << 5);
    store<f32>(d, load<f32>(f32at(src, b0)));
    store<f32>(d, load<f32>(f32at(src, b1)), 4);
    store<f32>(d, load<f32>(f32at(src, b2)), 8);
    store<f32>(d, load<f32>(f32at(src, b3)), 12);
    store<f32>(d, load<f32>(f32at(src, b4)), 16);
    store<f32>(d, load<f32>(f32at(src, b5)), 20);
    store<f32>(d, load<f32>(f32at(src, b6)), 24);
    store<f32>(d, load<f32>(f32at(src, b7)), 28);
  }
}

/** Stores the 4x4 transpose of rows a, b, c, e as 4 rows 32 bytes apart (row u = a[u] b[u] c[u] e[u]). */
// @ts-ignore: decorator
@inline function transposeStore4x4(d: usize, a: v128, b: v128, c: v128, e: v128): void {
  const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
  v128.store(d, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(d, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 32);
  v128.store(d, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 64);
  v128.store(d, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 96);
}

/** Packs W [groups * kg, kd] into 4-row interleaved panels per group (rows past kg are zero).
 *  Runs on every forward, so full panels go 4x4 at a time through a SIMD transpose. */
function packWeightRows(w: usize, dst: usize, groups: i32, kg: i32, kd: i32): void {
  const mt = ceilDiv(kg, 4);
  for (let g = 0; g < groups; g++) {
    for (let m = 0; m < mt; m++) {
      const d = dst + (<usize>((g * mt + m) * kd) << 4);
      const row0 = g * kg + m * 4;
      let kk = 0;
      if (m * 4 + 4 <= kg) {
        const r0 = f32at(w, row0 * kd);
        const r1 = f32at(w, (row0 + 1) * kd);
        const r2 = f32at(w, (row0 + 2) * kd);
        const r3 = f32at(w, (row0 + 3) * kd);
        for (; kk + 4 <= kd; kk += 4) {
          const a = v128.load(f32at(r0, kk));
          const b = v128.load(f32at(r1, kk));
          const c = v128.load(f32at(r2, kk));
          const e = v128.load(f32at(r3, kk));
          const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
          const t2 = v128.shuffle<f32>(c, e, 0, 4, 1, 5);
          const t3 = v128.shuffle<f32>(c, e, 2, 6, 3, 7);
          const o = d + (<usize>kk << 4);
          v128.store(o, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
          v128.store(o, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), 16);
          v128.store(o, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), 32);
          v128.store(o, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), 48);
        }
      }
      // The tail of a row, and the last panel when kg is not a multiple of 4.
      for (let r = 0; r < 4; r++) {
        const row = m * 4 + r;
        for (let k2 = kk; k2 < kd; k2++) {
          const v: f32 = row < kg ? load<f32>(f32at(w, (g * kg + row) * kd + k2)) : 0;
          store<f32>(d + ((<usize>(k2 * 4 + r)) << 2), v);
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

// Forward driver scratch: [padded input of a block of images][B panel][tile][bases][tap offsets]
// [output of a block of images, when the block holds more than one].
function driverScratchBytes(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, ph: i32, pw: i32, groups: i32, np: i32): i32 {
  const cg = c / groups;
  const kd = cg * kh * kw;
  const nb = imagesPerBlock(n, np, NB_COLS);
  const ctemp = nb > 1 ? align64((k / groups) * nb * np * 4) : 0;
  return paddedBlockBytes(nb, cg, h, w, ph, pw) + KC * 32 + 128 + 64 + align64(kd * 4) + ctemp;
}

/** Bytes of the padded copies of nb images' inputs (cg planes each), plus slack. */
// @ts-ignore: decorator
@inline function paddedBlockBytes(nb: i32, cg: i32, h: i32, w: i32, ph: i32, pw: i32): i32 {
  return align64(nb * cg * (h + 2 * ph) * (w + 2 * pw) * 4 + SLACK);
}

/** The forward GEMM over pre-packed weights. y must hold the bias (or zeros): tiles accumulate. */
function convForwardPacked(x: usize, packedA: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, scratch: usize): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kg, 4);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const nb = imagesPerBlock(n, np, NB_COLS);
  const imgStride = cg * hp * wp;
  const xpad = scratch;
  const bpanel = xpad + <usize>paddedBlockBytes(nb, cg, h, w, ph, pw);
  const tile = bpanel + <usize>KC * 32;
  const bases = tile + 128;
  const table = bases + 64;
  const ctemp = table + <usize>align64(kd * 4);
  memory.fill(xpad, 0, <usize>paddedBlockBytes(nb, cg, h, w, ph, pw));
  fillTapOffsets(table, kd, hp, wp, kh, kw);
  // Equal chunks of at most KC rows of the reduction.
  const kcStep = ceilDiv(kd, ceilDiv(kd, KC));
  for (let img0 = 0; img0 < n; img0 += nb) {
    const cnt = min(nb, n - img0);
    const ncols = cnt * np;
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < cnt; i++) {
        copyPadded(f32at(x, ((img0 + i) * c + g * cg) * h * w), f32at(xpad, i * imgStride), cg, h, w, ph, pw);
      }
      // One image: tiles go straight into y. Several: into a [kg, cnt * np] matrix, moved to y after.
      let cbase = f32at(y, (img0 * k + g * kg) * np);
      let ldc = np;
      if (cnt > 1) {
        cbase = ctemp;
        ldc = ncols;
        for (let row = 0; row < kg; row++) {
          for (let i = 0; i < cnt; i++) {
            memory.copy(f32at(ctemp, row * ncols + i * np), f32at(y, ((img0 + i) * k + g * kg + row) * np), <usize>np << 2);
          }
        }
      }
      const ag = packedA + (<usize>(g * mt * kd) << 4);
      for (let kc0 = 0; kc0 < kd; kc0 += kcStep) {
        const kc = min(kcStep, kd - kc0);
        for (let q0 = 0; q0 < ncols; q0 += 8) {
          const cols = min(8, ncols - q0);
          const sameRow = fillColumnBases(bases, q0, cols, np, ow, wp, sh, sw, imgStride);
          packIm2colPanel(xpad, bpanel, table, bases, kc0, kc, sameRow, sw);
          for (let m = 0; m < mt; m++) {
            const rows = min(4, kg - m * 4);
            gemmTile(kc, ag + (<usize>(m * kd + kc0) << 4), bpanel, f32at(cbase, m * 4 * ldc + q0), ldc, rows, cols, tile);
          }
        }
      }
      if (cnt > 1) {
        for (let row = 0; row < kg; row++) {
          for (let i = 0; i < cnt; i++) {
            memory.copy(f32at(y, ((img0 + i) * k + g * kg + row) * np), f32at(ctemp, row * ncols + i * np), <usize>np << 2);
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

export function conv2d_forward_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32): i32 {
  const kd = (c / groups) * kh * kw;
  return align64(groups * ceilDiv(k / groups, 4) * kd * 16) + driverScratchBytes(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow);
}

/** y = conv2d(x, w) + bias (bias = 0 pointer: none). */
export function conv2d_forward(x: usize, wt: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize): void {
  const kd = (c / groups) * kh * kw;
  const packedA = ws;
  const scratch = ws + <usize>align64(groups * ceilDiv(k / groups, 4) * kd * 16);
  packWeightRows(wt, packedA, groups, k / groups, kd);
  fillBias(y, bias, n, k, oh * ow);
  convForwardPacked(x, packedA, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, scratch);
}

// @ts-ignore: decorator
@inline function inputGradIsConv(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return sh == 1 && sw == 1 && ph <= kh - 1 && pw <= kw - 1;
}

export function conv2d_backward_input_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32): i32 {
  const cg = c / groups;
  const kg = k / groups;
  if (inputGradIsConv(kh, kw, sh, sw, ph, pw)) {
    return align64(groups * ceilDiv(cg, 4) * kg * kh * kw * 16) + driverScratchBytes(n, k, oh, ow, c, kh, kw, kh - 1 - ph, kw - 1 - pw, groups, h * w);
  }
  const kd = cg * kh * kw;
  const nb = imagesPerBlock(n, oh * ow, NB_COLS);
  return align64(groups * ceilDiv(kd, 4) * kg * 16) + paddedBlockBytes(nb, cg, h, w, ph, pw) + align64(kg * 32) + 128 + 64 + 64 + align64(kd * 4);
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
    const scratch = ws + <usize>align64(groups * ceilDiv(cg, 4) * kd2 * 16);
    packWeightFlipped(wt, packedA, groups, kg, cg, kh, kw);
    fillBias(dx, 0, n, c, h * w);
    convForwardPacked(dy, packedA, dx, n, k, oh, ow, c, kh, kw, 1, 1, kh - 1 - ph, kw - 1 - pw, groups, h, w, scratch);
    return;
  }
  // Strided: dcol = W^T dY one 4x8 tile at a time, each tile scattered (col2im) into padded
  // copies of a block of images' dx, whose interiors are then copied out.
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kd, 4);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const nb = imagesPerBlock(n, np, NB_COLS);
  const imgStride = cg * hp * wp;
  const packedA = ws;
  const dxpad = packedA + <usize>align64(groups * mt * kg * 16);
  const bpanel = dxpad + <usize>paddedBlockBytes(nb, cg, h, w, ph, pw);
  const tile = bpanel + <usize>align64(kg * 32);
  const bases = tile + 128;
  const srcs = bases + 64;
  const table = srcs + 64;
  packWeightColumns(wt, packedA, groups, kg, kd);
  fillTapOffsets(table, kd, hp, wp, kh, kw);
  for (let img0 = 0; img0 < n; img0 += nb) {
    const cnt = min(nb, n - img0);
    const ncols = cnt * np;
    for (let g = 0; g < groups; g++) {
      const ag = packedA + (<usize>(g * mt * kg) << 4);
      memory.fill(dxpad, 0, <usize>(cnt * imgStride) << 2);
      for (let q0 = 0; q0 < ncols; q0 += 8) {
        const cols = min(8, ncols - q0);
        // Where column j's dY values start (channel g * kg of its image); past the end: none.
        for (let j = 0; j < 8; j++) {
          const q = q0 + (j < cols ? j : cols - 1);
          const i = q / np;
          store<i32>(srcs + (<usize>j << 2), ((img0 + i) * k + g * kg) * np + (q - i * np));
        }
        const contiguous = cols == 8 && q0 / np == (q0 + 7) / np;
        for (let ko = 0; ko < kg; ko++) {
          const d = bpanel + (<usize>ko << 5);
          if (contiguous) {
            const src = f32at(dy, load<i32>(srcs) + ko * np);
            v128.store(d, v128.load(src));
            v128.store(d, v128.load(src, 16), 16);
          } else {
            for (let j = 0; j < 8; j++) {
              store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(f32at(dy, load<i32>(srcs + (<usize>j << 2)) + ko * np)) : 0);
            }
          }
        }
        fillColumnBases(bases, q0, cols, np, ow, wp, sh, sw, imgStride);
        for (let m = 0; m < mt; m++) {
          gemmTileToScratch(kg, ag + (<usize>(m * kg) << 4), bpanel, tile);
          const rows = min(4, kd - m * 4);
          for (let r = 0; r < rows; r++) {
            const dst = f32at(dxpad, load<i32>(table + (<usize>(m * 4 + r) << 2)));
            const t = tile + (<usize>(r * 8) << 2);
            for (let j = 0; j < cols; j++) {
              const p = f32at(dst, load<i32>(bases + (<usize>j << 2)));
              store<f32>(p, load<f32>(p) + load<f32>(t + (<usize>j << 2)));
            }
          }
        }
      }
      // Interiors of the padded gradients back into dx.
      for (let i = 0; i < cnt; i++) {
        const dxg = f32at(dx, ((img0 + i) * c + g * cg) * h * w);
        const src = f32at(dxpad, i * imgStride);
        for (let ci = 0; ci < cg; ci++) {
          for (let yy = 0; yy < h; yy++) {
            memory.copy(f32at(dxg, (ci * h + yy) * w), f32at(src, ci * hp * wp + (yy + ph) * wp + pw), <usize>w << 2);
          }
        }
      }
    }
  }
}

export function conv2d_backward_weight_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32): i32 {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const nb = imagesPerBlock(n, oh * ow, PC);
  return paddedBlockBytes(nb, cg, h, w, ph, pw) + align64(ceilDiv(kg, 4) * PC * 16) + align64(ceilDiv(kd, 8) * PC * 32) + 128 + align64(kd * 4);
}

/** dw = sum over the batch of dY * col(X)^T; dbias (when not 0) = sum of dY per channel. The
 *  reduction runs over chunks of PC positions, which span several images when the maps are small. */
export function conv2d_backward_weight(x: usize, dy: usize, dw: usize, dbias: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kg, 4);
  const nt = ceilDiv(kd, 8);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const nb = imagesPerBlock(n, np, PC);
  const imgStride = cg * hp * wp;
  const xpad = ws;
  const apack = xpad + <usize>paddedBlockBytes(nb, cg, h, w, ph, pw);
  const bpack = apack + <usize>align64(mt * PC * 16);
  const tile = bpack + <usize>align64(nt * PC * 32);
  const table = tile + 128;
  memory.fill(xpad, 0, <usize>paddedBlockBytes(nb, cg, h, w, ph, pw));
  fillTapOffsets(table, kd, hp, wp, kh, kw);
  memory.fill(dw, 0, <usize>(k * kd) << 2);
  for (let img0 = 0; img0 < n; img0 += nb) {
    const cnt = min(nb, n - img0);
    const ncols = cnt * np;
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < cnt; i++) {
        copyPadded(f32at(x, ((img0 + i) * c + g * cg) * h * w), f32at(xpad, i * imgStride), cg, h, w, ph, pw);
      }
      const dwg = f32at(dw, g * kg * kd);
      for (let q0 = 0; q0 < ncols; q0 += PC) {
        const pc = min(PC, ncols - q0);
        // A: dY rows, 4 output channels interleaved per position (positions run across images).
        for (let m = 0; m < mt; m++) {
          const d = apack + (<usize>(m * pc) << 4);
          for (let r = 0; r < 4; r++) {
            const row = m * 4 + r;
            let i = q0 / np;
            let p = q0 - i * np;
            for (let q = 0; q < pc; q++) {
              const v: f32 = row < kg ? load<f32>(f32at(dy, ((img0 + i) * k + g * kg + row) * np + p)) : 0;
              store<f32>(d + ((<usize>(q * 4 + r)) << 2), v);
              p++;
              if (p == np) { p = 0; i++; }
            }
          }
        }
        // B: col(X) transposed, 8 taps interleaved per position; one panel at a time, positions
        // in order, so writes stay sequential and reads walk the input rows.
        for (let t = 0; t < nt; t++) {
          const d0 = bpack + (<usize>(t * pc) << 5);
          const taps = min(8, kd - t * 8);
          const tt = table + (<usize>(t * 8) << 2);
          // Taps past kd read offset 0 (a valid address) and are multiplied into columns that are
          // never stored.
          const o0 = load<i32>(tt);
          const o1 = taps > 1 ? load<i32>(tt, 4) : 0, o2 = taps > 2 ? load<i32>(tt, 8) : 0;
          const o3 = taps > 3 ? load<i32>(tt, 12) : 0, o4 = taps > 4 ? load<i32>(tt, 16) : 0;
          const o5 = taps > 5 ? load<i32>(tt, 20) : 0, o6 = taps > 6 ? load<i32>(tt, 24) : 0;
          const o7 = taps > 7 ? load<i32>(tt, 28) : 0;
          let i = q0 / np;
          const p0 = q0 - i * np;
          let oy = p0 / ow;
          let ox = p0 - oy * ow;
          let q = 0;
          while (q < pc) {
            const src = f32at(xpad, i * imgStride + oy * sh * wp + ox * sw);
            const d = d0 + (<usize>q << 5);
            if (sw == 1 && ox + 4 <= ow && q + 4 <= pc) {
              // Four positions of one output row at once: each tap is 4 consecutive input values,
              // and two 4x4 transposes turn 8 taps x 4 positions into 4 rows of 8 taps.
              transposeStore4x4(d, v128.load(f32at(src, o0)), v128.load(f32at(src, o1)), v128.load(f32at(src, o2)), v128.load(f32at(src, o3)));
              transposeStore4x4(d + 16, v128.load(f32at(src, o4)), v128.load(f32at(src, o5)), v128.load(f32at(src, o6)), v128.load(f32at(src, o7)));
              q += 4;
              ox += 4;
              if (ox == ow) {
                ox = 0;
                oy++;
                if (oy == oh) { oy = 0; i++; }
              }
              continue;
            }
            store<f32>(d, load<f32>(f32at(src, o0)));
            store<f32>(d, load<f32>(f32at(src, o1)), 4);
            store<f32>(d, load<f32>(f32at(src, o2)), 8);
            store<f32>(d, load<f32>(f32at(src, o3)), 12);
            store<f32>(d, load<f32>(f32at(src, o4)), 16);
            store<f32>(d, load<f32>(f32at(src, o5)), 20);
            store<f32>(d, load<f32>(f32at(src, o6)), 24);
            store<f32>(d, load<f32>(f32at(src, o7)), 28);
            q++;
            ox++;
            if (ox == ow) {
              ox = 0;
              oy++;
              if (oy == oh) { oy = 0; i++; }
            }
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
