// Layouts of the Winograd convolution (conv2d_winograd.ts): the packed, transformed weights (their
// size and the stride between points; conv2d_winograd_pack.ts writes them) and the workspace.
//
// The workspace layout is written once: planWinograd sets the globals below (offsets in bytes from
// the start of the workspace), conv2d_winograd_workspace returns its total and the driver reads
// its offsets, so the two can never disagree. Globals, not objects, as in conv2d_plan.ts: the
// module runs without a garbage-collected runtime.
//
//   [shared V and M of every column block, when split into phases]
//   [per thread: zero-bordered inputs of an image block, V and M of a column block (when not
//    split), lane table of a column block, transform scratch]
import { gridItems, itemTarget, pieces } from './conv2d_plan';
import { align64, ceilDiv } from './util';

// Bytes the V and M panels of one column block may take. The GEMM of a point xi streams V[xi]
// through L1 one 8-column panel at a time and reuses U[xi] (the A panels) across the block, so a
// larger block reads the transformed weights fewer times; V and M themselves are touched only
// twice per tile each (written, read), so they may live in L2 or L3.
const BLOCK_BYTES: i32 = 1 << 20;
// Depth of one GEMM pass (input channels): a B panel is at most 512 * 32 B = 16 KiB, within L1.
const KC_MAX: i32 = 512;
const SHRINK_BLOCKS: bool = false;
// Batch 1: one column block per thread instead of phases (planWinograd).
const ONE_BLOCK_PER_THREAD: bool = true;
// Batch 1, wide layers: transformed weights of at least this many bytes are cut by output channels
// among the threads (planWinograd), up to BY_OUTPUTS_THREADS threads.
const BY_OUTPUTS_BYTES: i32 = 2 << 20;
const BY_OUTPUTS_THREADS: i32 = 4;
// By outputs with the weights packed in the call: bytes of transformed weights packed at a time
// into a thread's slice buffer, so that they are read back from L2 rather than from memory.
const SLICE_BYTES: i32 = 256 << 10;

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

/** 4-row panels of the packed weights (all groups): what conv2d_winograd_pack_weight's [p0, p1) index. */
export function conv2d_winograd_panels(k: i32, c: i32, groups: i32, flipped: i32): i32 {
  return groups * ceilDiv(flipped ? c / groups : k / groups, 4);
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
export let pl_oh: i32 = 0;      // the output map and channels
export let pl_ow: i32 = 0;
export let pl_k: i32 = 0;
export let pl_blocks: i32 = 0;  // image blocks
export let pl_cbn: i32 = 0;     // column blocks of a full image block, and of the last one
export let pl_cbnLast: i32 = 0;
export let pl_cbs: i32 = 0;     // column blocks of the call, all groups
export let pl_split: bool = false;
export let pl_byOut: bool = false; // one phase, one item per thread, each a slice of 4-row output panels
export let pl_mo: i32 = 0;         // byOut: 4-row panels per item (pl_cbs items)
export let pl_us: i32 = 0;         // byOut: 4-row panels per slice of weights packed in the call
export let pl_uxiS: i32 = 0;       // byOut: bytes between points in that slice buffer
export let pl_cc: i32 = 0;      // split: input channels per input-transform item, and such items per column block
export let pl_cn: i32 = 0;
export let pl_pc: i32 = 0;      // split: points per GEMM item and such chunks, times 4-row panels per GEMM item
export let pl_pn: i32 = 0;      // and such chunks: pn * mn GEMM items per column block
export let pl_mc: i32 = 0;
export let pl_mn: i32 = 0;
export let pl_oc: i32 = 0;      // split: output channels per output-transform item, and such items per column block
export let pl_on: i32 = 0;
export let pl_vBlock: i32 = 0;  // bytes of one column block's V, and of its M
export let pl_mBlock: i32 = 0;
export let pl_shared: i32 = 0;  // bytes: the V and M of every column block (split), before the threads' slices
export let pl_private: i32 = 0; // bytes per thread
export let pl_xpad: i32 = 0;    // byte offsets in a thread's slice
export let pl_v: i32 = 0;
export let pl_mm: i32 = 0;
export let pl_lanes: i32 = 0;
export let pl_tmp: i32 = 0;
export let pl_ubuf: i32 = 0;    // byOut: the slice buffer, in a thread's slice

/** Lays out the workspace of conv2d_winograd_range for these arguments (m as there) and `threads`
 *  threads and returns its bytes. */
export function planWinograd(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, m: i32, threads: i32): i32 {
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
  pl_byOut = false;
  // Too few column blocks, one image block of one group (batch 1, small maps) and transformed
  // weights far larger than the tiles: one item per thread, each its own slice of output channels
  // over all the tiles (each thread repeats the input transforms, a small part of the work, but
  // reads only its slice of U: at batch 1 streaming U from beyond L2 is what the 14x14 layers
  // wait on, and both threads reading all of it halves the gain of the second).
  // One thread runs this way too (one item, the same work as one whole column block): then weights
  // packed in the call are packed slice by slice beside the GEMMs that read them (conv2d.ts).
  if ((pl_split || threads == 1) && threads <= BY_OUTPUTS_THREADS && pl_blocks * groups == 1 && uBytes >= BY_OUTPUTS_BYTES &&
    mt >= 2 * threads && pl_nb * pl_tpi <= ncbMax) {
    pl_byOut = true;
    pl_split = false;
    pl_ncb = (pl_nb * pl_tpi + 7) & ~7;
    pl_xiV = oddLines((pl_ncb >> 3) * pl_cg * 32);
    pl_cbn = 1;
    pl_cbnLast = 1;
    pl_cbs = 1;
    pl_mo = ceilDiv(mt, threads);
    pl_cbs = ceilDiv(mt, pl_mo); // the items, all in the one column block
    pl_us = max(1, SLICE_BYTES / (pl_T * pl_cg * 16));
    pl_uxiS = oddLines(pl_us * pl_cg * 16);
  }
  // Too few column blocks for the items the threads want, but one image block of one group (batch
  // 1, small maps): rather than the three phases, as many blocks of at least 8 tiles as there are
  // threads, each run whole by one thread (transforms, GEMMs, output transforms with no phase
  // boundary between them). Each block reads all of U, but the hand-offs and waits of two more
  // phases cost more at this size.
  if (pl_split && threads > 1 && pl_blocks * groups == 1 && ONE_BLOCK_PER_THREAD) {
    const q = pl_nb * pl_tpi;
    const ncb = (ceilDiv(q, threads) + 7) & ~7;
    if (ceilDiv(q, ncb) == threads && ncb <= 2 * ncbMax) {
      pl_ncb = ncb;
      pl_xiV = oddLines((pl_ncb >> 3) * pl_cg * 32);
      pl_cbn = threads;
      pl_cbnLast = threads;
      pl_cbs = threads;
      pl_split = false;
    }
  }
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
  pl_ubuf = off; off += pl_byOut ? pl_T * pl_uxiS : 0;
  pl_private = off;
  return pl_shared + max(1, threads) * pl_private;
}
