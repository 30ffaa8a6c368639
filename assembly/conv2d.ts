// conv2d (NCHW, any kernel, stride, zero padding, groups) and its two backward passes: the
// drivers. Each pass is a GEMM over packed panels (conv2d_pack.ts, conv2d_gather.ts) run on the
// 4x8 micro-kernel (f32_gemm_4x8.ts), with its workspace laid out by conv2d_plan.ts.
//
//   conv2d                  Y[k, p]   = W[k, kk] * col(X)[kk, p]        (kk = ci, ky, kx; p = oy, ox)
//   conv2d_backward_input   stride 1: the forward of dY with the flipped, transposed kernel;
//                           otherwise dcol[kk, p] = W^T[kk, k] * dY[k, p], scattered back (col2im)
//   conv2d_backward_weight  dW[k, kk] = sum over images and p of dY[k, p] * col(X)[kk, p]
// conv2d and conv2d_backward_input also run Winograd for 3x3 stride 1 (conv2d_winograd.ts) when
// their `algo` asks for it; the weight gradient is always direct.
//
// Small maps (the late stages: 7x7, 4x4, 2x2) would give GEMMs a few columns wide, so images are
// taken in blocks: the columns of one GEMM run over the positions of several images.
// Nothing here allocates: the caller passes a workspace of the size the *_workspace functions
// return (in bytes). Images are contiguous in NCHW, so a range of images can be run by passing
// offset pointers and a smaller n.
import { gemmTile, gemmTileToScratch } from './f32_gemm_4x8';
import {
  copyInterior, copyPadded, fillColumnBases, fillTapOffsets, packColumnsTransposed, packDyPanel, packDyRows,
  packIm2colPanel, scatterTile,
} from './conv2d_gather';
import { packWeightColumns, packWeightFlipped, packWeightRows } from './conv2d_pack';
import {
  KC, NB_COLS, PC, colBases, colBPanel, colBytes, colDxPad, colSrcs, colTable, colTile, directBases,
  directBPanel, directBytes, directCTemp, directTable, directTile, imagesPerBlock, packedRowsBytes,
  paddedBlockBytes, planCol2im, planDirect, planWeightGrad, wgAPack, wgBPack, wgBytes, wgTable, wgTile,
} from './conv2d_plan';
import { ceilDiv, f32at, hsum32 } from './util';
import {
  conv2d_winograd, conv2d_winograd_pack_weight, conv2d_winograd_weight_bytes, conv2d_winograd_workspace,
} from './conv2d_winograd';

/** The algorithm codes every conv2d export takes: 0 the direct GEMM; 2 and 4 Winograd F(2x2, 3x3)
 *  and F(4x4, 3x3) (bits 8+ pick another F(4,3) point set, for the accuracy study). Winograd only
 *  applies to 3x3 stride-1 convs with padding <= 2: anything else runs direct whatever is asked. */
// @ts-ignore: decorator
@inline function algoFor(algo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): i32 {
  return kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph <= 2 && pw <= 2 ? algo : 0;
}

/** The direct GEMM over pre-packed weights (layout: planDirect, which the caller has run).
 *  y must hold the bias (or zeros): tiles accumulate. */
function convDirect(x: usize, packedA: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize, relu: bool): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kg, 4);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const nb = imagesPerBlock(n, np, NB_COLS);
  const imgStride = cg * hp * wp;
  const xpad = ws;
  const bpanel = ws + <usize>directBPanel;
  const tile = ws + <usize>directTile;
  const bases = ws + <usize>directBases;
  const table = ws + <usize>directTable;
  const ctemp = ws + <usize>directCTemp;
  memory.fill(xpad, 0, <usize>directBPanel);
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
        moveRows(y, ctemp, img0, cnt, k, g * kg, kg, np, true);
      }
      const ag = packedA + (<usize>(g * mt * kd) << 4);
      for (let kc0 = 0; kc0 < kd; kc0 += kcStep) {
        const kc = min(kcStep, kd - kc0);
        for (let q0 = 0; q0 < ncols; q0 += 8) {
          const cols = min(8, ncols - q0);
          const sameRow = fillColumnBases(bases, q0, cols, np, ow, wp, sh, sw, imgStride);
          packIm2colPanel(xpad, bpanel, table, bases, kc0, kc, sameRow, sw);
          const last = kc0 + kc >= kd;
          for (let m = 0; m < mt; m++) {
            const rows = min(4, kg - m * 4);
            const c0 = f32at(cbase, m * 4 * ldc + q0);
            gemmTile(kc, ag + (<usize>(m * kd + kc0) << 4), bpanel, c0, ldc, rows, cols, tile);
            // The tile is final after the last chunk of the reduction, and still in L1: ReLU it now.
            if (relu && last) reluTile(c0, ldc, rows, cols);
          }
        }
      }
      if (cnt > 1) moveRows(y, ctemp, img0, cnt, k, g * kg, kg, np, false);
    }
  }
}

/** max(0, v) over a rows x cols tile of C (rows ldc floats apart). */
function reluTile(c: usize, ldc: i32, rows: i32, cols: i32): void {
  const z = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = f32at(c, r * ldc);
    if (cols == 8) {
      v128.store(row, f32x4.max(v128.load(row), z));
      v128.store(row, f32x4.max(v128.load(row, 16), z), 16);
    } else {
      for (let j = 0; j < cols; j++) {
        const v = load<f32>(f32at(row, j));
        store<f32>(f32at(row, j), max<f32>(v, 0)); // NaN stays NaN, as in f32x4.max
      }
    }
  }
}

/** Moves rows k0 .. k0 + kg of images img0 .. img0 + cnt between y (NCHW) and a [kg, cnt * np]
 *  block matrix: into it (`toBlock`) or back out. */
function moveRows(y: usize, block: usize, img0: i32, cnt: i32, k: i32, k0: i32, kg: i32, np: i32, toBlock: bool): void {
  const ncols = cnt * np;
  for (let row = 0; row < kg; row++) {
    for (let i = 0; i < cnt; i++) {
      const inY = f32at(y, ((img0 + i) * k + k0 + row) * np);
      const inBlock = f32at(block, row * ncols + i * np);
      if (toBlock) memory.copy(inBlock, inY, <usize>np << 2);
      else memory.copy(inY, inBlock, <usize>np << 2);
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

// ---- conv2d ----
// Workspace: [weights packed in 4-row panels][planDirect]

// Workspace: [weights packed for the algorithm][the algorithm's own workspace]. Weights are packed
// on every call here; a planned model packs them once (conv2d_packed).

export function conv2d_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32): i32 {
  return conv2d_packed_bytes(k, c, groups, kh, kw, algoFor(algo, kh, kw, sh, sw, ph, pw)) +
    conv2d_packed_workspace(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo);
}

/** y = conv2d(x, w) + bias (bias = 0 pointer: none), by `algo`. */
export function conv2d(x: usize, wt: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, ws: usize): void {
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) {
    const packed = ws;
    conv2d_pack_weight(wt, packed, k, c, groups, kh, kw, a);
    conv2d_packed(x, packed, bias, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, a, 0,
      ws + <usize>conv2d_packed_bytes(k, c, groups, kh, kw, a));
    return;
  }
  const kd = (c / groups) * kh * kw;
  const packedA = ws;
  const scratch = ws + <usize>packedRowsBytes(groups, k / groups, kd);
  packWeightRows(wt, packedA, groups, k / groups, kd);
  fillBias(y, bias, n, k, oh * ow);
  planDirect(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow);
  convDirect(x, packedA, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, scratch, false);
}

// ---- conv2d_packed: weights packed once (a planned model), bias and ReLU fused ----
// `algo` as in algoFor: 0 direct, 2 / 4 Winograd (3x3 stride 1).

/** Bytes of conv2d's weights packed for `algo`. */
export function conv2d_packed_bytes(k: i32, c: i32, groups: i32, kh: i32, kw: i32, algo: i32): i32 {
  if (algo != 0 && kh == 3 && kw == 3) return conv2d_winograd_weight_bytes(k, c, groups, algo);
  return packedRowsBytes(groups, k / groups, (c / groups) * kh * kw);
}

/** Packs weights [k, c / groups, kh, kw] for conv2d_packed with `algo`, once per model. */
export function conv2d_pack_weight(w: usize, dst: usize, k: i32, c: i32, groups: i32, kh: i32, kw: i32, algo: i32): void {
  if (algo != 0 && kh == 3 && kw == 3) conv2d_winograd_pack_weight(w, dst, k, c, groups, algo, 0);
  else packWeightRows(w, dst, groups, k / groups, (c / groups) * kh * kw);
}

export function conv2d_packed_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32): i32 {
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) return conv2d_winograd_workspace(n, c, h, w, k, groups, ph, pw, oh, ow, a);
  planDirect(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow);
  return directBytes;
}

/** y = conv2d(x, w) + bias, then max(0, y) when relu != 0, over weights packed by conv2d_pack_weight. */
export function conv2d_packed(x: usize, packed: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, relu: i32, ws: usize): void {
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) {
    conv2d_winograd(x, packed, bias, y, n, c, h, w, k, groups, ph, pw, oh, ow, a, relu, ws);
    return;
  }
  fillBias(y, bias, n, k, oh * ow);
  planDirect(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow);
  convDirect(x, packed, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, ws, relu != 0);
}

// ---- conv2d_backward_input ----
// Stride 1: [flipped weights in 4-row panels][planDirect of the transposed convolution].
// Otherwise: planCol2im.

// @ts-ignore: decorator
@inline function inputGradIsConv(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return sh == 1 && sw == 1 && ph <= kh - 1 && pw <= kw - 1;
}

export function conv2d_backward_input_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32): i32 {
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) {
    // The transposed convolution: k channels in, c out, padding 2 - p, on the flipped kernel.
    return conv2d_winograd_weight_bytes(k, c, groups, a) +
      conv2d_winograd_workspace(n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a);
  }
  if (inputGradIsConv(kh, kw, sh, sw, ph, pw)) {
    planDirect(n, k, oh, ow, c, kh, kw, kh - 1 - ph, kw - 1 - pw, groups, h * w);
    return packedRowsBytes(groups, c / groups, (k / groups) * kh * kw) + directBytes;
  }
  planCol2im(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow);
  return colBytes;
}

/** dx = gradient of conv2d with respect to its input. */
export function conv2d_backward_input(dy: usize, wt: usize, dx: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, ws: usize): void {
  const cg = c / groups;
  const kg = k / groups;
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) {
    conv2d_winograd_pack_weight(wt, ws, k, c, groups, a, 1);
    conv2d_winograd(dy, ws, 0, dx, n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, 0,
      ws + <usize>conv2d_winograd_weight_bytes(k, c, groups, a));
    return;
  }
  if (inputGradIsConv(kh, kw, sh, sw, ph, pw)) {
    // Stride 1: dx is a plain convolution of dy with the rotated kernel, padded by k - 1 - p.
    const packedA = ws;
    const scratch = ws + <usize>packedRowsBytes(groups, cg, kg * kh * kw);
    packWeightFlipped(wt, packedA, groups, kg, cg, kh, kw);
    fillBias(dx, 0, n, c, h * w);
    planDirect(n, k, oh, ow, c, kh, kw, kh - 1 - ph, kw - 1 - pw, groups, h * w);
    convDirect(dy, packedA, dx, n, k, oh, ow, c, kh, kw, 1, 1, kh - 1 - ph, kw - 1 - pw, groups, h, w, scratch, false);
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
  planCol2im(n, c, h, w, k, kh, kw, ph, pw, groups, np);
  const packedA = ws;
  const dxpad = ws + <usize>colDxPad;
  const bpanel = ws + <usize>colBPanel;
  const tile = ws + <usize>colTile;
  const bases = ws + <usize>colBases;
  const srcs = ws + <usize>colSrcs;
  const table = ws + <usize>colTable;
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
        packDyPanel(dy, bpanel, srcs, q0, cols, np, img0, k, g, kg);
        fillColumnBases(bases, q0, cols, np, ow, wp, sh, sw, imgStride);
        for (let m = 0; m < mt; m++) {
          gemmTileToScratch(kg, ag + (<usize>(m * kg) << 4), bpanel, tile);
          scatterTile(tile, dxpad, table, bases, m * 4, min(4, kd - m * 4), cols);
        }
      }
      for (let i = 0; i < cnt; i++) {
        copyInterior(f32at(dxpad, i * imgStride), f32at(dx, ((img0 + i) * c + g * cg) * h * w), cg, h, w, ph, pw);
      }
    }
  }
}

// ---- conv2d_backward_weight ----

export function conv2d_backward_weight_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32): i32 {
  planWeightGrad(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow);
  return wgBytes;
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
  planWeightGrad(n, c, h, w, k, kh, kw, ph, pw, groups, np);
  const xpad = ws;
  const apack = ws + <usize>wgAPack;
  const bpack = ws + <usize>wgBPack;
  const tile = ws + <usize>wgTile;
  const table = ws + <usize>wgTable;
  memory.fill(xpad, 0, <usize>wgAPack);
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
        packDyRows(dy, apack, q0, pc, np, img0, k, g, kg, mt);
        for (let t = 0; t < nt; t++) {
          packColumnsTransposed(xpad, bpack + (<usize>(t * pc) << 5), table, t, kd, q0, pc, np, oh, ow, wp, sh, sw, imgStride);
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
      store<f32>(f32at(dbias, ko), hsum32(acc) + tail);
    }
  }
}
