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
// large ones cut into column blocks, so the V and M of a block stay near the core (see BLOCK_BYTES).
// Partial edge tiles (maps not a multiple of m) read zeros past the map and store only the outputs
// that exist.
//
// Interpolation points. With the points 0, +-a, +-b, inf (F(4,3)) the transforms are
//   B^T rows = the Lagrange numerators of the points:  0: a^2b^2 d0 - (a^2+b^2) d2 + d4
//     +-a: (d4 - b^2 d2) +- a (d3 - b^2 d1)    +-b: (d4 - a^2 d2) +- b (d3 - a^2 d1)
//     inf: a^2b^2 d1 - (a^2+b^2) d3 + d5
//   G rows    = [1, x, x^2] / (numerator at x); inf: [0, 0, 1]
//   A^T row i = [0^i, a^i, (-a)^i, b^i, (-b)^i, (i == 3)]
// (Lavin & Gray's F(4,3) is a = 1, b = 2.) F(2,3) uses 0, +-1, inf: B^T = [d0 - d2, d1 + d2,
// d2 - d1, d3 - d1], G rows [1,0,0], [1,1,1]/2, [1,-1,1]/2, [0,0,1], A^T = [1,1,1,0; 0,1,-1,1].
//
// F(4,3) runs on 0, +-5/8, +-3/2, inf. Over symmetric sets 0, +-a, +-b, inf the float32 error is
// flat near a = 2/3, b = 3/2 (the {+-c, +-1/c} family of Alam, Anderson, Barabasz & Gregg 2022,
// c = 2/3) and about half that of Lavin & Gray's points (bench/winograd.md); 5/8 and 3/2 are as
// accurate and exact in binary, so every transform constant is exact in float32.
//
// The `m` argument: 2, or 4 for F(4,3) on the default points. For the accuracy study,
// m = 4 | (set << 8) picks another point set (see pointA, pointB); pack_weight and the driver must be
// given the same m.
//
// Work items (for threads; conv2d_plan.ts says why items): one per column block (image block,
// group, block of tiles) when there are enough of them; otherwise (few images, small maps) three
// phases over shared V and M, none repeating another's work: the input transforms, cut by input
// channels; the GEMMs, cut by transform points xi (and by 4-row panels of output channels when
// the points are too few); the output transforms, cut by output channels. Either way each output
// is computed by the same operations in the same order, so any cut gives the same bits.
//
// Nothing here allocates: the driver works in the caller's workspace, whose layout `plan` writes
// once for conv2d_winograd_workspace, conv2d_winograd_items and conv2d_winograd_range:
// [shared V and M of every column block, when split][per thread: padded inputs, V and M (when not
// split), lane table, scratch].

import { f32_gemm_4x8 } from './f32_gemm_4x8';
import { padRows } from './conv2d_gather';
import { decodeItem, gridItems, itBlock, itChunk, itemTarget, itGroup, pieceEnd, pieces } from './conv2d_plan';
import { align64, ceilDiv, f32at } from './util';

// Bytes the V and M panels of one column block may take. The GEMM of a point xi streams V[xi]
// through L1 one 8-column panel at a time and reuses U[xi] (the A panels) across the block, so a
// larger block reads the transformed weights fewer times; V and M themselves are touched only
// twice per tile each (written, read), so they may live in L2 or L3.
const BLOCK_BYTES: i32 = 1 << 20;
// Depth of one GEMM pass (input channels): a B panel is at most 512 * 32 B = 16 KiB, within L1.
const KC_MAX: i32 = 512;
const SHRINK_BLOCKS: bool = false;
// F(4,3) points used when m == 4 (set 0).
const DEFAULT_POINTS_4: i32 = 5;

/** A stride of at least `bytes` spanning an odd number of 64-byte lines, so the (m+2)^2 streams
 *  the transforms write or read `stride` apart fall into different L1 sets (a multiple of 4 KiB
 *  would put all of them in one set and thrash it). */
// @ts-ignore: decorator
@inline function oddLines(bytes: i32): i32 { const b = align64(bytes); return (b & 64) ? b : b + 64; }

// ---------------------------------------------------------------------------------------------
// Point sets

/** The F(4,3) points +-a, +-b of a point set (besides 0 and infinity); set 0 is the default. */
function pointA(set: i32): f64 {
  const s = set == 0 ? DEFAULT_POINTS_4 : set;
  if (s == 1) return 1;          // Lavin & Gray: 0, +-1, +-2, inf
  if (s == 2) return 1;          // 0, +-1, +-1/2, inf
  if (s == 3) return 0.5;        // 0, +-1/2, +-2, inf
  if (s == 4) return 2.0 / 3;    // 0, +-2/3, +-3/2, inf
  return 0.625;                  // 5: 0, +-5/8, +-3/2, inf
}
function pointB(set: i32): f64 {
  const s = set == 0 ? DEFAULT_POINTS_4 : set;
  if (s == 1) return 2;
  if (s == 2) return 0.5;
  if (s == 3) return 2;
  return 1.5;
}

// ---------------------------------------------------------------------------------------------
// Plan: the workspace layout, written once for both the size function and the driver.

let pl_m: i32 = 0;       // 2 or 4
let pl_alpha: i32 = 0;   // m + 2
let pl_T: i32 = 0;       // alpha^2 transform points
let pl_cg: i32 = 0;
let pl_kg: i32 = 0;
let pl_kgp: i32 = 0;     // kg rounded up to 4 (rows of M)
let pl_th: i32 = 0;      // tile rows and columns per image
let pl_tw: i32 = 0;
let pl_tpi: i32 = 0;
let pl_hp: i32 = 0;      // padded input plane: th * m + 2 rows of tw * m + 2
let pl_wp: i32 = 0;
let pl_nb: i32 = 0;      // images per image block
let pl_ncb: i32 = 0;     // columns (tiles) per column block, a multiple of 8
let pl_kc: i32 = 0;      // GEMM depth per pass
let pl_xiV: i32 = 0;     // bytes between points in V ([xi][panel][ci][8]) and in M ([panel][xi][kgp][8])
let pl_xiM: i32 = 0;
let pl_oh: i32 = 0;      // the output map and channels
let pl_ow: i32 = 0;
let pl_k: i32 = 0;
let pl_blocks: i32 = 0;  // image blocks
let pl_cbn: i32 = 0;     // column blocks of a full image block, and of the last one
let pl_cbnLast: i32 = 0;
let pl_cbs: i32 = 0;     // column blocks of the call, all groups
let pl_split: bool = false;
let pl_cc: i32 = 0;      // split: input channels per input-transform item, and such items per column block
let pl_cn: i32 = 0;
let pl_pc: i32 = 0;      // split: points per GEMM item and such chunks, times 4-row panels per GEMM item
let pl_pn: i32 = 0;      // and such chunks: pn * mn GEMM items per column block
let pl_mc: i32 = 0;
let pl_mn: i32 = 0;
let pl_oc: i32 = 0;      // split: output channels per output-transform item, and such items per column block
let pl_on: i32 = 0;
let pl_vBlock: i32 = 0;  // bytes of one column block's V, and of its M
let pl_mBlock: i32 = 0;
let pl_shared: i32 = 0;  // bytes: the V and M of every column block (split), before the threads' slices
let pl_private: i32 = 0; // bytes per thread
let pl_xpad: i32 = 0;    // byte offsets in a thread's slice
let pl_v: i32 = 0;
let pl_mm: i32 = 0;
let pl_lanes: i32 = 0;
let pl_tmp: i32 = 0;

/** Sets the plan's globals; returns the workspace's bytes. */
function plan(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, m: i32, threads: i32): i32 {
  const mm = m & 0xff;
  pl_m = mm;
  pl_alpha = mm + 2;
  pl_T = pl_alpha * pl_alpha;
  pl_cg = c / groups;
  pl_kg = k / groups;
  pl_kgp = (pl_kg + 3) & ~3;
  pl_th = ceilDiv(oh, mm);
  pl_tw = ceilDiv(ow, mm);
  pl_tpi = pl_th * pl_tw;
  pl_hp = max(pl_th * mm + 2, h + ph);
  pl_wp = max(pl_tw * mm + 2, w + pw);
  // Each column block streams its group's U once: when U is large (wide layers, where it outgrows
  // the caches), blocks grow with it so that U's traffic stays within about twice V's and M's.
  const perCol = pl_T * (pl_cg + pl_kgp) * 4;
  const uBytes = pl_T * uPointBytes(pl_kg, pl_cg);
  const ncbMax = max(8, (max(BLOCK_BYTES, uBytes / 2) / perCol) & ~7);
  pl_nb = min(n, max(1, ncbMax / max(1, pl_tpi)));
  pl_ncb = min(ncbMax, (pl_nb * pl_tpi + 7) & ~7);
  pl_kc = ceilDiv(pl_cg, ceilDiv(pl_cg, KC_MAX));
  pl_xiV = oddLines((pl_ncb >> 3) * pl_cg * 32);
  pl_xiM = oddLines(pl_kgp * 32);
  pl_oh = oh;
  pl_ow = ow;
  pl_k = k;
  pl_blocks = n > 0 && oh > 0 && ow > 0 && pl_kg > 0 ? ceilDiv(n, pl_nb) : 0;
  const target = itemTarget(threads);
  // Threads want items: smaller column blocks, as long as U's traffic stays within about four
  // times V's and M's (U of a small layer sits in L2 anyway).
  if (SHRINK_BLOCKS && pl_blocks * groups * ceilDiv(pl_nb * pl_tpi, max(8, pl_ncb)) < target) {
    const want = ceilDiv(target, pl_blocks * groups);
    const small = max(max(8, (uBytes / (4 * perCol) + 7) & ~7), ((pl_nb * pl_tpi) / want) & ~7);
    if (small < pl_ncb) {
      pl_ncb = small;
      pl_xiV = oddLines((pl_ncb >> 3) * pl_cg * 32);
    }
  }
  pl_cbn = ceilDiv(pl_nb * pl_tpi, max(8, pl_ncb));
  pl_cbnLast = ceilDiv((n - (pl_blocks - 1) * pl_nb) * pl_tpi, max(8, pl_ncb));
  pl_cbs = gridItems(pl_blocks, groups, pl_cbn, pl_cbnLast, 1);
  const mt = pl_kgp >> 2;
  pl_split = pl_cbs < target;
  pl_cc = pl_cg; pl_cn = 1;
  pl_pc = pl_T; pl_pn = 1;
  pl_mc = mt; pl_mn = 1;
  pl_oc = pl_kg; pl_on = 1;
  if (pl_split) {
    pl_cn = pieces(ceilDiv(pl_cg, 4), pl_cbs, target);
    pl_cc = ceilDiv(pl_cg, pl_cn);
    pl_cn = ceilDiv(pl_cg, pl_cc);
    pl_pn = pieces(pl_T, pl_cbs, target);
    pl_pc = ceilDiv(pl_T, pl_pn);
    pl_pn = ceilDiv(pl_T, pl_pc);
    pl_mn = pieces(mt, pl_cbs * pl_pn, target);
    pl_mc = ceilDiv(mt, pl_mn);
    pl_mn = ceilDiv(mt, pl_mc);
    pl_on = pieces(pl_kg, pl_cbs, target);
    pl_oc = ceilDiv(pl_kg, pl_on);
    pl_on = ceilDiv(pl_kg, pl_oc);
  }
  pl_vBlock = pl_T * pl_xiV;
  pl_mBlock = (pl_ncb >> 3) * pl_T * pl_xiM;
  pl_shared = pl_split ? pl_cbs * (pl_vBlock + pl_mBlock) : 0;
  let off = 0;
  pl_xpad = off; off += align64(pl_nb * pl_cg * pl_hp * pl_wp * 4 + 64);
  pl_v = off;    off += pl_split ? 0 : pl_vBlock;
  pl_mm = off;   off += pl_split ? 0 : pl_mBlock;
  pl_lanes = off; off += align64(pl_ncb * 16);
  pl_tmp = off;  off += 36 * 16;
  pl_private = off;
  return pl_shared + max(1, threads) * pl_private;
}

// ---------------------------------------------------------------------------------------------
// Weights

/** Bytes of the packed, transformed weights of a conv with k outputs and c inputs (the same for
 *  the flipped packing of that conv, whose outputs and inputs are swapped). */
export function conv2d_winograd_weight_bytes(k: i32, c: i32, groups: i32, m: i32): i32 {
  const alpha = (m & 0xff) + 2;
  const kg = k / groups;
  const cg = c / groups;
  return groups * alpha * alpha * max(uPointBytes(kg, cg), uPointBytes(cg, kg));
}

/** 4-row panels of the packed weights (all groups): what conv2d_winograd_pack_weight's [p0, p1) index. */
export function conv2d_winograd_panels(k: i32, c: i32, groups: i32, flipped: i32): i32 {
  return groups * ceilDiv(flipped ? c / groups : k / groups, 4);
}

/** Bytes between the points xi of packed weights with `ko` out and `ci` in channels per group: the
 *  4-row panels of one point, padded to an odd number of cache lines (see oddLines). */
// @ts-ignore: decorator
@inline function uPointBytes(ko: i32, ci: i32): i32 { return oddLines(((ko + 3) & ~3) * ci * 4); }

const ZERO_KERNEL = memory.data(9 * 4); // read as the kernels of rows past the last out channel

/** Row r of G applied to the taps (g0, g1, g2) along one axis, f64x2. Rows: [1, 0, 0] / N0,
 *  [1, +-a, a^2] / Na, [1, +-b, b^2] / Nb (F(4,3) only), [0, 0, 1]. */
// @ts-ignore: decorator
@inline function gRow(r: i32, last: i32, g0: v128, g1: v128, g2: v128,
  inv0: v128, a: v128, a2: v128, invA: v128, b: v128, b2: v128, invB: v128): v128 {
  if (r == 0) return f64x2.mul(g0, inv0);
  if (r == last) return g2;
  if (r <= 2) {
    const e = f64x2.add(g0, f64x2.mul(a2, g2)), o = f64x2.mul(a, g1);
    return f64x2.mul(r == 1 ? f64x2.add(e, o) : f64x2.sub(e, o), invA);
  }
  const e = f64x2.add(g0, f64x2.mul(b2, g2)), o = f64x2.mul(b, g1);
  return f64x2.mul(r == 3 ? f64x2.add(e, o) : f64x2.sub(e, o), invB);
}

/** Two f64x2 (rows 0-1 and 2-3) rounded to one f32x4. */
// @ts-ignore: decorator
@inline function round4(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** G applied along the second axis to one row (t0, t1, t2) of G g, for both halves, rounded and
 *  stored as the alpha points q `stride` bytes apart. */
// @ts-ignore: decorator
@inline function storeGRow(out: usize, stride: usize, six: bool, l0: v128, l1: v128, l2: v128, h0: v128, h1: v128, h2: v128,
  inv0: v128, a: v128, a2: v128, invA: v128, b: v128, b2: v128, invB: v128): void {
  v128.store(out, round4(f64x2.mul(l0, inv0), f64x2.mul(h0, inv0)));
  const lea = f64x2.add(l0, f64x2.mul(a2, l2)), loa = f64x2.mul(a, l1);
  const hea = f64x2.add(h0, f64x2.mul(a2, h2)), hoa = f64x2.mul(a, h1);
  v128.store(out + stride, round4(f64x2.mul(f64x2.add(lea, loa), invA), f64x2.mul(f64x2.add(hea, hoa), invA)));
  v128.store(out + 2 * stride, round4(f64x2.mul(f64x2.sub(lea, loa), invA), f64x2.mul(f64x2.sub(hea, hoa), invA)));
  if (six) {
    const leb = f64x2.add(l0, f64x2.mul(b2, l2)), lob = f64x2.mul(b, l1);
    const heb = f64x2.add(h0, f64x2.mul(b2, h2)), hob = f64x2.mul(b, h1);
    v128.store(out + 3 * stride, round4(f64x2.mul(f64x2.add(leb, lob), invB), f64x2.mul(f64x2.add(heb, hob), invB)));
    v128.store(out + 4 * stride, round4(f64x2.mul(f64x2.sub(leb, lob), invB), f64x2.mul(f64x2.sub(heb, hob), invB)));
    v128.store(out + 5 * stride, round4(l2, h2));
  } else {
    v128.store(out + 3 * stride, round4(l2, h2));
  }
}

/** Tap `off` (bytes) of 4 kernels as one f32x4. */
// @ts-ignore: decorator
@inline function tap4(k0: usize, k1: usize, k2: usize, k3: usize, off: usize): v128 {
  let v = f32x4.splat(load<f32>(k0 + off));
  v = f32x4.replace_lane(v, 1, load<f32>(k1 + off));
  v = f32x4.replace_lane(v, 2, load<f32>(k2 + off));
  return f32x4.replace_lane(v, 3, load<f32>(k3 + off));
}
// @ts-ignore: decorator
@inline function promoteLo(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
// @ts-ignore: decorator
@inline function promoteHi(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)); }

/** Packs U = G g G^T for every (out, in) channel pair of w [k, c/groups, 3, 3] as
 *  [group][xi][4-row panel of out channels][in channel][4], rows past the last out channel zero.
 *  flipped = 1 packs the kernel of the stride-1 input gradient instead: per group, out channel ci
 *  and in channel ko, the 3x3 kernel rotated by 180 degrees (a conv with c outputs and k inputs,
 *  padding 2 - p, computes conv2d's backward input). The transform runs in float64 (f64x2 over
 *  two out channels), in registers (no static scratch: callers may pack on several threads), and
 *  is rounded to float32 once. Packs panels [p0, p1) of conv2d_winograd_panels (panel g * mt + mp):
 *  threads share one packing. */
export function conv2d_winograd_pack_weight(w: usize, dst: usize, k: i32, c: i32, groups: i32, m: i32, flipped: i32,
  p0: i32, p1: i32): void {
  const six = (m & 0xff) == 4;
  const alpha = six ? 6 : 4;
  const T = alpha * alpha;
  const kg = k / groups;
  const cg = c / groups;
  const ko2 = flipped ? cg : kg;   // outputs and inputs per group of the packed conv
  const ci2 = flipped ? kg : cg;
  const mt = ceilDiv(ko2, 4);
  const xiStride = <usize>uPointBytes(ko2, ci2);
  // G's constants: F(2,3) is 0, +-1, inf with numerators 1, 2, 2.
  let pa: f64 = 1, pb: f64 = 1, n0: f64 = 1, na: f64 = 2, nb: f64 = 1;
  if (six) {
    const set = (m >> 8) == 0 ? DEFAULT_POINTS_4 : m >> 8;
    pa = pointA(set); pb = pointB(set);
    const a2 = pa * pa, b2 = pb * pb;
    n0 = a2 * b2; na = 2 * a2 * (a2 - b2); nb = 2 * b2 * (b2 - a2);
  }
  const inv0 = f64x2.splat(1 / n0), invA = f64x2.splat(1 / na), invB = f64x2.splat(1 / nb);
  const A = f64x2.splat(pa), A2 = f64x2.splat(pa * pa), B = f64x2.splat(pb), B2 = f64x2.splat(pb * pb);
  const last = alpha - 1;
  for (let p = p0; p < p1; p++) {
    const g = p / mt;
    const mp = p - g * mt;
    for (let i = 0; i < ci2; i++) {
      // The 3x3 kernels of (mp * 4 + r, i), r = 0..3: w[g*kg + o][i] or, flipped, w[g*kg + i][o]
      // rotated by 180 degrees (tap t read at 8 - t); one f32x4 per tap over the 4 rows.
      const o = mp * 4;
      const k0 = o < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o : (g * kg + o) * cg + i) * 9) : ZERO_KERNEL;
      const k1 = o + 1 < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o + 1 : (g * kg + o + 1) * cg + i) * 9) : ZERO_KERNEL;
      const k2 = o + 2 < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o + 2 : (g * kg + o + 2) * cg + i) * 9) : ZERO_KERNEL;
      const k3 = o + 3 < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o + 3 : (g * kg + o + 3) * cg + i) * 9) : ZERO_KERNEL;
      // Tap (u, v) of the 4 rows, as f64x2 halves: rows 0-1 (l) and 2-3 (h).
      const f = flipped != 0;
      const v00 = tap4(k0, k1, k2, k3, f ? 32 : 0), v01 = tap4(k0, k1, k2, k3, f ? 28 : 4), v02 = tap4(k0, k1, k2, k3, f ? 24 : 8);
      const v10 = tap4(k0, k1, k2, k3, f ? 20 : 12), v11 = tap4(k0, k1, k2, k3, 16), v12 = tap4(k0, k1, k2, k3, f ? 12 : 20);
      const v20 = tap4(k0, k1, k2, k3, f ? 8 : 24), v21 = tap4(k0, k1, k2, k3, f ? 4 : 28), v22 = tap4(k0, k1, k2, k3, f ? 0 : 32);
      const l00 = promoteLo(v00), l01 = promoteLo(v01), l02 = promoteLo(v02), l10 = promoteLo(v10), l11 = promoteLo(v11);
      const l12 = promoteLo(v12), l20 = promoteLo(v20), l21 = promoteLo(v21), l22 = promoteLo(v22);
      const h00 = promoteHi(v00), h01 = promoteHi(v01), h02 = promoteHi(v02), h10 = promoteHi(v10), h11 = promoteHi(v11);
      const h12 = promoteHi(v12), h20 = promoteHi(v20), h21 = promoteHi(v21), h22 = promoteHi(v22);
      // Row r of G g (G along the kernel's rows u), then G along its columns v: U[r][q].
      const out = dst + <usize>(g * T) * xiStride + (<usize>(mp * ci2 + i) << 4);
      const rs = <usize>alpha * xiStride;
      storeGRow(out, xiStride, six,
        gRow(0, last, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(0, last, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
        gRow(0, last, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(0, last, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
        gRow(0, last, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(0, last, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
        inv0, A, A2, invA, B, B2, invB);
      storeGRow(out + rs, xiStride, six,
        gRow(1, last, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(1, last, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
        gRow(1, last, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(1, last, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
        gRow(1, last, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(1, last, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
        inv0, A, A2, invA, B, B2, invB);
      storeGRow(out + 2 * rs, xiStride, six,
        gRow(2, last, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(2, last, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
        gRow(2, last, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(2, last, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
        gRow(2, last, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(2, last, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
        inv0, A, A2, invA, B, B2, invB);
      if (six) {
        storeGRow(out + 3 * rs, xiStride, true,
          gRow(3, 5, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(3, 5, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
          gRow(3, 5, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(3, 5, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
          gRow(3, 5, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(3, 5, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
          inv0, A, A2, invA, B, B2, invB);
        storeGRow(out + 4 * rs, xiStride, true,
          gRow(4, 5, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(4, 5, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
          gRow(4, 5, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(4, 5, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
          gRow(4, 5, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(4, 5, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
          inv0, A, A2, invA, B, B2, invB);
        storeGRow(out + 5 * rs, xiStride, true, l20, l21, l22, h20, h21, h22, inv0, A, A2, invA, B, B2, invB);
      } else {
        storeGRow(out + 3 * rs, xiStride, false, l20, l21, l22, h20, h21, h22, inv0, A, A2, invA, B, B2, invB);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Micro-kernel variant: C[4 x 8] = A B (accumulators start at zero, C is not read), ldc = 8.
// The same loop as f32_gemm_4x8 in gemm.ts.

// @ts-ignore: decorator
@inline function f32_gemm_4x8_set(kc: i32, a: usize, b: usize, c: usize): void {
  let c0l = f32x4.splat(0), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l, c3l = c0l, c3h = c0l;
  const end = b + (<usize>kc << 5);
  while (b < end) {
    const bl = v128.load(b);
    const bh = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c0l = f32x4.add(c0l, f32x4.mul(s, bl));
    c0h = f32x4.add(c0h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 4);
    c1l = f32x4.add(c1l, f32x4.mul(s, bl));
    c1h = f32x4.add(c1h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 8);
    c2l = f32x4.add(c2l, f32x4.mul(s, bl));
    c2h = f32x4.add(c2h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 12);
    c3l = f32x4.add(c3l, f32x4.mul(s, bl));
    c3h = f32x4.add(c3h, f32x4.mul(s, bh));
    a += 16;
    b += 32;
  }
  v128.store(c, c0l); v128.store(c, c0h, 16);
  v128.store(c, c1l, 32); v128.store(c, c1h, 48);
  v128.store(c, c2l, 64); v128.store(c, c2h, 80);
  v128.store(c, c3l, 96); v128.store(c, c3h, 112);
}

// ---------------------------------------------------------------------------------------------
// Transforms, f32x4 over 4 tiles.

/** Column j (tr0..tr3) of the 4x4 matrix with rows a, b, c, e: [a[j], b[j], c[j], e[j]]. */
// @ts-ignore: decorator
@inline function tr0(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(c, e, 0, 4, 1, 5), 0, 1, 4, 5);
}
// @ts-ignore: decorator
@inline function tr1(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(c, e, 0, 4, 1, 5), 2, 3, 6, 7);
}
// @ts-ignore: decorator
@inline function tr2(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 6, 3, 7), v128.shuffle<f32>(c, e, 2, 6, 3, 7), 0, 1, 4, 5);
}
// @ts-ignore: decorator
@inline function tr3(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 6, 3, 7), v128.shuffle<f32>(c, e, 2, 6, 3, 7), 2, 3, 6, 7);
}

/** The 1D F(4,3) input transform of d0..d5, its 6 results stored `stride` bytes apart. */
// @ts-ignore: decorator
@inline function in6(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, out: usize, stride: usize,
  A: v128, B: v128, A2: v128, B2: v128, AB2: v128, S: v128): void {
  const e1 = f32x4.sub(d4, f32x4.mul(B2, d2));
  const o1 = f32x4.mul(A, f32x4.sub(d3, f32x4.mul(B2, d1)));
  const e2 = f32x4.sub(d4, f32x4.mul(A2, d2));
  const o2 = f32x4.mul(B, f32x4.sub(d3, f32x4.mul(A2, d1)));
  v128.store(out, f32x4.add(f32x4.sub(f32x4.mul(AB2, d0), f32x4.mul(S, d2)), d4));
  v128.store(out + stride, f32x4.add(e1, o1));
  v128.store(out + 2 * stride, f32x4.sub(e1, o1));
  v128.store(out + 3 * stride, f32x4.add(e2, o2));
  v128.store(out + 4 * stride, f32x4.sub(e2, o2));
  v128.store(out + 5 * stride, f32x4.add(f32x4.sub(f32x4.mul(AB2, d1), f32x4.mul(S, d3)), d5));
}

/** Input transform F(4,3) of the column block: for every group of 4 tiles (lane offsets in the
 *  lane table) and input channel ci in [c0, c1), V[xi][panel][ci][lane] = (B^T d B)[xi]. */
function inputTransform4(xpad: usize, vblk: usize, lanes: usize, nlg: i32, cg: i32, c0: i32, c1: i32, planeB: usize, wpB: usize,
  xiS: usize, hbuf: usize, A: v128, B: v128, A2: v128, B2: v128, AB2: v128, S: v128): void {
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const o0 = <usize>load<i32>(lt), o1 = <usize>load<i32>(lt, 4), o2 = <usize>load<i32>(lt, 8), o3 = <usize>load<i32>(lt, 12);
    const vd0 = vblk + ((<usize>(u >> 1) * <usize>cg) << 5) + (<usize>(u & 1) << 4);
    let plane = xpad + <usize>c0 * planeB;
    for (let ci = c0; ci < c1; ci++) {
      // Rows: the 6 values of each tile's row r, transposed to 6 vectors over the 4 tiles, then
      // the transform along x into hbuf[r][j].
      let src = plane;
      let hb = hbuf;
      for (let r = 0; r < 6; r++) {
        const a = v128.load(src + o0), b = v128.load(src + o1), c = v128.load(src + o2), e = v128.load(src + o3);
        const a2 = v128.load(src + o0, 8), b2 = v128.load(src + o1, 8), c2 = v128.load(src + o2, 8), e2 = v128.load(src + o3, 8);
        const t = v128.shuffle<f32>(a2, b2, 2, 6, 3, 7);
        const s = v128.shuffle<f32>(c2, e2, 2, 6, 3, 7);
        in6(tr0(a, b, c, e), tr1(a, b, c, e), tr2(a, b, c, e), tr3(a, b, c, e),
          v128.shuffle<f32>(t, s, 0, 1, 4, 5), v128.shuffle<f32>(t, s, 2, 3, 6, 7), hb, 16, A, B, A2, B2, AB2, S);
        src += wpB;
        hb += 96;
      }
      // Columns: the transform along y of hbuf[.][j], straight into the B panels.
      const vd = vd0 + (<usize>ci << 5);
      for (let j = 0; j < 6; j++) {
        const hj = hbuf + (<usize>j << 4);
        in6(v128.load(hj), v128.load(hj, 96), v128.load(hj, 192), v128.load(hj, 288), v128.load(hj, 384), v128.load(hj, 480),
          vd + <usize>j * xiS, 6 * xiS, A, B, A2, B2, AB2, S);
      }
      plane += planeB;
    }
  }
}

/** Input transform F(2,3): rows and columns of B^T = [d0 - d2, d1 + d2, d2 - d1, d3 - d1]. */
function inputTransform2(xpad: usize, vblk: usize, lanes: usize, nlg: i32, cg: i32, c0: i32, c1: i32, planeB: usize, wpB: usize,
  xiS: usize, hbuf: usize): void {
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const o0 = <usize>load<i32>(lt), o1 = <usize>load<i32>(lt, 4), o2 = <usize>load<i32>(lt, 8), o3 = <usize>load<i32>(lt, 12);
    const vd0 = vblk + ((<usize>(u >> 1) * <usize>cg) << 5) + (<usize>(u & 1) << 4);
    let plane = xpad + <usize>c0 * planeB;
    for (let ci = c0; ci < c1; ci++) {
      let src = plane;
      let hb = hbuf;
      for (let r = 0; r < 4; r++) {
        const a = v128.load(src + o0), b = v128.load(src + o1), c = v128.load(src + o2), e = v128.load(src + o3);
        const d0 = tr0(a, b, c, e), d1 = tr1(a, b, c, e), d2 = tr2(a, b, c, e), d3 = tr3(a, b, c, e);
        v128.store(hb, f32x4.sub(d0, d2));
        v128.store(hb, f32x4.add(d1, d2), 16);
        v128.store(hb, f32x4.sub(d2, d1), 32);
        v128.store(hb, f32x4.sub(d3, d1), 48);
        src += wpB;
        hb += 64;
      }
      const vd = vd0 + (<usize>ci << 5);
      for (let j = 0; j < 4; j++) {
        const hj = hbuf + (<usize>j << 4);
        const d0 = v128.load(hj), d1 = v128.load(hj, 64), d2 = v128.load(hj, 128), d3 = v128.load(hj, 192);
        const out = vd + <usize>j * xiS;
        v128.store(out, f32x4.sub(d0, d2));
        v128.store(out + 4 * xiS, f32x4.add(d1, d2));
        v128.store(out + 8 * xiS, f32x4.sub(d2, d1));
        v128.store(out + 12 * xiS, f32x4.sub(d3, d1));
      }
      plane += planeB;
    }
  }
}

/** Stores the first `cols` floats of v at p (cols < 4). */
// @ts-ignore: decorator
@inline function storePartial(p: usize, v: v128, cols: i32): void {
  if (cols > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cols > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cols > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** Stores row i (4 values) of one lane's output tile, clipped to the map. */
// @ts-ignore: decorator
@inline function storeLane4(p: usize, v: v128, i: i32, rows: i32, cols: i32): void {
  if (i < rows) {
    if (cols == 4) v128.store(p, v);
    else storePartial(p, v, cols);
  }
}

/** The 1D F(4,3) output transform of m0..m5 into o0..o3 (stored `stride` bytes apart). */
// @ts-ignore: decorator
@inline function out6(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, out: usize, stride: usize,
  A: v128, B: v128, A2: v128, B2: v128, A3: v128, B3: v128): void {
  const p1 = f32x4.add(m1, m2), q1 = f32x4.sub(m1, m2);
  const p2 = f32x4.add(m3, m4), q2 = f32x4.sub(m3, m4);
  v128.store(out, f32x4.add(f32x4.add(m0, p1), p2));
  v128.store(out + stride, f32x4.add(f32x4.mul(A, q1), f32x4.mul(B, q2)));
  v128.store(out + 2 * stride, f32x4.add(f32x4.mul(A2, p1), f32x4.mul(B2, p2)));
  v128.store(out + 3 * stride, f32x4.add(f32x4.add(f32x4.mul(A3, q1), f32x4.mul(B3, q2)), m5));
}

/** Output transform F(4,3) of the column block: y tile = A^T M A + bias (ReLU), per output
 *  channel in [ko0, ko1) and group of 4 tiles; yg points at the group's first output channel of image 0. */
function outputTransform4(mblk: usize, yg: usize, bias: usize, relu: i32, lanes: usize, nlg: i32, ko0: i32, ko1: i32, xs: usize,
  planeB: usize, owB: usize, tbuf: usize, A: v128, B: v128, A2: v128, B2: v128, A3: v128, B3: v128): void {
  const zero = f32x4.splat(0);
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const d0 = <usize>load<i32>(lt, 16), d1 = <usize>load<i32>(lt, 20), d2 = <usize>load<i32>(lt, 24), d3 = <usize>load<i32>(lt, 28);
    const r0 = load<i32>(lt, 32), r1 = load<i32>(lt, 36), r2 = load<i32>(lt, 40), r3 = load<i32>(lt, 44);
    const c0 = load<i32>(lt, 48), c1 = load<i32>(lt, 52), c2 = load<i32>(lt, 56), c3 = load<i32>(lt, 60);
    const full = (r0 & r1 & r2 & r3) == 4 && (c0 & c1 & c2 & c3) == 4;
    // M of this panel: [xi][kgp][8]; this half's 4 columns.
    const mb0 = mblk + <usize>(u >> 1) * 36 * xs + (<usize>(u & 1) << 4);
    for (let ko = ko0; ko < ko1; ko++) {
      const mb = mb0 + (<usize>ko << 5);
      // Columns of the 6x6 tile (s): A^T along y into tbuf[i][s].
      for (let s = 0; s < 6; s++) {
        const ms = mb + <usize>s * xs;
        out6(v128.load(ms), v128.load(ms + 6 * xs), v128.load(ms + 12 * xs), v128.load(ms + 18 * xs),
          v128.load(ms + 24 * xs), v128.load(ms + 30 * xs), tbuf + (<usize>s << 4), 96, A, B, A2, B2, A3, B3);
      }
      // Rows i: A^T along x, bias, ReLU, then the 4x4 transpose gives each tile's row i.
      const bv = f32x4.splat(bias ? load<f32>(f32at(bias, ko)) : 0);
      const yk = yg + <usize>ko * planeB;
      for (let i = 0; i < 4; i++) {
        const t = tbuf + <usize>i * 96;
        const m0 = v128.load(t), m1 = v128.load(t, 16), m2 = v128.load(t, 32);
        const m3 = v128.load(t, 48), m4 = v128.load(t, 64), m5 = v128.load(t, 80);
        const p1 = f32x4.add(m1, m2), q1 = f32x4.sub(m1, m2);
        const p2 = f32x4.add(m3, m4), q2 = f32x4.sub(m3, m4);
        let y0 = f32x4.add(f32x4.add(f32x4.add(m0, p1), p2), bv);
        let y1 = f32x4.add(f32x4.add(f32x4.mul(A, q1), f32x4.mul(B, q2)), bv);
        let y2 = f32x4.add(f32x4.add(f32x4.mul(A2, p1), f32x4.mul(B2, p2)), bv);
        let y3 = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(A3, q1), f32x4.mul(B3, q2)), m5), bv);
        if (relu) {
          y0 = f32x4.pmax(y0, zero); y1 = f32x4.pmax(y1, zero);
          y2 = f32x4.pmax(y2, zero); y3 = f32x4.pmax(y3, zero);
        }
        const row = yk + <usize>i * owB;
        const l0 = tr0(y0, y1, y2, y3), l1 = tr1(y0, y1, y2, y3), l2 = tr2(y0, y1, y2, y3), l3 = tr3(y0, y1, y2, y3);
        if (full) {
          v128.store(row + d0, l0); v128.store(row + d1, l1); v128.store(row + d2, l2); v128.store(row + d3, l3);
        } else {
          storeLane4(row + d0, l0, i, r0, c0); storeLane4(row + d1, l1, i, r1, c1);
          storeLane4(row + d2, l2, i, r2, c2); storeLane4(row + d3, l3, i, r3, c3);
        }
      }
    }
  }
}

/** Stores one lane's 2 outputs of a row (lo lane of v64 = the pair), clipped. */
// @ts-ignore: decorator
@inline function storeLane2(p: usize, v: v128, idx: i32, i: i32, rows: i32, cols: i32): void {
  if (i < rows) {
    if (cols == 2) {
      if (idx == 0) v128.store64_lane(p, v, 0); else v128.store64_lane(p, v, 1);
    } else if (cols == 1) {
      if (idx == 0) v128.store32_lane(p, v, 0); else v128.store32_lane(p, v, 2);
    }
  }
}

/** Output transform F(2,3): A^T = [1, 1, 1, 0; 0, 1, -1, 1]. */
function outputTransform2(mblk: usize, yg: usize, bias: usize, relu: i32, lanes: usize, nlg: i32, ko0: i32, ko1: i32, xs: usize,
  planeB: usize, owB: usize): void {
  const zero = f32x4.splat(0);
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const d0 = <usize>load<i32>(lt, 16), d1 = <usize>load<i32>(lt, 20), d2 = <usize>load<i32>(lt, 24), d3 = <usize>load<i32>(lt, 28);
    const r0 = load<i32>(lt, 32), r1 = load<i32>(lt, 36), r2 = load<i32>(lt, 40), r3 = load<i32>(lt, 44);
    const c0 = load<i32>(lt, 48), c1 = load<i32>(lt, 52), c2 = load<i32>(lt, 56), c3 = load<i32>(lt, 60);
    const full = (r0 & r1 & r2 & r3) == 2 && (c0 & c1 & c2 & c3) == 2;
    const mb0 = mblk + <usize>(u >> 1) * 16 * xs + (<usize>(u & 1) << 4);
    for (let ko = ko0; ko < ko1; ko++) {
      const mb = mb0 + (<usize>ko << 5);
      // Columns s: t0s = m0s + m1s + m2s, t1s = m1s - m2s + m3s (m_rs at xi = r * 4 + s).
      let t00: v128, t01: v128, t02: v128, t03: v128, t10: v128, t11: v128, t12: v128, t13: v128;
      {
        const a = v128.load(mb), b = v128.load(mb + 4 * xs), c = v128.load(mb + 8 * xs), d = v128.load(mb + 12 * xs);
        t00 = f32x4.add(f32x4.add(a, b), c); t10 = f32x4.add(f32x4.sub(b, c), d);
      }
      {
        const a = v128.load(mb + xs), b = v128.load(mb + 5 * xs), c = v128.load(mb + 9 * xs), d = v128.load(mb + 13 * xs);
        t01 = f32x4.add(f32x4.add(a, b), c); t11 = f32x4.add(f32x4.sub(b, c), d);
      }
      {
        const a = v128.load(mb + 2 * xs), b = v128.load(mb + 6 * xs), c = v128.load(mb + 10 * xs), d = v128.load(mb + 14 * xs);
        t02 = f32x4.add(f32x4.add(a, b), c); t12 = f32x4.add(f32x4.sub(b, c), d);
      }
      {
        const a = v128.load(mb + 3 * xs), b = v128.load(mb + 7 * xs), c = v128.load(mb + 11 * xs), d = v128.load(mb + 15 * xs);
        t03 = f32x4.add(f32x4.add(a, b), c); t13 = f32x4.add(f32x4.sub(b, c), d);
      }
      const bv = f32x4.splat(bias ? load<f32>(f32at(bias, ko)) : 0);
      let y00 = f32x4.add(f32x4.add(f32x4.add(t00, t01), t02), bv);
      let y01 = f32x4.add(f32x4.add(f32x4.sub(t01, t02), t03), bv);
      let y10 = f32x4.add(f32x4.add(f32x4.add(t10, t11), t12), bv);
      let y11 = f32x4.add(f32x4.add(f32x4.sub(t11, t12), t13), bv);
      if (relu) {
        y00 = f32x4.pmax(y00, zero); y01 = f32x4.pmax(y01, zero);
        y10 = f32x4.pmax(y10, zero); y11 = f32x4.pmax(y11, zero);
      }
      const yk = yg + <usize>ko * planeB;
      // Row i of lane l: (y_i0[l], y_i1[l]); lanes 0, 1 in lo, 2, 3 in hi.
      const lo0 = v128.shuffle<f32>(y00, y01, 0, 4, 1, 5), hi0 = v128.shuffle<f32>(y00, y01, 2, 6, 3, 7);
      const lo1 = v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), hi1 = v128.shuffle<f32>(y10, y11, 2, 6, 3, 7);
      if (full) {
        v128.store64_lane(yk + d0, lo0, 0); v128.store64_lane(yk + d1, lo0, 1);
        v128.store64_lane(yk + d2, hi0, 0); v128.store64_lane(yk + d3, hi0, 1);
        const y1 = yk + owB;
        v128.store64_lane(y1 + d0, lo1, 0); v128.store64_lane(y1 + d1, lo1, 1);
        v128.store64_lane(y1 + d2, hi1, 0); v128.store64_lane(y1 + d3, hi1, 1);
      } else {
        storeLane2(yk + d0, lo0, 0, 0, r0, c0); storeLane2(yk + d1, lo0, 1, 0, r1, c1);
        storeLane2(yk + d2, hi0, 0, 0, r2, c2); storeLane2(yk + d3, hi0, 1, 0, r3, c3);
        const y1 = yk + owB;
        storeLane2(y1 + d0, lo1, 0, 1, r0, c0); storeLane2(y1 + d1, lo1, 1, 1, r1, c1);
        storeLane2(y1 + d2, hi1, 0, 1, r2, c2); storeLane2(y1 + d3, hi1, 1, 1, r3, c3);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Driver

/** M[panel][xi][kgp][8] = U[xi] V[xi] for the points xi in [xi0, xi1) of a column block and the
 *  4-row panels [m0, m1) of output channels: one GEMM per point, the B panel (8 tiles, kc channels) in L1 across
 *  the A panels of U[xi]. */
function gemmPoints(ug: usize, uxi: usize, vblk: usize, xiS: usize, mblk: usize, xiM: usize, T: i32, npb: i32, xi0: i32,
  xi1: i32, m0: i32, m1: i32, cg: i32, kcStep: i32): void {
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
          const ap = ux + (<usize>(mp * cg + kc0) << 4);
          if (kc0 == 0) f32_gemm_4x8_set(kc, ap, bp, cp + (<usize>mp << 7));
          else f32_gemm_4x8(kc, ap, bp, cp + (<usize>mp << 7), 8);
        }
      }
    }
  }
}

export function conv2d_winograd_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32,
  oh: i32, ow: i32, m: i32, threads: i32): i32 {
  return plan(n, c, h, w, k, groups, ph, pw, oh, ow, m, threads);
}

/** Items of phase `phase` (0; 1 and 2 when split), 0 past the last phase. */
export function conv2d_winograd_items(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32,
  oh: i32, ow: i32, m: i32, threads: i32, phase: i32): i32 {
  plan(n, c, h, w, k, groups, ph, pw, oh, ow, m, threads);
  if (!pl_split) return phase == 0 ? pl_cbs : 0;
  if (phase == 0) return pl_cbs * pl_cn;
  if (phase == 1) return pl_cbs * pl_pn * pl_mn;
  return phase == 2 ? pl_cbs * pl_on : 0;
}

/** Fills the lane table of a column block: for each tile column q in [q0, q0 + cols) of the image
 *  block (and up to the next multiple of 8, repeating the last tile), its input offset in the
 *  padded block (bytes), its output offset relative to channel 0 of image 0 of the image block
 *  (bytes; the group's channel offset is added by the caller), and its valid rows and columns
 *  (0 rows for the repeated columns). */
function fillLanes(lanes: usize, q0: i32, cols: i32, mm: i32, tw: i32, tpi: i32, wp: i32, imgStride: i32,
  oh: i32, ow: i32, outImgStride: i32): void {
  const total = (cols + 7) & ~7;
  for (let j = 0; j < total; j++) {
    const q = q0 + (j < cols ? j : cols - 1);
    const img = q / tpi;
    const t = q - img * tpi;
    const ty = t / tw;
    const tx = t - ty * tw;
    const lt = lanes + (<usize>(j >> 2) << 6) + (<usize>(j & 3) << 2);
    store<i32>(lt, (img * imgStride + ty * mm * wp + tx * mm) << 2);
    store<i32>(lt, (img * outImgStride + ty * mm * ow + tx * mm) << 2, 16);
    store<i32>(lt, j < cols ? min(mm, oh - ty * mm) : 0, 32);
    store<i32>(lt, min(mm, ow - tx * mm), 48);
  }
}

/** y = conv2d(x, w, 3x3, stride 1, padding ph, pw) + bias (bias 0: none), ReLU when relu = 1,
 *  with w packed by conv2d_winograd_pack_weight for the same m: items [i0, i1) of phase `phase`
 *  (conv2d_winograd_items), run by thread `thread` of `threads` in its slice of ws (which holds
 *  conv2d_winograd_workspace(..., threads) bytes). y's outputs are overwritten. */
export function conv2d_winograd_range(x: usize, packedU: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32,
  k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, m: i32, relu: i32, ws: usize, threads: i32, phase: i32,
  thread: i32, i0: i32, i1: i32): void {
  plan(n, c, h, w, k, groups, ph, pw, oh, ow, m, threads);
  const own = ws + <usize>pl_shared + <usize>thread * <usize>pl_private;
  for (let item = i0; item < i1; item++) {
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
    const fa = <f32>pointA(m >> 8), fb = <f32>pointB(m >> 8);
    inputTransform4(xpad, vblk, lanes, cbLaneGroups, pl_cg, c0, c1, <usize>plane << 2, <usize>wp << 2, <usize>pl_xiV, tmp,
      f32x4.splat(fa), f32x4.splat(fb), f32x4.splat(fa * fa), f32x4.splat(fb * fb), f32x4.splat(fa * fa * fb * fb),
      f32x4.splat(fa * fa + fb * fb));
  } else {
    inputTransform2(xpad, vblk, lanes, cbLaneGroups, pl_cg, c0, c1, <usize>plane << 2, <usize>wp << 2, <usize>pl_xiV, tmp);
  }
}

/** M = U V for the column block, points [xi0, xi1) and 4-row panels [m0, m1) of output channels. */
function multiply(packedU: usize, vblk: usize, mblk: usize, xi0: i32, xi1: i32, m0: i32, m1: i32): void {
  const uxi = <usize>uPointBytes(pl_kg, pl_cg);
  gemmPoints(packedU + <usize>(cbGroup * pl_T) * uxi, uxi, vblk, <usize>pl_xiV, mblk, <usize>pl_xiM, pl_T, cbPanels,
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
    const fa = <f32>pointA(m >> 8), fb = <f32>pointB(m >> 8);
    outputTransform4(mblk, yg, bg, relu, lanes, cbLaneGroups, ko0, ko1, <usize>pl_xiM, <usize>ohow << 2, <usize>ow << 2,
      own + <usize>pl_tmp, f32x4.splat(fa), f32x4.splat(fb), f32x4.splat(fa * fa), f32x4.splat(fb * fb),
      f32x4.splat(fa * fa * fa), f32x4.splat(fb * fb * fb));
  } else {
    outputTransform2(mblk, yg, bg, relu, lanes, cbLaneGroups, ko0, ko1, <usize>pl_xiM, <usize>ohow << 2, <usize>ow << 2);
  }
}
