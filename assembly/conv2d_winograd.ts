// conv2d-winograd: 3x3 stride-1 convolutions (NCHW, zero padding 0..2, groups) by Winograd's
// minimal filtering F(m x m, 3 x 3), m = 2 or 4, over the 4x8 micro-kernel of f32_gemm_4x8.ts.
// Reached through conv2d.ts (conv2d, conv2d_backward_input and conv2d_packed with algo = m).
//
//   U[xi] = G g G^T        per (out, in) channel pair: done once per model (pack_weight), in
//                          float64, rounded once, packed per transform point xi as 4-row A panels
//   V[xi] = B^T d B        per input tile d ((m+2) x (m+2), stride m) and input channel, written
//                          straight into 8-column B panels: 8 tiles per panel, 4 tiles per f32x4
//   M[xi] = U[xi] V[xi]    one GEMM per point xi ((m+2)^2 of them): [k x c] [c x tiles]
//   y     = A^T M A (+ bias, ReLU)   per output tile, f32x4 over 4 tiles, written into y
//
// The tiles of a call are numbered image by image, row by row (q = image * tiles + ty * tw + tx);
// small maps are batched across images (a GEMM's columns then run over several images' tiles),
// large ones cut into column blocks, so the V and M of a block stay near the core (BLOCK_BYTES in
// conv2d_winograd_plan.ts).
// Partial edge tiles (maps not a multiple of m) read zeros past the map and store only the outputs
// that exist.
//
// This file is the driver; the rest lies along the same lines as the direct conv's files:
//   conv2d_winograd_pack.ts        the point sets, U = G g G^T and its packing (pack_weight)
//   conv2d_winograd_transform.ts   the lane table, the input (B^T d B) and output (A^T M A) transforms
//   conv2d_winograd_plan.ts        the packed weights' size and the workspace layout (planWinograd)
//
// Work items (for threads; conv2d_plan.ts says why items): one per column block (image block,
// group, block of tiles) when there are enough of them; at batch 1 with too few: on 1-4 threads
// with transformed weights of 2 MiB or more, one item per thread, each all the tiles for its slice
// of output channels (so each thread streams only its part of U; with weights packed in the call,
// conv2d_winograd_range_packing packs that part a slice at a time beside its GEMMs); else as many blocks of at least
// 8 tiles as there are threads when the tiles allow it (one phase, no hand-off between the steps);
// otherwise (few images, small maps) three phases over shared V and M, none repeating
// another's work: the input transforms, cut by input channels; the GEMMs, cut by transform points
// xi (and by 4-row panels of output channels when the points are too few); the output transforms,
// cut by output channels. Either way each output is computed by the same operations in the same
// order, so any cut gives the same bits.
//
// Nothing here allocates: the driver works in the caller's workspace, whose layout planWinograd
// writes once for conv2d_winograd_workspace, conv2d_winograd_items and conv2d_winograd_range.
import { f32_gemm_4x8, f32_gemm_4x8_zero } from './f32_gemm_4x8';
import { padRows } from './conv2d_gather';
import { decodeItem, itBlock, itChunk, itGroup, pieceEnd } from './conv2d_plan';
import {
  pl_blocks, pl_byOut, pl_cbn, pl_cbnLast, pl_cbs, pl_cc, pl_cg, pl_cn, pl_hp, pl_k, pl_kc, pl_kg, pl_kgp, pl_lanes, pl_m, pl_mBlock,
  pl_mc, pl_mm, pl_mn, pl_mo, pl_nb, pl_ncb, pl_oc, pl_oh, pl_on, pl_ow, pl_pc, pl_pn, pl_private, pl_shared, pl_split, pl_T,
  pl_tmp, pl_tpi, pl_tw, pl_ubuf, pl_us, pl_uxiS, pl_v, pl_vBlock, pl_wp, pl_xiM, pl_xiV, pl_xpad, planWinograd, uPointBytes,
} from './conv2d_winograd_plan';
import { packWinogradPanels } from './conv2d_winograd_pack';
import { fillLanes, inputTransform2, inputTransform4, outputTransform2, outputTransform4 } from './conv2d_winograd_transform';
import { f32at } from './util';

export { conv2d_winograd_pack_weight } from './conv2d_winograd_pack';
export { conv2d_winograd_panels, conv2d_winograd_weight_bytes } from './conv2d_winograd_plan';

/** M[panel][xi][kgp][8] = U[xi] V[xi] for the points xi in [xi0, xi1) of a column block and the
 *  4-row panels [m0, m1) of output channels: one GEMM per point, the B panel (8 tiles, kc channels) in L1 across
 *  the A panels of U[xi]. ug holds the panels from `uPanel0` on (0, or a slice's first). */
function gemmPoints(ug: usize, uxi: usize, uPanel0: i32, vblk: usize, xiS: usize, mblk: usize, xiM: usize, T: i32, npb: i32,
  xi0: i32, xi1: i32, m0: i32, m1: i32, cg: i32, kcStep: i32): void {
  const mPanel = <usize>T * xiM;
  for (let xi = xi0; xi < xi1; xi++) {
    const ux = ug + <usize>xi * uxi;
    const vx = vblk + <usize>xi * xiS;
    const mx = mblk + <usize>xi * xiM;
    for (let kc0 = 0; kc0 < cg; kc0 += kcStep) {
      const kc = min(kcStep, cg - kc0);
      for (let j = 0; j < npb; j++) {
        const bp = vx + (<usize>(j * cg + kc0) << 5);
        const cp = mx + <usize>j * mPanel;
        for (let mp = m0; mp < m1; mp++) {
          const ap = ux + (<usize>((mp - uPanel0) * cg + kc0) << 4);
          if (kc0 == 0) f32_gemm_4x8_zero(kc, ap, bp, cp + (<usize>mp << 7), 8);
          else f32_gemm_4x8(kc, ap, bp, cp + (<usize>mp << 7), 8);
        }
      }
    }
  }
}

export function conv2d_winograd_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32,
  oh: i32, ow: i32, m: i32, threads: i32): i32 {
  return planWinograd(n, c, h, w, k, groups, ph, pw, oh, ow, m, threads);
}

/** Items of phase `phase` (0; 1 and 2 when split), 0 past the last phase. */
export function conv2d_winograd_items(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32,
  oh: i32, ow: i32, m: i32, threads: i32, phase: i32): i32 {
  planWinograd(n, c, h, w, k, groups, ph, pw, oh, ow, m, threads);
  if (!pl_split) return phase == 0 ? pl_cbs : 0;
  if (phase == 0) return pl_cbs * pl_cn;
  if (phase == 1) return pl_cbs * pl_pn * pl_mn;
  return phase == 2 ? pl_cbs * pl_on : 0;
}

/** y = conv2d(x, w, 3x3, stride 1, padding ph, pw) + bias (bias 0: none), ReLU when relu = 1,
 *  with w packed by conv2d_winograd_pack_weight for the same m: items [i0, i1) of phase `phase`
 *  (conv2d_winograd_items), run by thread `thread` of `threads` in its slice of ws (which holds
 *  conv2d_winograd_workspace(..., threads) bytes). y's outputs are overwritten. */
export function conv2d_winograd_range(x: usize, packedU: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32,
  k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, m: i32, relu: i32, ws: usize, threads: i32, phase: i32,
  thread: i32, i0: i32, i1: i32): void {
  planWinograd(n, c, h, w, k, groups, ph, pw, oh, ow, m, threads);
  const own = ws + <usize>pl_shared + <usize>thread * <usize>pl_private;
  for (let item = i0; item < i1; item++) {
    if (pl_byOut) {
      // All the tiles, in this thread's V and M, for its slice of output channels.
      const vblk = own + <usize>pl_v;
      const mblk = own + <usize>pl_mm;
      const m0 = item * pl_mo;
      const m1 = min(pl_kgp >> 2, m0 + pl_mo);
      columnBlock(0, groups, n, own);
      transformInputs(x, c, h, w, ph, pw, m, own, 0, pl_cg, vblk);
      multiply(packedU, vblk, mblk, 0, pl_T, m0, m1);
      transformOutputs(y, bias, relu, k, oh, ow, m, own, mblk, m0 << 2, min(pl_kg, m1 << 2));
      continue;
    }
    if (!pl_split) {
      // The whole column block, in this thread's V and M.
      const vblk = own + <usize>pl_v;
      const mblk = own + <usize>pl_mm;
      columnBlock(item, groups, n, own);
      transformInputs(x, c, h, w, ph, pw, m, own, 0, pl_cg, vblk);
      multiply(packedU, vblk, mblk, 0, pl_T, 0, pl_kgp >> 2);
      transformOutputs(y, bias, relu, k, oh, ow, m, own, mblk, 0, pl_kg);
      continue;
    }
    // Split: the column block's V and M live in the shared region.
    const per = phase == 0 ? pl_cn : phase == 1 ? pl_pn * pl_mn : pl_on;
    const cb = item / per;
    const part = item - cb * per;
    const vblk = ws + <usize>cb * <usize>(pl_vBlock + pl_mBlock);
    const mblk = vblk + <usize>pl_vBlock;
    columnBlock(cb, groups, n, own);
    if (phase == 0) {
      transformInputs(x, c, h, w, ph, pw, m, own, part * pl_cc, pieceEnd(part, pl_cc, pl_cg), vblk);
    } else if (phase == 1) {
      const pi = part / pl_mn;
      const mi = part - pi * pl_mn;
      multiply(packedU, vblk, mblk, pi * pl_pc, pieceEnd(pi, pl_pc, pl_T), mi * pl_mc, pieceEnd(mi, pl_mc, pl_kgp >> 2));
    } else {
      transformOutputs(y, bias, relu, k, oh, ow, m, own, mblk, part * pl_oc, pieceEnd(part, pl_oc, pl_kg));
    }
  }
}

/** conv2d_winograd_range's items [i0, i1) of a call that runs by output channels (pl_byOut), with
 *  the weights packed here from wt (3x3 kernels of a conv with wk outputs and wc inputs, flipped
 *  as conv2d_winograd_pack_weight takes it) rather than before the call: each item packs its
 *  panels a slice at a time (pl_us panels) into its thread's slice buffer and runs the slice's
 *  GEMMs and output transforms at once, so the transformed weights are read back from L2 (packing
 *  all of them first would write them to memory and read them back: 5.3 MB per 192-channel
 *  layer). Same operations on the same values as packing first: the same bits. */
export function conv2d_winograd_range_packing(wt: usize, flipped: i32, wk: i32, wc: i32, x: usize, bias: usize, y: usize,
  n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, m: i32, relu: i32, ws: usize,
  threads: i32, thread: i32, i0: i32, i1: i32): void {
  planWinograd(n, c, h, w, k, groups, ph, pw, oh, ow, m, threads);
  const own = ws + <usize>pl_shared + <usize>thread * <usize>pl_private;
  const vblk = own + <usize>pl_v;
  const mblk = own + <usize>pl_mm;
  const ubuf = own + <usize>pl_ubuf;
  const mt = pl_kgp >> 2;
  for (let item = i0; item < i1; item++) {
    columnBlock(0, groups, n, own);
    transformInputs(x, c, h, w, ph, pw, m, own, 0, pl_cg, vblk);
    const m1 = min(mt, (item + 1) * pl_mo);
    for (let s0 = item * pl_mo; s0 < m1; s0 += pl_us) {
      const s1 = min(m1, s0 + pl_us);
      packWinogradPanels(wt, ubuf, <usize>pl_uxiS, s0, wk, wc, groups, m, flipped, s0, s1);
      gemmPoints(ubuf, <usize>pl_uxiS, s0, vblk, <usize>pl_xiV, mblk, <usize>pl_xiM, pl_T, cbPanels, 0, pl_T, s0, s1, pl_cg, pl_kc);
      transformOutputs(y, bias, relu, k, oh, ow, m, own, mblk, s0 << 2, min(pl_kg, s1 << 2));
    }
  }
}

// The column block of an item, set by columnBlock: its image block's first image, its group, its
// first tile (block column), its tiles, 8-column panels and groups of 4 lanes.
let cbImg0: i32 = 0;
let cbGroup: i32 = 0;
let cbQ0: i32 = 0;
let cbCols: i32 = 0;
let cbPanels: i32 = 0;
let cbLaneGroups: i32 = 0;

/** Selects column block cb (image block, group, block of tiles) and fills its lane table in the
 *  thread's slice `own`. */
function columnBlock(cb: i32, groups: i32, n: i32, own: usize): void {
  decodeItem(cb, pl_blocks, groups, pl_cbn, pl_cbnLast, 1);
  cbImg0 = itBlock * pl_nb;
  cbGroup = itGroup;
  cbQ0 = itChunk * pl_ncb;
  cbCols = min(pl_ncb, min(pl_nb, n - cbImg0) * pl_tpi - cbQ0);
  cbPanels = (cbCols + 7) >> 3;
  cbLaneGroups = cbPanels * 2;
  fillLanes(own + <usize>pl_lanes, cbQ0, cbCols, pl_m, pl_tw, pl_tpi, pl_wp, pl_cg * pl_hp * pl_wp, pl_oh, pl_ow, pl_k * pl_oh * pl_ow);
}

/** The input transforms of the column block's tiles for input channels [c0, c1) into vblk, from
 *  zero-bordered copies of the rows of the input planes the tiles read (for each image they touch,
 *  from its first tile row to its last one's, plus the 2 rows a tile reaches past). */
function transformInputs(x: usize, c: i32, h: i32, w: i32, ph: i32, pw: i32, m: i32, own: usize, c0: i32, c1: i32, vblk: usize): void {
  const mm = pl_m, tw = pl_tw, tpi = pl_tpi, hp = pl_hp, wp = pl_wp;
  const plane = hp * wp;
  const imgStride = pl_cg * plane;
  const xpad = own + <usize>pl_xpad;
  const xg = f32at(x, (cbImg0 * c + cbGroup * pl_cg) * h * w);
  const last = cbQ0 + cbCols - 1;
  for (let i = cbQ0 / tpi; i <= last / tpi; i++) {
    const lo = max(cbQ0, i * tpi) - i * tpi;
    const hi = min(last + 1, (i + 1) * tpi) - i * tpi;
    padRows(f32at(xg, i * c * h * w), f32at(xpad, i * imgStride), c0, c1, h, w, ph, pw, plane, wp,
      (lo / tw) * mm, min(hp, ((hi - 1) / tw) * mm + mm + 2));
  }
  const lanes = own + <usize>pl_lanes;
  const tmp = own + <usize>pl_tmp;
  if (mm == 4) {
    inputTransform4(xpad, vblk, lanes, cbLaneGroups, pl_cg, c0, c1, <usize>plane << 2, <usize>wp << 2, <usize>pl_xiV, tmp, m >> 8);
  } else {
    inputTransform2(xpad, vblk, lanes, cbLaneGroups, pl_cg, c0, c1, <usize>plane << 2, <usize>wp << 2, <usize>pl_xiV, tmp);
  }
}

/** M = U V for the column block, points [xi0, xi1) and 4-row panels [m0, m1) of output channels. */
function multiply(packedU: usize, vblk: usize, mblk: usize, xi0: i32, xi1: i32, m0: i32, m1: i32): void {
  const uxi = <usize>uPointBytes(pl_kg, pl_cg);
  gemmPoints(packedU + <usize>(cbGroup * pl_T) * uxi, uxi, 0, vblk, <usize>pl_xiV, mblk, <usize>pl_xiM, pl_T, cbPanels,
    xi0, xi1, m0, m1, pl_cg, pl_kc);
}

/** The output transforms (bias, ReLU) of the column block's tiles for output channels [ko0, ko1) of its group. */
function transformOutputs(y: usize, bias: usize, relu: i32, k: i32, oh: i32, ow: i32, m: i32, own: usize, mblk: usize,
  ko0: i32, ko1: i32): void {
  const kg = pl_kg;
  const ohow = oh * ow;
  const yg = f32at(y, (cbImg0 * k + cbGroup * kg) * ohow);
  const bg = bias ? f32at(bias, cbGroup * kg) : 0;
  const lanes = own + <usize>pl_lanes;
  if (pl_m == 4) {
    outputTransform4(mblk, yg, bg, relu, lanes, cbLaneGroups, ko0, ko1, <usize>pl_xiM, <usize>ohow << 2, <usize>ow << 2,
      own + <usize>pl_tmp, m >> 8);
  } else {
    outputTransform2(mblk, yg, bg, relu, lanes, cbLaneGroups, ko0, ko1, <usize>pl_xiM, <usize>ohow << 2, <usize>ow << 2);
  }
}
