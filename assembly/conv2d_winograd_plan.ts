// Layouts of the Winograd convolution (conv2d_winograd.ts): the packed, transformed weights (their
// size and the stride between points; conv2d_winograd_pack.ts writes them) and the workspace.
//
// The workspace layout is written once: planWinograd sets the globals below (offsets in bytes from
// the start of the workspace), conv2d_winograd_workspace returns its total and the driver reads
// its offsets, so the two can never disagree. Globals, not objects, as in conv2d_plan.ts: the
// module runs without a garbage-collected runtime.
//
//   [zero-bordered inputs of an image block][V of a column block][M of a column block]
//   [lane table of a column block][transform scratch]
import { align64, ceilDiv } from './util';

// Bytes the V and M panels of one column block may take. The GEMM of a point xi streams V[xi]
// through L1 one 8-column panel at a time and reuses U[xi] (the A panels) across the block, so a
// larger block reads the transformed weights fewer times; V and M themselves are touched only
// twice per tile each (written, read), so they may live in L2 or L3.
const BLOCK_BYTES: i32 = 1 << 20;
// Depth of one GEMM pass (input channels): a B panel is at most 512 * 32 B = 16 KiB, within L1.
const KC_MAX: i32 = 512;

/** A stride of at least `bytes` spanning an odd number of 64-byte lines, so the (m+2)^2 streams
 *  the transforms write or read `stride` apart fall into different L1 sets (a multiple of 4 KiB
 *  would put all of them in one set and thrash it). */
// @ts-ignore: decorator
@inline function oddLines(bytes: i32): i32 { const b = align64(bytes); return (b & 64) ? b : b + 64; }

/** Bytes between the points xi of packed weights with `ko` out and `ci` in channels per group: the
 *  4-row panels of one point, padded to an odd number of cache lines (see oddLines). */
// @ts-ignore: decorator
@inline export function uPointBytes(ko: i32, ci: i32): i32 { return oddLines(((ko + 3) & ~3) * ci * 4); }

/** Bytes of the packed, transformed weights of a conv with k outputs and c inputs (the same for
 *  the flipped packing of that conv, whose outputs and inputs are swapped). */
export function conv2d_winograd_weight_bytes(k: i32, c: i32, groups: i32, m: i32): i32 {
  const alpha = (m & 0xff) + 2;
  const kg = k / groups;
  const cg = c / groups;
  return groups * alpha * alpha * max(uPointBytes(kg, cg), uPointBytes(cg, kg));
}

export let pl_m: i32 = 0;       // 2 or 4
export let pl_alpha: i32 = 0;   // m + 2
export let pl_T: i32 = 0;       // alpha^2 transform points
export let pl_cg: i32 = 0;
export let pl_kg: i32 = 0;
export let pl_kgp: i32 = 0;     // kg rounded up to 4 (rows of M)
export let pl_th: i32 = 0;      // tile rows and columns per image
export let pl_tw: i32 = 0;
export let pl_tpi: i32 = 0;
export let pl_hp: i32 = 0;      // padded input plane: th * m + 2 rows of tw * m + 2
export let pl_wp: i32 = 0;
export let pl_nb: i32 = 0;      // images per image block
export let pl_ncb: i32 = 0;     // columns (tiles) per column block, a multiple of 8
export let pl_kc: i32 = 0;      // GEMM depth per pass
export let pl_xiV: i32 = 0;     // bytes between points in V ([xi][panel][ci][8]) and in M ([panel][xi][kgp][8])
export let pl_xiM: i32 = 0;
export let pl_xpad: i32 = 0;    // byte offsets in the workspace
export let pl_v: i32 = 0;
export let pl_mm: i32 = 0;
export let pl_lanes: i32 = 0;
export let pl_tmp: i32 = 0;

/** Lays out the workspace of conv2d_winograd for these arguments (m as there) and returns its bytes. */
export function planWinograd(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, m: i32): i32 {
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
  let off = 0;
  pl_xpad = off; off += align64(pl_nb * pl_cg * pl_hp * pl_wp * 4 + 64);
  pl_v = off;    off += pl_T * pl_xiV;
  pl_mm = off;   off += (pl_ncb >> 3) * pl_T * pl_xiM;
  pl_lanes = off; off += align64(pl_ncb * 16);
  pl_tmp = off;  off += 36 * 16;
  return off;
}
