// conv2d (NCHW, any kernel, stride, zero padding, groups) and its two backward passes: the
// drivers. Each pass is a GEMM over packed panels (conv2d_pack.ts, conv2d_gather.ts) run on the
// 4x8 micro-kernel (f32_gemm_4x8.ts), with its workspace laid out by conv2d_plan.ts.
//
//   conv2d                  Y[k, p]   = W[k, kk] * col(X)[kk, p]        (kk = ci, ky, kx; p = oy, ox)
//   conv2d_backward_input   stride 1: the forward of dY with the flipped, transposed kernel;
//                           otherwise dcol[kk, p] = W^T[kk, k] * dY[k, p], scattered back (col2im)
//   conv2d_backward_weight  dW[k, kk] = sum over images and p of dY[k, p] * col(X)[kk, p]
// conv2d and conv2d_backward_input also run Winograd for 3x3 stride 1 (conv2d_winograd.ts) when
// their `algo` asks for it; the weight gradient is always direct, on small maps tap by tap
// (conv2d_backward_weight_taps.ts: it skips the padding's zeros that col(X) would multiply).
// On the direct GEMM, conv2d and conv2d_backward_input drop the kernel's rows and columns of taps
// that read only padding (conv2d_crop.ts).
//
// Small maps (the late stages: 7x7, 4x4, 2x2) would give GEMMs a few columns wide, so images are
// taken in blocks: the columns of one GEMM run over the positions of several images.
//
// Threads. Each pass runs in phases (packing the weights, then the GEMMs; the weight gradient's
// partial sums, then their sum); a phase is a list of work items (conv2d_plan.ts) that threads may
// run in any order and at the same time, each thread in its own slice of the workspace. The
// exports come in fours: X_workspace(shape, ..., threads) the bytes of the workspace,
// X_items(shape, ..., threads, phase) the items of a phase (0 past the last one),
// X_range(args, ws, threads, phase, thread, i0, i1) items [i0, i1) of a phase on thread `thread`,
// and X(args, ws): every phase and item on one thread (workspace of X_workspace(..., 1)).
// Nothing here allocates: the caller passes the workspace.
import { gemmTile, gemmTileToScratch } from './f32_gemm_4x8';
import {
  copyInterior, fillColumnBases, fillTapOffsets, packColumnsTransposed, packDyPanel, packDyRows, packIm2colPanel,
  padColumns, scatterTile,
} from './conv2d_gather';
import { packWeightColumns, packWeightFlipped, packWeightRows } from './conv2d_pack';
import {
  B_RESIDENT_BYTES, KC, PC, colBases, colBlocks, colBPanel, colBytes, colCc, colCn, colItems, colNb, colShared, colSrcs, colTable, colTile,
  decodeItem, dirBlocks, directBases, directBPanel, directBytes, directCTemp, directTable, directTile, dirItems, dirMc,
  dirMn, dirNb, dirQc, dirQn, dirQnLast, itBlock, itChunk, itemTarget, itGroup, itSub, packedRowsBytes, pieceEnd, pieces,
  planCol2im, planDirect, planWeightGrad, wgAPack, wgBiasCh, wgBiasItems, wgBPack, wgBytes, wgChunks, wgCpb, wgDwItems,
  wgABytes, wgNb, wgPackItems, wgPackLen, wgPartBytes, wgPartials, wgParts, wgRch, wgShared, wgSharedA, wgSumItems, wgSumLen,
  wgTable, wgTc, wgTile, wgTn,
} from './conv2d_plan';
import { ceilDiv, f32at } from './util';
import { pl_byOut, pl_split } from './conv2d_winograd_plan';
import { crKh, crKw, crPh, crPw, crX0, crY0, cropItems, croppedBytes, cropWeights, planCrop } from './conv2d_crop';
import {
  addPartials, biasGradChannels, conv2d_backward_weight_taps_items, conv2d_backward_weight_taps_range,
  conv2d_backward_weight_taps_workspace, useWeightTaps,
} from './conv2d_backward_weight_taps';
import {
  conv2d_winograd_items, conv2d_winograd_pack_weight, conv2d_winograd_panels, conv2d_winograd_range, conv2d_winograd_range_packing,
  conv2d_winograd_weight_bytes, conv2d_winograd_workspace,
} from './conv2d_winograd';

/** The algorithm codes every conv2d export takes: 0 the direct GEMM; 2 and 4 Winograd F(2x2, 3x3)
 *  and F(4x4, 3x3) (bits 8+ pick another F(4,3) point set, for the accuracy study). Winograd only
 *  applies to 3x3 stride-1 convs with padding <= 2: anything else runs direct whatever is asked. */
// @ts-ignore: decorator
@inline function algoFor(algo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): i32 {
  return kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph <= 2 && pw <= 2 ? algo : 0;
}

// @ts-ignore: decorator
@inline function oneThread(threads: i32): i32 { return max(1, threads); }

// ---- the phase that packs weights shared by every thread ----
// Items: pieces of the packed weights' 4-row panels.

// @ts-ignore: decorator
@inline function packItems(panels: i32, threads: i32): i32 {
  return pieces(panels, 1, itemTarget(threads));
}

/** Panels [p0, p1) of item i of packItems(panels, threads): sets packP0 and packP1. */
let packP0: i32 = 0;
let packP1: i32 = 0;
function packRange(i: i32, panels: i32, threads: i32): void {
  const size = ceilDiv(panels, packItems(panels, threads));
  packP0 = i * size;
  packP1 = pieceEnd(i, size, panels);
}

// ---- Winograd with weights packed in the call (conv2d, conv2d_backward_input) ----
// When Winograd runs in phases (input transforms, GEMMs, output transforms: conv2d_winograd.ts),
// its input transforms do not read the packed weights: the packing items join them in phase 0,
// which saves a phase (a hand-off and a wait for the slowest thread) and lets the packing overlap
// the transforms. When it runs one item per thread by output channels (batch 1, wide layers),
// each item packs the panels it alone reads, then runs: one phase, and each thread's slice of
// the packed weights is still in its own cache when its GEMMs read it. When it runs whole column
// blocks in one phase, each reads all the packed weights: the packing stays a phase of its own.

// How a Winograd call takes its weight packing in (winogradPacking).
const PACK_BEFORE: i32 = 0; // a phase of its own
const PACK_BESIDE: i32 = 1; // in phase 0, beside the input transforms
const PACK_WITHIN: i32 = 2; // each item packs its own panels first

/** How Winograd on this (already Winograd-transformed) shape takes the packing in. */
function winogradPacking(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32,
  a: i32, threads: i32): i32 {
  conv2d_winograd_items(n, c, h, w, k, groups, ph, pw, oh, ow, a, oneThread(threads), 0);
  return pl_split ? PACK_BESIDE : pl_byOut ? PACK_WITHIN : PACK_BEFORE;
}

/** Items of phase `phase` of such a call (PACK_BESIDE or PACK_WITHIN): `pack` packing items plus
 *  the input transforms in phase 0, then Winograd's own phases; or Winograd's items alone. */
function winogradItemsWithPacking(mode: i32, pack: i32, n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32,
  pw: i32, oh: i32, ow: i32, a: i32, threads: i32, phase: i32): i32 {
  const items = conv2d_winograd_items(n, c, h, w, k, groups, ph, pw, oh, ow, a, oneThread(threads), phase);
  return phase == 0 && mode == PACK_BESIDE ? pack + items : items;
}

/** Bytes of the workspace's region for the weights packed for Winograd: none when each item packs
 *  its own slices into its thread's buffer (PACK_WITHIN). */
function winogradWeightRegion(mode: i32, wk: i32, wc: i32, groups: i32, a: i32): i32 {
  return mode == PACK_WITHIN ? 0 : conv2d_winograd_weight_bytes(wk, wc, groups, a);
}

/** Items [i0, i1) of phase `phase` of such a call, in workspace ws: [weights packed for Winograd]
 *  [Winograd's workspace]. PACK_BESIDE: phase 0 runs the packing items (weights wt of the conv
 *  with wk outputs and wc inputs, flipped or not, `panels` 4-row panels) first, then the input
 *  transforms. PACK_WITHIN: each item packs its panels, then runs. The Winograd arguments (x,
 *  bias, y, n .. ow) are those of the convolution it runs. */
function winogradRangeWithPacking(mode: i32, wt: usize, flipped: i32, wk: i32, wc: i32, panels: i32, x: usize, bias: usize,
  y: usize, n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, a: i32, ws: usize,
  threads: i32, phase: i32, thread: i32, i0: i32, i1: i32): void {
  const work = ws + <usize>winogradWeightRegion(mode, wk, wc, groups, a);
  if (mode == PACK_WITHIN) {
    conv2d_winograd_range_packing(wt, flipped, wk, wc, x, bias, y, n, c, h, w, k, groups, ph, pw, oh, ow, a, 0, work,
      oneThread(threads), thread, i0, i1);
    return;
  }
  const pack = phase == 0 ? packItems(panels, threads) : 0;
  for (let i = i0; i < min(i1, pack); i++) {
    packRange(i, panels, threads);
    conv2d_winograd_pack_weight(wt, ws, wk, wc, groups, a, flipped, packP0, packP1);
  }
  const j0 = max(i0, pack) - pack;
  const j1 = i1 - pack;
  if (j0 >= j1) return;
  conv2d_winograd_range(x, ws, bias, y, n, c, h, w, k, groups, ph, pw, oh, ow, a, 0, work, oneThread(threads), phase,
    thread, j0, j1);
}

// ---- the direct GEMM: one item ----

/** Item `item` of planDirect (which the caller has run) over pre-packed weights: its columns of
 *  its image block, its 4-row panels of its group's output channels, bias first, ReLU last. `own`
 *  is the thread's slice of the workspace. */
function directItem(x: usize, packedA: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, relu: bool, own: usize, item: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const np = oh * ow;
  const mt = ceilDiv(kg, 4);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const imgStride = cg * hp * wp;
  decodeItem(item, dirBlocks, groups, dirQn, dirQnLast, dirMn);
  const img0 = itBlock * dirNb;
  const cnt = min(dirNb, n - img0);
  const g = itGroup;
  const q0 = itChunk * dirQc;
  const q1 = min(cnt * np, q0 + dirQc);
  const m0 = itSub * dirMc;
  const m1 = pieceEnd(itSub, dirMc, mt);
  const r0 = m0 * 4;
  const r1 = min(kg, m1 * 4);
  const xpad = own;
  const bpanel = own + <usize>directBPanel;
  const tile = own + <usize>directTile;
  const bases = own + <usize>directBases;
  const table = own + <usize>directTable;
  // No border to add (1x1 kernels, stride 1): gather straight from x, whose images are c planes
  // apart. (Stride 2 keeps the copy: its panel gather loads 16 floats for 8 and may read one past
  // the last row.)
  const inPlace = ph == 0 && pw == 0 && sw == 1;
  const src = inPlace ? f32at(x, (img0 * c + g * cg) * h * w) : xpad;
  const srcStride = inPlace ? c * h * w : imgStride;
  if (!inPlace) {
    padColumns(f32at(x, (img0 * c + g * cg) * h * w), xpad, c * h * w, 0, cg, h, w, ph, pw, wp, imgStride, np, ow, sh, kh, q0, q1);
  }
  fillTapOffsets(table, kd, hp, wp, kh, kw);
  // One image: tiles go straight into y. Several: into a [rows, columns] block, moved to y after.
  let cbase = f32at(y, (img0 * k + g * kg + r0) * np + q0);
  let ldc = np;
  if (cnt > 1) {
    cbase = own + <usize>directCTemp;
    ldc = q1 - q0;
  }
  fillRows(cbase, ldc, r1 - r0, q1 - q0, bias ? f32at(bias, g * kg + r0) : 0);
  const ag = packedA + (<usize>(g * mt * kd) << 4);
  // Equal chunks of at most KC rows of the reduction; each output element sums them in order, so
  // either loop order below computes the same bits.
  const kcStep = ceilDiv(kd, ceilDiv(kd, KC));
  for (let kc0 = 0; kc0 < kd; kc0 += kcStep) {
    const kc = min(kcStep, kd - kc0);
    const last = kc0 + kc >= kd;
    const panelBytes = kc * 32;
    const bAll = ceilDiv(q1 - q0, 8) * panelBytes;
    if (bAll <= B_RESIDENT_BYTES && (m1 - m0) * kc * 16 > bAll) {
      // The weights outweigh the columns: pack every B panel of the item, then stream each A panel once.
      for (let q = q0; q < q1; q += 8) {
        const sameRow = fillColumnBases(bases, q, min(8, q1 - q), np, ow, wp, sh, sw, srcStride);
        packIm2colPanel(src, bpanel + <usize>(((q - q0) >> 3) * panelBytes), table, bases, kc0, kc, sameRow, sw);
      }
      for (let m = m0; m < m1; m++) {
        const rows = min(4, kg - m * 4);
        const a = ag + (<usize>(m * kd + kc0) << 4);
        for (let q = q0; q < q1; q += 8) {
          const cols = min(8, q1 - q);
          const c0 = f32at(cbase, (m * 4 - r0) * ldc + (q - q0));
          gemmTile(kc, a, bpanel + <usize>(((q - q0) >> 3) * panelBytes), c0, ldc, rows, cols, tile);
          // The tile is final after the last chunk of the reduction, and still in L1: ReLU it now.
          if (relu && last) reluTile(c0, ldc, rows, cols);
        }
      }
      continue;
    }
    for (let q = q0; q < q1; q += 8) {
      const cols = min(8, q1 - q);
      const sameRow = fillColumnBases(bases, q, cols, np, ow, wp, sh, sw, srcStride);
      packIm2colPanel(src, bpanel, table, bases, kc0, kc, sameRow, sw);
      for (let m = m0; m < m1; m++) {
        const rows = min(4, kg - m * 4);
        const c0 = f32at(cbase, (m * 4 - r0) * ldc + (q - q0));
        gemmTile(kc, ag + (<usize>(m * kd + kc0) << 4), bpanel, c0, ldc, rows, cols, tile);
        if (relu && last) reluTile(c0, ldc, rows, cols);
      }
    }
  }
  if (cnt > 1) storeBlockRows(y, cbase, img0, k, g * kg + r0, r1 - r0, np, q0, q1);
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

/** Fills `rows` rows (ldc floats apart) of `cols` floats with bias[r] (bias 0: with zeros). */
function fillRows(c: usize, ldc: i32, rows: i32, cols: i32, bias: usize): void {
  for (let r = 0; r < rows; r++) {
    const v: f32 = bias ? load<f32>(f32at(bias, r)) : 0;
    const splat = f32x4.splat(v);
    const row = f32at(c, r * ldc);
    let i = 0;
    for (; i + 4 <= cols; i += 4) v128.store(f32at(row, i), splat);
    for (; i < cols; i++) store<f32>(f32at(row, i), v);
  }
}

/** Moves a [rows, q1 - q0] block (block columns q0 .. q1 of the images from img0, whose columns
 *  run image by image) into rows k0 .. k0 + rows of y (NCHW). */
function storeBlockRows(y: usize, block: usize, img0: i32, k: i32, k0: i32, rows: i32, np: i32, q0: i32, q1: i32): void {
  const ldc = q1 - q0;
  for (let row = 0; row < rows; row++) {
    let q = q0;
    while (q < q1) {
      const i = q / np;
      const p = q - i * np;
      const len = min(q1, (i + 1) * np) - q;
      memory.copy(f32at(y, ((img0 + i) * k + k0 + row) * np + p), f32at(block, row * ldc + q - q0), <usize>len << 2);
      q += len;
    }
  }
}

// ---- dead taps (conv2d_crop.ts) ----
// conv2d and conv2d_backward_input on the direct GEMM first crop the kernel to its live taps when
// that saves taps: phase 0 copies the cropped W into the workspace, then the cropped conv's own
// phases run (direct, algo 0). Workspace: [cropped W][the cropped conv's workspace].

/** Whether a pass with `algo` on this shape runs the cropped conv (sets conv2d_crop's cr*). */
function crops(algo: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, oh: i32, ow: i32): bool {
  return algoFor(algo, kh, kw, sh, sw, ph, pw) == 0 && planCrop(h, w, kh, kw, sh, sw, ph, pw, oh, ow);
}

/** Items [i0, i1) of the cropping phase (after crops() said yes): W cropped into ws. */
function cropRange(wt: usize, ws: usize, k: i32, cg: i32, kh: i32, kw: i32, threads: i32, i0: i32, i1: i32): void {
  for (let i = i0; i < i1; i++) cropWeights(wt, ws, k, cg, kh, kw, crY0, crX0, crKh, crKw, threads, i);
}

// ---- conv2d: weights packed on every call (a planned model packs them once: conv2d_packed) ----
// Phase 0 packs the weights into the shared region; then conv2d_packed's phases (Winograd: the
// packing may share phase 0 or each item, see winogradPacking).
// Workspace: [weights packed for the algorithm][conv2d_packed's workspace].

export function conv2d_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, threads: i32): i32 {
  if (crops(algo, h, w, kh, kw, sh, sw, ph, pw, oh, ow)) {
    const kh2 = crKh, kw2 = crKw, ph2 = crPh, pw2 = crPw;
    return croppedBytes(k, c / groups, kh2, kw2) + conv2d_workspace(n, c, h, w, k, kh2, kw2, sh, sw, ph2, pw2, groups, oh, ow, 0, threads);
  }
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  const mode = a != 0 ? winogradPacking(n, c, h, w, k, groups, ph, pw, oh, ow, a, threads) : PACK_BEFORE;
  const packed = a != 0 ? winogradWeightRegion(mode, k, c, groups, a) : conv2d_packed_bytes(k, c, groups, kh, kw, a);
  return packed + conv2d_packed_workspace(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, threads);
}

function packedPanels(k: i32, c: i32, groups: i32, a: i32): i32 {
  return a != 0 ? conv2d_winograd_panels(k, c, groups, 0) : groups * ceilDiv(k / groups, 4);
}

export function conv2d_items(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, threads: i32, phase: i32): i32 {
  if (crops(algo, h, w, kh, kw, sh, sw, ph, pw, oh, ow)) {
    if (phase == 0) return cropItems(k, threads);
    return conv2d_items(n, c, h, w, k, crKh, crKw, sh, sw, crPh, crPw, groups, oh, ow, 0, threads, phase - 1);
  }
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  const pack = packItems(packedPanels(k, c, groups, a), threads);
  const mode = a != 0 ? winogradPacking(n, c, h, w, k, groups, ph, pw, oh, ow, a, threads) : PACK_BEFORE;
  if (mode != PACK_BEFORE) return winogradItemsWithPacking(mode, pack, n, c, h, w, k, groups, ph, pw, oh, ow, a, threads, phase);
  if (phase == 0) return pack;
  return conv2d_packed_items(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, threads, phase - 1);
}

export function conv2d_range(x: usize, wt: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, ws: usize,
  threads: i32, phase: i32, thread: i32, i0: i32, i1: i32): void {
  if (crops(algo, h, w, kh, kw, sh, sw, ph, pw, oh, ow)) {
    if (phase == 0) {
      cropRange(wt, ws, k, c / groups, kh, kw, threads, i0, i1);
      return;
    }
    const kh2 = crKh, kw2 = crKw;
    conv2d_range(x, ws, bias, y, n, c, h, w, k, kh2, kw2, sh, sw, crPh, crPw, groups, oh, ow, 0,
      ws + <usize>croppedBytes(k, c / groups, kh2, kw2), threads, phase - 1, thread, i0, i1);
    return;
  }
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  const packed = ws;
  const panels = packedPanels(k, c, groups, a);
  const mode = a != 0 ? winogradPacking(n, c, h, w, k, groups, ph, pw, oh, ow, a, threads) : PACK_BEFORE;
  if (mode != PACK_BEFORE) {
    winogradRangeWithPacking(mode, wt, 0, k, c, panels, x, bias, y, n, c, h, w, k, groups, ph, pw, oh, ow, a, ws, threads,
      phase, thread, i0, i1);
    return;
  }
  if (phase == 0) {
    for (let i = i0; i < i1; i++) {
      packRange(i, panels, threads);
      if (a != 0) conv2d_winograd_pack_weight(wt, packed, k, c, groups, a, 0, packP0, packP1);
      else packWeightRows(wt, packed, k / groups, (c / groups) * kh * kw, packP0, packP1);
    }
    return;
  }
  conv2d_packed_range(x, packed, bias, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, 0,
    ws + <usize>conv2d_packed_bytes(k, c, groups, kh, kw, a), threads, phase - 1, thread, i0, i1);
}

/** y = conv2d(x, w) + bias (bias = 0 pointer: none), by `algo`, on one thread. */
export function conv2d(x: usize, wt: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, ws: usize): void {
  for (let phase = 0; ; phase++) {
    const items = conv2d_items(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, 1, phase);
    if (items == 0) break;
    conv2d_range(x, wt, bias, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, ws, 1, phase, 0, 0, items);
  }
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
  if (algo != 0 && kh == 3 && kw == 3) {
    conv2d_winograd_pack_weight(w, dst, k, c, groups, algo, 0, 0, conv2d_winograd_panels(k, c, groups, 0));
  } else {
    packWeightRows(w, dst, k / groups, (c / groups) * kh * kw, 0, groups * ceilDiv(k / groups, 4));
  }
}

export function conv2d_packed_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, threads: i32): i32 {
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) return conv2d_winograd_workspace(n, c, h, w, k, groups, ph, pw, oh, ow, a, oneThread(threads));
  planDirect(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  return oneThread(threads) * directBytes;
}

export function conv2d_packed_items(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, threads: i32, phase: i32): i32 {
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) return conv2d_winograd_items(n, c, h, w, k, groups, ph, pw, oh, ow, a, oneThread(threads), phase);
  if (phase != 0) return 0;
  planDirect(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  return dirItems;
}

export function conv2d_packed_range(x: usize, packed: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, relu: i32, ws: usize,
  threads: i32, phase: i32, thread: i32, i0: i32, i1: i32): void {
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) {
    conv2d_winograd_range(x, packed, bias, y, n, c, h, w, k, groups, ph, pw, oh, ow, a, relu, ws, oneThread(threads),
      phase, thread, i0, i1);
    return;
  }
  planDirect(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  const own = ws + <usize>thread * <usize>directBytes;
  for (let i = i0; i < i1; i++) {
    directItem(x, packed, bias, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, relu != 0, own, i);
  }
}

/** y = conv2d(x, w) + bias, then max(0, y) when relu != 0, over weights packed by conv2d_pack_weight, on one thread. */
export function conv2d_packed(x: usize, packed: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, relu: i32, ws: usize): void {
  for (let phase = 0; ; phase++) {
    const items = conv2d_packed_items(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, 1, phase);
    if (items == 0) break;
    conv2d_packed_range(x, packed, bias, y, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, relu, ws, 1,
      phase, 0, 0, items);
  }
}

// ---- conv2d_backward_input ----
// Winograd and stride 1: phase 0 packs the flipped, transposed kernel into the shared region, then
// the phases of the transposed convolution (k channels in, c out, padding k - 1 - p); as in
// conv2d, the packing may share phase 0 or each item (winogradPacking).
// Otherwise: phase 0 packs W^T, phase 1 runs the col2im items (planCol2im).

// @ts-ignore: decorator
@inline function inputGradIsConv(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return sh == 1 && sw == 1 && ph <= kh - 1 && pw <= kw - 1;
}

export function conv2d_backward_input_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, threads: i32): i32 {
  if (crops(algo, h, w, kh, kw, sh, sw, ph, pw, oh, ow)) {
    const kh2 = crKh, kw2 = crKw, ph2 = crPh, pw2 = crPw;
    return croppedBytes(k, c / groups, kh2, kw2) +
      conv2d_backward_input_workspace(n, c, h, w, k, kh2, kw2, sh, sw, ph2, pw2, groups, oh, ow, 0, threads);
  }
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  if (a != 0) {
    const mode = winogradPacking(n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, threads);
    return winogradWeightRegion(mode, k, c, groups, a) +
      conv2d_winograd_workspace(n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, oneThread(threads));
  }
  if (inputGradIsConv(kh, kw, sh, sw, ph, pw)) {
    planDirect(n, k, oh, ow, c, kh, kw, kh - 1 - ph, kw - 1 - pw, groups, h * w, threads);
    return packedRowsBytes(groups, c / groups, (k / groups) * kh * kw) + oneThread(threads) * directBytes;
  }
  planCol2im(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  return colShared + oneThread(threads) * colBytes;
}

/** 4-row panels of the weights packed for the input gradient. */
function inputGradPanels(c: i32, k: i32, kh: i32, kw: i32, groups: i32, a: i32, asConv: bool): i32 {
  if (a != 0) return conv2d_winograd_panels(k, c, groups, 1);
  if (asConv) return groups * ceilDiv(c / groups, 4);
  return groups * ceilDiv((c / groups) * kh * kw, 4);
}

export function conv2d_backward_input_items(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, threads: i32, phase: i32): i32 {
  if (crops(algo, h, w, kh, kw, sh, sw, ph, pw, oh, ow)) {
    if (phase == 0) return cropItems(k, threads);
    return conv2d_backward_input_items(n, c, h, w, k, crKh, crKw, sh, sw, crPh, crPw, groups, oh, ow, 0, threads, phase - 1);
  }
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  const asConv = inputGradIsConv(kh, kw, sh, sw, ph, pw);
  const pack = packItems(inputGradPanels(c, k, kh, kw, groups, a, asConv), threads);
  const mode = a != 0 ? winogradPacking(n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, threads) : PACK_BEFORE;
  if (mode != PACK_BEFORE) {
    return winogradItemsWithPacking(mode, pack, n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, threads, phase);
  }
  if (phase == 0) return pack;
  if (a != 0) return conv2d_winograd_items(n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, oneThread(threads), phase - 1);
  if (phase != 1) return 0;
  if (asConv) {
    planDirect(n, k, oh, ow, c, kh, kw, kh - 1 - ph, kw - 1 - pw, groups, h * w, threads);
    return dirItems;
  }
  planCol2im(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  return colItems;
}

export function conv2d_backward_input_range(dy: usize, wt: usize, dx: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, ws: usize,
  threads: i32, phase: i32, thread: i32, i0: i32, i1: i32): void {
  if (crops(algo, h, w, kh, kw, sh, sw, ph, pw, oh, ow)) {
    if (phase == 0) {
      cropRange(wt, ws, k, c / groups, kh, kw, threads, i0, i1);
      return;
    }
    const kh2 = crKh, kw2 = crKw;
    conv2d_backward_input_range(dy, ws, dx, n, c, h, w, k, kh2, kw2, sh, sw, crPh, crPw, groups, oh, ow, 0,
      ws + <usize>croppedBytes(k, c / groups, kh2, kw2), threads, phase - 1, thread, i0, i1);
    return;
  }
  const cg = c / groups;
  const kg = k / groups;
  const a = algoFor(algo, kh, kw, sh, sw, ph, pw);
  const asConv = inputGradIsConv(kh, kw, sh, sw, ph, pw);
  const packed = ws;
  const panels = inputGradPanels(c, k, kh, kw, groups, a, asConv);
  const mode = a != 0 ? winogradPacking(n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, threads) : PACK_BEFORE;
  if (mode != PACK_BEFORE) {
    // The flipped weights, then the transposed convolution (k channels in, c out).
    winogradRangeWithPacking(mode, wt, 1, k, c, panels, dy, 0, dx, n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, ws,
      threads, phase, thread, i0, i1);
    return;
  }
  if (phase == 0) {
    for (let i = i0; i < i1; i++) {
      packRange(i, panels, threads);
      if (a != 0) conv2d_winograd_pack_weight(wt, packed, k, c, groups, a, 1, packP0, packP1);
      else if (asConv) packWeightFlipped(wt, packed, kg, cg, kh, kw, packP0, packP1);
      else packWeightColumns(wt, packed, kg, cg * kh * kw, packP0, packP1);
    }
    return;
  }
  if (a != 0) {
    conv2d_winograd_range(dy, packed, 0, dx, n, k, oh, ow, c, groups, 2 - ph, 2 - pw, h, w, a, 0,
      ws + <usize>conv2d_winograd_weight_bytes(k, c, groups, a), oneThread(threads), phase - 1, thread, i0, i1);
    return;
  }
  if (asConv) {
    // Stride 1: dx is a plain convolution of dy with the rotated kernel, padded by k - 1 - p.
    planDirect(n, k, oh, ow, c, kh, kw, kh - 1 - ph, kw - 1 - pw, groups, h * w, threads);
    const own = ws + <usize>packedRowsBytes(groups, cg, kg * kh * kw) + <usize>thread * <usize>directBytes;
    for (let i = i0; i < i1; i++) {
      directItem(dy, packed, 0, dx, n, k, oh, ow, c, kh, kw, 1, 1, kh - 1 - ph, kw - 1 - pw, groups, h, w, false, own, i);
    }
    return;
  }
  planCol2im(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  const own = ws + <usize>colShared + <usize>thread * <usize>colBytes;
  for (let i = i0; i < i1; i++) col2imItem(dy, packed, dx, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, own, i);
}

/** Strided input gradient, item `item` of planCol2im (image block, group, chunk of input
 *  channels): dcol = W^T dY one 4x8 tile at a time for the chunk's rows, each tile scattered
 *  (col2im) into padded copies of the block's dx planes of the chunk, whose interiors are then
 *  copied out. A dx value receives its terms in the same order whatever the chunks. */
function col2imItem(dy: usize, packedA: usize, dx: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, own: usize, item: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const taps = kh * kw;
  const kd = cg * taps;
  const np = oh * ow;
  const mt = ceilDiv(kd, 4);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const blockItems = groups * colCn;
  const img0 = (item / blockItems) * colNb;
  const g = (item % blockItems) / colCn;
  const chunk = item % colCn;
  const cnt = min(colNb, n - img0);
  const ncols = cnt * np;
  const ci0 = chunk * colCc;
  const ci1 = pieceEnd(chunk, colCc, cg);
  const imgStride = (ci1 - ci0) * hp * wp;
  const dxpad = own;
  const bpanel = own + <usize>colBPanel;
  const tile = own + <usize>colTile;
  const bases = own + <usize>colBases;
  const srcs = own + <usize>colSrcs;
  const table = own + <usize>colTable;
  // The chunk's rows of dcol: ci0 * taps is a multiple of 4 (colCc is), so they start on a panel.
  const m0 = (ci0 * taps) >> 2;
  const m1 = ceilDiv(ci1 * taps, 4);
  fillTapOffsets(table, (ci1 - ci0) * taps, hp, wp, kh, kw);
  const ag = packedA + (<usize>(g * mt * kg) << 4);
  memory.fill(dxpad, 0, <usize>(cnt * imgStride) << 2);
  for (let q0 = 0; q0 < ncols; q0 += 8) {
    const cols = min(8, ncols - q0);
    packDyPanel(dy, bpanel, srcs, q0, cols, np, img0, k, g, kg);
    fillColumnBases(bases, q0, cols, np, ow, wp, sh, sw, imgStride);
    for (let m = m0; m < m1; m++) {
      gemmTileToScratch(kg, ag + (<usize>(m * kg) << 4), bpanel, tile);
      scatterTile(tile, dxpad, table, bases, m * 4 - ci0 * taps, min(4, kd - m * 4), cols);
    }
  }
  for (let i = 0; i < cnt; i++) {
    copyInterior(f32at(dxpad, i * imgStride), f32at(dx, ((img0 + i) * c + g * cg + ci0) * h * w), ci1 - ci0, h, w, ph, pw);
  }
}

/** dx = gradient of conv2d with respect to its input, on one thread. */
export function conv2d_backward_input(dy: usize, wt: usize, dx: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, algo: i32, ws: usize): void {
  for (let phase = 0; ; phase++) {
    const items = conv2d_backward_input_items(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, 1, phase);
    if (items == 0) break;
    conv2d_backward_input_range(dy, wt, dx, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, algo, ws, 1, phase, 0, 0, items);
  }
}

// ---- conv2d_backward_weight ----
// Phases (planWeightGrad): [A packed once], the partial sums and the bias gradient, [the partials added].

export function conv2d_backward_weight_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, threads: i32): i32 {
  if (useWeightTaps(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow)) {
    return conv2d_backward_weight_taps_workspace(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, threads);
  }
  planWeightGrad(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  return wgShared + oneThread(threads) * wgBytes;
}

/** What phase `phase` of the weight gradient does: 0 pack A, 1 partial sums and bias, 2 sum the
 *  partials, 3 nothing (past the last phase). */
function weightGradStep(phase: i32): i32 {
  const step = wgSharedA ? phase : phase + 1;
  return step == 2 && wgSumItems == 0 ? 3 : min(step, 3);
}

export function conv2d_backward_weight_items(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, threads: i32, phase: i32): i32 {
  if (useWeightTaps(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow)) {
    return conv2d_backward_weight_taps_items(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, threads, phase);
  }
  planWeightGrad(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  const step = weightGradStep(phase);
  if (step == 0) return wgPackItems;
  if (step == 1) return wgDwItems + wgBiasItems;
  return step == 2 ? wgSumItems : 0;
}

export function conv2d_backward_weight_range(x: usize, dy: usize, dw: usize, dbias: usize, n: i32, c: i32, h: i32, w: i32,
  k: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize,
  threads: i32, phase: i32, thread: i32, i0: i32, i1: i32): void {
  if (useWeightTaps(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow)) {
    conv2d_backward_weight_taps_range(x, dy, dw, dbias, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, ws, threads,
      phase, thread, i0, i1);
    return;
  }
  planWeightGrad(n, c, h, w, k, kh, kw, ph, pw, groups, oh * ow, threads);
  const own = ws + <usize>wgShared + <usize>thread * <usize>wgBytes;
  const kd = (c / groups) * kh * kw;
  const step = weightGradStep(phase);
  for (let i = i0; i < i1; i++) {
    if (step == 0) packDyChunks(dy, ws, n, k, groups, oh * ow, i);
    else if (step == 2) addPartials(dw, ws + <usize>wgPartials, wgPartBytes, wgParts, i * wgSumLen, pieceEnd(i, wgSumLen, k * kd));
    else if (i < wgDwItems) weightGradItem(x, dy, dw, ws, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, own, i);
    else if (dbias) biasGradItem(dy, dbias, n, k, oh * ow, i - wgDwItems);
  }
}

/** Chunk s of PC positions: sets chunkImg0 (its image block's first image), chunkImages (the
 *  block's images), chunkQ0 (its first column in the block) and chunkCols. */
let chunkImg0: i32 = 0;
let chunkImages: i32 = 0;
let chunkQ0: i32 = 0;
let chunkCols: i32 = 0;
function positionChunk(s: i32, n: i32, np: i32): void {
  const b = s / wgCpb;
  chunkImg0 = b * wgNb;
  chunkImages = min(wgNb, n - chunkImg0);
  chunkQ0 = (s - b * wgCpb) * PC;
  chunkCols = min(PC, chunkImages * np - chunkQ0);
}

/** Pack item `item`: the A operand (dY rows) of its (chunk, group) pairs, into the shared region. */
function packDyChunks(dy: usize, shared: usize, n: i32, k: i32, groups: i32, np: i32, item: i32): void {
  const kg = k / groups;
  const end = pieceEnd(item, wgPackLen, wgChunks * groups);
  for (let pair = item * wgPackLen; pair < end; pair++) {
    const s = pair / groups;
    positionChunk(s, n, np);
    packDyRows(dy, shared + <usize>pair * <usize>wgABytes, chunkQ0, chunkCols, np, chunkImg0, k, pair - s * groups, kg, ceilDiv(kg, 4));
  }
}

/** Item `item` of the partial sums: partial `part` (chunks of PC positions, wgRch of them) of dW
 *  for group g and the 8-column panels [t0, t1) of its kd columns, into dW itself (partial 0) or
 *  the shared region. */
function weightGradItem(x: usize, dy: usize, dw: usize, shared: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, own: usize, item: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const taps = kh * kw;
  const kd = cg * taps;
  const np = oh * ow;
  const mt = ceilDiv(kg, 4);
  const nt = ceilDiv(kd, 8);
  const hp = h + 2 * ph;
  const wp = w + 2 * pw;
  const imgStride = cg * hp * wp;
  const part = item / (groups * wgTn);
  const g = (item / wgTn) % groups;
  const ti = item % wgTn;
  const t0 = ti * wgTc;
  const t1 = pieceEnd(ti, wgTc, nt);
  const col0 = t0 * 8;
  const col1 = min(kd, t1 * 8);
  // The input channels the item's taps read: only those are padded.
  const ci0 = col0 / taps;
  const ci1 = (col1 - 1) / taps + 1;
  const xpad = own;
  const inPlace = ph == 0 && pw == 0;
  const srcStride = inPlace ? c * h * w : imgStride;
  const bpack = own + <usize>wgBPack;
  const tile = own + <usize>wgTile;
  const table = own + <usize>wgTable;
  const dst = part == 0 ? dw : shared + <usize>wgPartials + <usize>(part - 1) * <usize>wgPartBytes;
  const dwg = f32at(dst, g * kg * kd);
  for (let r = 0; r < kg; r++) memory.fill(f32at(dwg, r * kd + col0), 0, <usize>(col1 - col0) << 2);
  fillTapOffsets(table, kd, hp, wp, kh, kw);
  const s1 = min(wgChunks, (part + 1) * wgRch);
  for (let s = part * wgRch; s < s1; s++) {
    positionChunk(s, n, np);
    const q0 = chunkQ0;
    const pc = chunkCols;
    // No border to add (1x1 kernels): gather straight from x, whose images are c planes apart.
    const src = inPlace ? f32at(x, (chunkImg0 * c + g * cg) * h * w) : xpad;
    if (!inPlace) {
      padColumns(f32at(x, (chunkImg0 * c + g * cg) * h * w), xpad, c * h * w, ci0, ci1, h, w, ph, pw, wp, imgStride, np, ow, sh,
        kh, q0, q0 + pc);
    }
    let apack = own + <usize>wgAPack;
    if (wgSharedA) apack = shared + <usize>(s * groups + g) * <usize>wgABytes;
    else packDyRows(dy, apack, q0, pc, np, chunkImg0, k, g, kg, mt);
    for (let t = t0; t < t1; t++) {
      packColumnsTransposed(src, bpack + (<usize>((t - t0) * pc) << 5), table, t, kd, q0, pc, np, oh, ow, wp, sh, sw, srcStride);
    }
    for (let t = t0; t < t1; t++) {
      const cols = min(8, kd - t * 8);
      const bp = bpack + (<usize>((t - t0) * pc) << 5);
      for (let m = 0; m < mt; m++) {
        const rows = min(4, kg - m * 4);
        gemmTile(pc, apack + (<usize>(m * pc) << 4), bp, f32at(dwg, m * 4 * kd + t * 8), kd, rows, cols, tile);
      }
    }
  }
}

/** dbias for the channels of bias item `item`: the sum of dY over images and positions, per channel. */
function biasGradItem(dy: usize, dbias: usize, n: i32, k: i32, np: i32, item: i32): void {
  biasGradChannels(dy, dbias, n, k, np, item * wgBiasCh, pieceEnd(item, wgBiasCh, k));
}

/** dw = sum over the batch of dY * col(X)^T; dbias (when not 0) = sum of dY per channel; on one thread. */
export function conv2d_backward_weight(x: usize, dy: usize, dw: usize, dbias: usize, n: i32, c: i32, h: i32, w: i32, k: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize): void {
  for (let phase = 0; ; phase++) {
    const items = conv2d_backward_weight_items(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, 1, phase);
    if (items == 0) break;
    conv2d_backward_weight_range(x, dy, dw, dbias, n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, ws, 1, phase, 0, 0, items);
  }
}
