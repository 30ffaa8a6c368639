// conv2d_backward_weight on small maps, tap by tap: dW[k, c, t] = sum over the images and the
// output positions o whose input x[c, i(o, t)] lies inside the map (not in the zero padding) of
// dY[k, o] * x[c, i(o, t)]. One GEMM per tap t: [kg x L] [L x cg] over the L valid (image,
// position) pairs. The im2col form (conv2d.ts) multiplies the padding's zeros too, which on small
// maps are most of its work: a 3x3 conv on a 2x2 map has 16 valid (tap, position) pairs of 36
// (x2.25 fewer multiplies), and a 2x2 -> 1x1 stride-2 conv 4 of 9; conv2d.ts sends shapes of at
// most half here (useWeightTaps). On 4x4 maps (100 of 144) the gathers cost what the zeros did.
//
// Reduction: the images are taken in parts of a fixed count (from the shape alone), each part's
// pairs in order (image, then position); part 0 sums into dW itself, later parts into partial
// results added to dW in order in a second phase. Each dW element is computed by one item, so any
// number of threads gives the same bits.
//
// Items of phase 0: (part, group, tap, chunk of 8-column panels of input channels or of 4-row
// panels of output channels, whichever dW has more of), then the bias
// gradient's (chunks of channels). Phase 1 (several parts only): the partials added, by chunks of dW.
// Workspace: shared [partials 1 .. parts - 1]; per thread [A: dY of the tap's pairs, 4-row panels]
// [B: x at the tap's inputs, 8-column panels][a 4x8 tile].
import { f32_gemm_4x8_zero } from './f32_gemm_4x8';
import { itemTarget, pieceEnd, pieces } from './conv2d_plan';
import { align64, ceilDiv, f32at, hsum32 } from './util';

/** Most (image, position) pairs one part may hold for a tap: bounds the packed operands. */
const MAX_PAIRS: i32 = 4096;
/** Positions one part covers at most (over all taps, as conv2d_plan.ts's REDUCE_POSITIONS). */
const PART_POSITIONS: i32 = 2048;
/** The tap path is taken when its valid pairs are at most this share of the im2col positions. */
const MAX_SHARE: f64 = 0.5;
/** Bytes of packed operands (dY and x of one part) per thread at most. */
const PACK_BYTES: i32 = 8 << 20;
/** Bytes of partial sums at most (as conv2d_plan.ts's PARTIAL_BYTES). */
const PARTIAL_BYTES: i32 = 64 << 20;

// The plan (planWeightTaps), as globals: the module has no garbage-collected runtime.
let tpTaps: i32 = 0;
let tpPartImgs: i32 = 0;   // images per part
let tpParts: i32 = 0;
let tpCc: i32 = 0;         // 8-column panels of input channels per item, and such chunks per tap
let tpCn: i32 = 0;
let tpMc: i32 = 0;         // 4-row panels of output channels per item, and such chunks per tap
let tpMn: i32 = 0;
let tpDwItems: i32 = 0;
let tpBiasCh: i32 = 0;
let tpBiasItems: i32 = 0;
let tpSumLen: i32 = 0;     // floats of dW per sum item (a multiple of 16)
let tpSumItems: i32 = 0;
let tpDwBytes: i32 = 0;
let tpShared: i32 = 0;
let tpA: i32 = 0;          // per-thread offsets
let tpB: i32 = 0;
let tpTile: i32 = 0;
let tpBytes: i32 = 0;

/** Rows (or columns) of outputs whose input for kernel row (column) `tap` lies inside the map:
 *  [first, first + count), set in vFirst and vCount. */
let vFirst: i32 = 0;
let vCount: i32 = 0;
function validRange(tap: i32, size: i32, out: i32, stride: i32, pad: i32): void {
  // o * stride + tap - pad in [0, size)
  let lo = pad - tap > 0 ? ceilDiv(pad - tap, stride) : 0;
  let hi = size - 1 + pad - tap >= 0 ? (size - 1 + pad - tap) / stride + 1 : 0;
  hi = min(hi, out);
  lo = min(lo, hi);
  vFirst = lo;
  vCount = hi - lo;
}

/** Valid positions of tap t (ty = t / kw, tx = t % kw) per image. */
function tapPositions(t: i32, kw: i32, h: i32, w: i32, oh: i32, ow: i32, sh: i32, sw: i32, ph: i32, pw: i32): i32 {
  validRange(t / kw, h, oh, sh, ph);
  const rows = vCount;
  validRange(t % kw, w, ow, sw, pw);
  return rows * vCount;
}

/** Images per part of the reduction, from the shape alone (never from the thread count): at most
 *  PART_POSITIONS positions and MAX_PAIRS pairs of one tap, and packed operands of at most
 *  PACK_BYTES per thread (`most`: the valid positions of the busiest tap, per image). */
function partImages(np: i32, most: i32, kg: i32, cg: i32): i32 {
  const perImage = max(1, most) * 4 * max(((kg + 3) & ~3), ((cg + 7) & ~7));
  return max(1, min(min(PART_POSITIONS / max(1, np), MAX_PAIRS / max(1, most)), PACK_BYTES / perImage));
}

/** Whether the tap path serves this shape: a kernel of several taps whose valid pairs are at most
 *  MAX_SHARE of the im2col form's, with partial sums of at most PARTIAL_BYTES in all (else the
 *  im2col path, whose parts grow instead, takes it). */
export function useWeightTaps(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  groups: i32, oh: i32, ow: i32): bool {
  const taps = kh * kw;
  const np = oh * ow;
  if (taps < 2 || n <= 0 || np <= 0 || groups <= 0) return false;
  let valid = 0;
  let most = 0;
  for (let t = 0; t < taps; t++) {
    const v = tapPositions(t, kw, h, w, oh, ow, sh, sw, ph, pw);
    valid += v;
    most = max(most, v);
  }
  if (<f64>valid > MAX_SHARE * <f64>(taps * np) || most > MAX_PAIRS) return false;
  const parts = ceilDiv(n, partImages(np, most, k / groups, c / groups));
  return <f64>(parts - 1) * <f64>(k * (c / groups) * taps) * 4 <= <f64>PARTIAL_BYTES;
}

function planWeightTaps(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  groups: i32, oh: i32, ow: i32, threads: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const taps = kh * kw;
  const np = oh * ow;
  let most = 0;
  for (let t = 0; t < taps; t++) most = max(most, tapPositions(t, kw, h, w, oh, ow, sh, sw, ph, pw));
  // Images per part: from the shape alone (never from `threads`).
  tpTaps = taps;
  tpPartImgs = partImages(np, most, kg, cg);
  tpParts = n > 0 && kg > 0 && cg > 0 ? ceilDiv(n, tpPartImgs) : 0;
  const target = itemTarget(threads);
  // A tap's items cut the wider side of its dW: each cut of the output channels gathers the
  // item's x again, each cut of the input channels its dY.
  const panels = ceilDiv(cg, 8);
  const mt = ceilDiv(kg, 4);
  const cut = pieces(kg > cg ? mt : panels, tpParts * groups * taps, target);
  tpCn = kg > cg ? 1 : cut;
  tpMn = kg > cg ? cut : 1;
  tpCc = ceilDiv(panels, tpCn);
  tpCn = panels > 0 ? ceilDiv(panels, tpCc) : 0;
  tpMc = ceilDiv(mt, tpMn);
  tpMn = mt > 0 ? ceilDiv(mt, tpMc) : 0;
  tpDwItems = tpParts * groups * taps * tpCn * tpMn;
  const bn = pieces(ceilDiv(k, 16), 1, target);
  tpBiasCh = ceilDiv(k, bn);
  tpBiasItems = k > 0 ? ceilDiv(k, tpBiasCh) : 0;
  const len = k * cg * taps;
  const sn = pieces(ceilDiv(len, 4096), 1, target);
  tpSumLen = ceilDiv(ceilDiv(len, sn), 16) * 16;
  tpSumItems = tpParts > 1 && len > 0 ? ceilDiv(len, tpSumLen) : 0;
  tpDwBytes = align64(len * 4);
  tpShared = tpParts > 1 ? (tpParts - 1) * tpDwBytes : 0;
  const pairs = tpPartImgs * most;
  tpA = 0;
  tpB = align64(tpMc * pairs * 16);
  tpTile = tpB + align64(tpCc * pairs * 32);
  tpBytes = tpTile + 128;
}

export function conv2d_backward_weight_taps_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32,
  sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, threads: i32): i32 {
  planWeightTaps(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, threads);
  return tpShared + max(1, threads) * tpBytes;
}

export function conv2d_backward_weight_taps_items(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, sh: i32,
  sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, threads: i32, phase: i32): i32 {
  planWeightTaps(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, threads);
  if (phase == 0) return tpDwItems + tpBiasItems;
  return phase == 1 ? tpSumItems : 0;
}

export function conv2d_backward_weight_taps_range(x: usize, dy: usize, dw: usize, dbias: usize, n: i32, c: i32, h: i32,
  w: i32, k: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, ws: usize,
  threads: i32, phase: i32, thread: i32, i0: i32, i1: i32): void {
  planWeightTaps(n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow, threads);
  const own = ws + <usize>tpShared + <usize>thread * <usize>tpBytes;
  for (let i = i0; i < i1; i++) {
    if (phase == 1) addPartials(dw, ws, tpDwBytes, tpParts, i * tpSumLen, pieceEnd(i, tpSumLen, k * (c / groups) * tpTaps));
    else if (i < tpDwItems) tapItem(x, dy, dw, ws, n, c, h, w, k, kw, sh, sw, ph, pw, groups, oh, ow, own, i);
    else if (dbias) biasGradChannels(dy, dbias, n, k, oh * ow, (i - tpDwItems) * tpBiasCh, pieceEnd(i - tpDwItems, tpBiasCh, k));
  }
}

/** Item `item` of phase 0: tap t's dW for its part's images, group and chunk of input channels. */
function tapItem(x: usize, dy: usize, dw: usize, shared: usize, n: i32, c: i32, h: i32, w: i32, k: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, groups: i32, oh: i32, ow: i32, own: usize, item: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const taps = tpTaps;
  const kd = cg * taps;
  const np = oh * ow;
  const hw = h * w;
  const mt = ceilDiv(kg, 4);
  let rest = item;
  const mi = rest % tpMn; rest /= tpMn;
  const ci = rest % tpCn; rest /= tpCn;
  const t = rest % taps; rest /= taps;
  const g = rest % groups;
  const part = rest / groups;
  const img0 = part * tpPartImgs;
  const img1 = min(n, img0 + tpPartImgs);
  const p0 = ci * tpCc;                      // 8-column panels [p0, p1) of the group's input channels
  const p1 = min(ceilDiv(cg, 8), p0 + tpCc);
  const m0 = mi * tpMc;                      // 4-row panels [m0, m1) of the group's output channels
  const m1 = min(mt, m0 + tpMc);
  const ty = t / kw, tx = t - (t / kw) * kw;
  validRange(ty, h, oh, sh, ph);
  const oy0 = vFirst, ny = vCount;
  validRange(tx, w, ow, sw, pw);
  const ox0 = vFirst, nx = vCount;
  const L = (img1 - img0) * ny * nx;
  const apack = own + <usize>tpA;
  const bpack = own + <usize>tpB;
  const tile = own + <usize>tpTile;
  // A: dY at the valid positions, 4 rows per panel (rows past kg zero); B: x at each valid
  // position's input for this tap, 8 channels per panel (past cg zero). One f32x4 per 4 channels.
  for (let m = m0; m < m1; m++) {
    const full = m * 4 + 4 <= kg;
    let a = apack + <usize>((m - m0) * L) * 16;
    for (let img = img0; img < img1; img++) {
      const rows = f32at(dy, (img * k + g * kg + m * 4) * np);
      for (let oy = oy0; oy < oy0 + ny; oy++) {
        for (let ox = ox0; ox < ox0 + nx; ox++) {
          const at = f32at(rows, oy * ow + ox);
          v128.store(a, full ? gather4(at, <usize>np << 2) : gatherSome(at, <usize>np << 2, kg - m * 4));
          a += 16;
        }
      }
    }
  }
  for (let p = p0; p < p1; p++) {
    const have = cg - p * 8;
    let b = bpack + <usize>((p - p0) * L) * 32;
    for (let img = img0; img < img1; img++) {
      const xg = f32at(x, (img * c + g * cg + p * 8) * hw);
      for (let oy = oy0; oy < oy0 + ny; oy++) {
        const row = f32at(xg, (oy * sh + ty - ph) * w + tx - pw);
        for (let ox = ox0; ox < ox0 + nx; ox++) {
          const at = row + (<usize>(ox * sw) << 2);
          if (have >= 8) {
            v128.store(b, gather4(at, <usize>hw << 2));
            v128.store(b, gather4(at + (<usize>(4 * hw) << 2), <usize>hw << 2), 16);
          } else {
            v128.store(b, gatherSome(at, <usize>hw << 2, have));
            v128.store(b, have > 4 ? gatherSome(at + (<usize>(4 * hw) << 2), <usize>hw << 2, have - 4) : f32x4.splat(0), 16);
          }
          b += 32;
        }
      }
    }
  }
  const dst = part == 0 ? dw : shared + <usize>(part - 1) * <usize>tpDwBytes;
  const dwg = f32at(dst, g * kg * kd);
  for (let p = p0; p < p1; p++) {
    const cols = min(8, cg - p * 8);
    for (let m = m0; m < m1; m++) {
      if (L > 0) f32_gemm_4x8_zero(L, apack + <usize>((m - m0) * L) * 16, bpack + <usize>((p - p0) * L) * 32, tile, 8);
      else memory.fill(tile, 0, 128);
      // The tile's columns are input channels: tap t of each, taps floats apart in dW's rows.
      const rows = min(4, kg - m * 4);
      for (let r = 0; r < rows; r++) {
        const drow = f32at(dwg, (m * 4 + r) * kd + p * 8 * taps + t);
        for (let j = 0; j < cols; j++) store<f32>(drow + (<usize>(j * taps) << 2), load<f32>(tile + (<usize>(r * 8 + j) << 2)));
      }
    }
  }
}

/** The floats at p, p + stride, p + 2 stride, p + 3 stride (bytes) as one f32x4. */
// @ts-ignore: decorator
@inline function gather4(p: usize, stride: usize): v128 {
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(p + stride));
  v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * stride));
  return f32x4.replace_lane(v, 3, load<f32>(p + 3 * stride));
}

/** The first `have` (1..3, or more: 4) of gather4's floats, zeros after. */
function gatherSome(p: usize, stride: usize, have: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (have > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + stride));
  if (have > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * stride));
  if (have > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * stride));
  return v;
}

/** dw[e0, e1) += partials 1 .. parts - 1 (from `partials`, `partBytes` apart), in order: the last
 *  step of a weight gradient summed in parts (this file's and conv2d.ts's). */
export function addPartials(dw: usize, partials: usize, partBytes: i32, parts: i32, e0: i32, e1: i32): void {
  for (let part = 1; part < parts; part++) {
    const p = partials + <usize>(part - 1) * <usize>partBytes;
    let e = e0;
    for (; e + 4 <= e1; e += 4) v128.store(f32at(dw, e), f32x4.add(v128.load(f32at(dw, e)), v128.load(f32at(p, e))));
    for (; e < e1; e++) store<f32>(f32at(dw, e), load<f32>(f32at(dw, e)) + load<f32>(f32at(p, e)));
  }
}

/** dbias[ko] for ko in [k0, k1): the sum of dY over images and positions, per channel. */
export function biasGradChannels(dy: usize, dbias: usize, n: i32, k: i32, np: i32, k0: i32, k1: i32): void {
  for (let ko = k0; ko < k1; ko++) {
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
