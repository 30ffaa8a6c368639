// Workspace layouts and work items of the convolution passes, each written once: the *_workspace
// and *_items exports return a plan's totals and the drivers read its offsets and grid, so the
// three can never disagree.
//
// Work items. Every pass is cut into items that touch disjoint outputs (or, for the weight
// gradient, disjoint partial sums), so that threads can take them in any order: each thread runs
// its items in its own slice of the workspace. The grid of a forward pass (which images, which
// columns, which output-channel panels) may depend on the number of threads: an output element is
// computed by the same sequence of operations whatever item holds it. The grid of a reduction over
// positions (the weight gradient's partial sums) depends on the shape only, so that any number of
// threads computes the same bits.
//
// A plan sets the globals below (offsets in bytes from the start of the region they describe).
// Globals, not objects: the module runs without a garbage-collected runtime, and each instance
// (one per thread) has its own.
import { align64, ceilDiv } from './util';

/** Depth of one B panel in the forward: at most 576 * 8 * 4 B = 18 KiB, within L1. */
export const KC: i32 = 576;
/** Output positions per chunk in the weight gradient. */
export const PC: i32 = 256;
/** Bytes of B panels a direct item may keep packed at once (within L2): when its weights outweigh
 *  its columns (many output channels, small maps), the item packs all its B panels of a chunk of
 *  the reduction and runs each A panel over them, so the weights stream once instead of once per
 *  column panel. */
export const B_RESIDENT_BYTES: i32 = 160 << 10;
/** Columns one forward GEMM should span at least: small maps are batched across images up to this. */
export const NB_COLS: i32 = 512;
/** Slack after the padded copies: the stride-2 gather reads one vector past its last tap. */
const SLACK: i32 = 64;
/** Items per thread a pass aims for when it runs on several: the threads take items as they
 *  finish the last one, so a few per thread even out items of unequal cost and a thread slowed by
 *  other work on the machine. */
const ITEMS_PER_THREAD: i32 = 8;
/** Fewest 4-row panels of output channels in a forward item: the item packs each B panel once
 *  and runs it against its panels, so fewer would repeat the packing too often. */
const MIN_PANELS: i32 = 4;
/** Positions the weight gradient sums into one partial result (chunks of PC, in order); the
 *  partial results are then added in order. Fixed by the shape alone: the same bits on any
 *  number of threads. */
const REDUCE_POSITIONS: i32 = 2048;
/** At most this many bytes of partial weight gradients: larger reductions take longer chunks. */
const PARTIAL_BYTES: i32 = 64 << 20;

/** Images per block: enough that a block's columns (images * np) reach `target`, at most n. */
// @ts-ignore: decorator
@inline export function imagesPerBlock(n: i32, np: i32, target: i32): i32 {
  return max(1, min(n, target / max(1, np)));
}

/** Bytes of the zero-bordered copies of nb images' inputs (cg planes each), plus slack. */
// @ts-ignore: decorator
@inline export function paddedBlockBytes(nb: i32, cg: i32, h: i32, w: i32, ph: i32, pw: i32): i32 {
  return align64(nb * cg * (h + 2 * ph) * (w + 2 * pw) * 4 + SLACK);
}

/** Bytes of weights packed in 4-row panels: `groups` groups of `rows` rows by `depth`. */
// @ts-ignore: decorator
@inline export function packedRowsBytes(groups: i32, rows: i32, depth: i32): i32 {
  return align64(groups * ceilDiv(rows, 4) * depth * 16);
}

/** The number of items a pass aims for on `threads` threads; one thread runs a pass as one item
 *  (or as few as the pass's structure allows), exactly the serial loop. */
// @ts-ignore: decorator
@inline export function itemTarget(threads: i32): i32 {
  return threads <= 1 ? 1 : threads * ITEMS_PER_THREAD;
}

/** Into how many pieces to cut `units` so that `base` * pieces reaches `target` (1 .. units). */
// @ts-ignore: decorator
@inline export function pieces(units: i32, base: i32, target: i32): i32 {
  return max(1, min(units, ceilDiv(target, max(1, base))));
}

/** End of piece i of `total` units cut into pieces of `size` (it starts at i * size). */
// @ts-ignore: decorator
@inline export function pieceEnd(i: i32, size: i32, total: i32): i32 {
  return min(total, (i + 1) * size);
}

// ---- item grids over (image block, group, chunk, sub-chunk) ----
// Items are numbered block by block, group by group, chunk by chunk, sub-chunk fastest; the last
// image block may hold fewer images, so fewer chunks.
export let itBlock: i32 = 0;
export let itGroup: i32 = 0;
export let itChunk: i32 = 0;
export let itSub: i32 = 0;

export function gridItems(blocks: i32, groups: i32, chunks: i32, chunksLast: i32, subs: i32): i32 {
  if (blocks <= 0) return 0;
  return ((blocks - 1) * chunks + chunksLast) * groups * subs;
}

/** Sets itBlock, itGroup, itChunk and itSub for `item` of such a grid. */
export function decodeItem(item: i32, blocks: i32, groups: i32, chunks: i32, chunksLast: i32, subs: i32): void {
  const perFull = groups * chunks * subs;
  let rest = item;
  let cn = chunks;
  if (item >= (blocks - 1) * perFull) {
    itBlock = blocks - 1;
    rest = item - (blocks - 1) * perFull;
    cn = chunksLast;
  } else {
    itBlock = item / perFull;
    rest = item - itBlock * perFull;
  }
  itGroup = rest / (cn * subs);
  rest -= itGroup * cn * subs;
  itChunk = rest / subs;
  itSub = rest - itChunk * subs;
}

// ---- the direct GEMM driver (forward, and the stride-1 input gradient) ----
// Items: (image block, group, chunk of columns, chunk of 4-row panels of output channels).
// Per thread: [padded inputs of a block of images][B panels][4x8 tile][column bases][tap offsets]
// [output of the item's rows and columns, when the block holds more than one image]
export let dirNb: i32 = 0;       // images per block
export let dirBlocks: i32 = 0;
export let dirQc: i32 = 0;       // columns per chunk (a multiple of 8)
export let dirQn: i32 = 0;       // column chunks of a full block
export let dirQnLast: i32 = 0;   // ... and of the last block
export let dirMc: i32 = 0;       // panels per chunk
export let dirMn: i32 = 0;       // panel chunks
export let dirItems: i32 = 0;
export let directBPanel: i32 = 0;
export let directTile: i32 = 0;
export let directBases: i32 = 0;
export let directTable: i32 = 0;
export let directCTemp: i32 = 0;
export let directBytes: i32 = 0; // per thread

/** Layout and items of a direct convolution of n images of c x h x w into k channels of np positions. */
export function planDirect(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, ph: i32, pw: i32, groups: i32, np: i32,
  threads: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const mt = ceilDiv(kg, 4);
  const nb = imagesPerBlock(n, np, NB_COLS);
  const blocks = n > 0 && np > 0 && kg > 0 ? ceilDiv(n, nb) : 0;
  const target = itemTarget(threads);
  // Cutting the columns makes each piece read all the group's weights again; cutting the output
  // channels makes each piece gather (pack) the columns again, which costs more per byte. So the
  // columns are cut first, unless the weights are several times larger than the columns (many
  // channels, small maps).
  const panels = ceilDiv(nb * np, 8);
  const weightsFirst = kg * kd > 4 * nb * np * kd;
  // Each output-channel cut packs the same columns again: cut the weights into fewer, larger
  // pieces (two per thread) when they are cut first, and leave the columns whole, so that the
  // weights (megabytes, from beyond L2) stream once: cutting the columns too made each column
  // piece stream them again.
  let qn = weightsFirst ? 1 : pieces(panels, blocks * groups, target);
  let mn = pieces(ceilDiv(mt, MIN_PANELS), blocks * groups * qn, weightsFirst ? 2 * max(1, threads) : target);
  const qc = max(8, ceilDiv(panels, qn) * 8);
  qn = ceilDiv(nb * np, qc);
  const mc = max(1, ceilDiv(mt, mn));
  mn = ceilDiv(mt, mc);
  dirNb = nb;
  dirBlocks = blocks;
  dirQc = qc;
  dirQn = qn;
  dirQnLast = ceilDiv((n - (blocks - 1) * nb) * np, qc);
  dirMc = mc;
  dirMn = mn;
  dirItems = gridItems(blocks, groups, qn, dirQnLast, mn);
  directBPanel = paddedBlockBytes(nb, cg, h, w, ph, pw);
  directTile = directBPanel + max(KC * 32, B_RESIDENT_BYTES);
  directBases = directTile + 128;
  directTable = directBases + 64;
  directCTemp = directTable + align64(kd * 4);
  directBytes = directCTemp + (nb > 1 ? align64(min(kg, mc * 4) * qc * 4) : 0);
}

// ---- the strided input gradient (GEMM then col2im) ----
// Items: (image block, group, chunk of input channels: a multiple of 4, so that its rows of the
// packed W^T start on a panel). Shared: [packed W^T]. Per thread: [padded dx of a block of images,
// the chunk's channels][B panel of dY][tile][column bases][dY sources][tap offsets]
export let colNb: i32 = 0;
export let colBlocks: i32 = 0;
export let colCc: i32 = 0;       // channels per chunk
export let colCn: i32 = 0;       // chunks
export let colItems: i32 = 0;
export let colShared: i32 = 0;   // bytes of packed W^T
export let colBPanel: i32 = 0;
export let colTile: i32 = 0;
export let colBases: i32 = 0;
export let colSrcs: i32 = 0;
export let colTable: i32 = 0;
export let colBytes: i32 = 0;    // per thread

export function planCol2im(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, ph: i32, pw: i32, groups: i32, np: i32,
  threads: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const nb = imagesPerBlock(n, np, NB_COLS);
  const blocks = n > 0 && np > 0 && cg > 0 ? ceilDiv(n, nb) : 0;
  const quads = ceilDiv(cg, 4);
  let cn = pieces(quads, blocks * groups, itemTarget(threads));
  const cc = min(cg, ceilDiv(quads, cn) * 4);
  cn = cc > 0 ? ceilDiv(cg, cc) : 0;
  colNb = nb;
  colBlocks = blocks;
  colCc = cc;
  colCn = cn;
  colItems = blocks * groups * cn;
  colShared = packedRowsBytes(groups, kd, kg);
  colBPanel = paddedBlockBytes(nb, cc, h, w, ph, pw);
  colTile = colBPanel + align64(kg * 32);
  colBases = colTile + 128;
  colSrcs = colBases + 64;
  colTable = colSrcs + 64;
  colBytes = colTable + align64(cc * kh * kw * 4);
}

// ---- the weight gradient ----
// The positions (all images') are taken in chunks of PC, in order; REDUCE_POSITIONS of them (or
// more, see PARTIAL_BYTES) sum into one partial dW, and the partial results are added in order.
// Phases: [the A operand (dY rows) of every chunk packed once, when the items cut dW's columns and
// would otherwise each pack it again], the partial sums (items: partial, group, chunk of 8-column
// panels of dW; then the bias gradient's items, chunks of channels), [the partials added, when
// there are several].
// Shared: [packed A of every chunk and group][partials 1 .. parts - 1] (partial 0 is dW itself).
// Per thread: [padded inputs of a block of images][A: dY rows][B: col(X) transposed, the item's
// panels][tile][tap offsets]
export let wgNb: i32 = 0;
export let wgBlocks: i32 = 0;
export let wgCpb: i32 = 0;       // chunks of PC positions per full block
export let wgChunks: i32 = 0;    // in all
export let wgRch: i32 = 0;       // chunks per partial
export let wgParts: i32 = 0;     // partials
export let wgTc: i32 = 0;        // 8-column panels of dW per item
export let wgTn: i32 = 0;
export let wgDwItems: i32 = 0;
export let wgBiasCh: i32 = 0;    // channels per bias item
export let wgBiasItems: i32 = 0;
export let wgSharedA: bool = false;
export let wgPackItems: i32 = 0; // phase "pack A": items of wgPackLen (chunk, group) pairs
export let wgPackLen: i32 = 0;
export let wgABytes: i32 = 0;    // bytes of one chunk's packed A (one group)
export let wgSumLen: i32 = 0;    // floats of dW per sum item (a multiple of 16)
export let wgSumItems: i32 = 0;
export let wgPartBytes: i32 = 0; // bytes between partials
export let wgPartials: i32 = 0;  // offset of partial 1 in the shared region
export let wgShared: i32 = 0;
export let wgAPack: i32 = 0;
export let wgBPack: i32 = 0;
export let wgTile: i32 = 0;
export let wgTable: i32 = 0;
export let wgBytes: i32 = 0;     // per thread

export function planWeightGrad(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, ph: i32, pw: i32, groups: i32, np: i32,
  threads: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  const nt = ceilDiv(kd, 8);
  const target = itemTarget(threads);
  const nb = imagesPerBlock(n, np, PC);
  const blocks = n > 0 && np > 0 ? ceilDiv(n, nb) : 0;
  const cpb = ceilDiv(nb * np, PC);
  const chunks = blocks > 0 ? (blocks - 1) * cpb + ceilDiv((n - (blocks - 1) * nb) * np, PC) : 0;
  const dwBytes = align64(k * kd * 4);
  // Chunks per partial: from the shape alone (never from `threads`).
  const rch = max(REDUCE_POSITIONS / PC, ceilDiv(chunks, max(1, PARTIAL_BYTES / max(64, dwBytes))));
  // At least one partial, which with no positions (an empty batch) just zeroes dW.
  const parts = kd > 0 && kg > 0 ? max(1, ceilDiv(chunks, rch)) : 0;
  let tn = pieces(nt, parts * groups, target);
  const tc = max(1, ceilDiv(nt, tn));
  tn = ceilDiv(nt, tc);
  wgNb = nb;
  wgBlocks = blocks;
  wgCpb = cpb;
  wgChunks = chunks;
  wgRch = rch;
  wgParts = parts;
  wgTc = tc;
  wgTn = tn;
  wgDwItems = parts * groups * tn;
  const bn = pieces(ceilDiv(k, 16), 1, target);
  wgBiasCh = ceilDiv(k, bn);
  wgBiasItems = k > 0 ? ceilDiv(k, wgBiasCh) : 0;
  wgSharedA = tn > 1 && chunks > 0;
  wgABytes = align64(ceilDiv(kg, 4) * PC * 16);
  const pairs = chunks * groups;
  wgPackLen = ceilDiv(pairs, pieces(pairs, 1, target));
  wgPackItems = wgSharedA ? ceilDiv(pairs, wgPackLen) : 0;
  const len = k * kd;
  const sn = pieces(ceilDiv(len, 4096), 1, target);
  wgSumLen = ceilDiv(ceilDiv(len, sn), 16) * 16;
  wgSumItems = parts > 1 && len > 0 ? ceilDiv(len, wgSumLen) : 0;
  wgPartBytes = dwBytes;
  wgPartials = wgSharedA ? pairs * wgABytes : 0;
  wgShared = wgPartials + (parts > 1 ? (parts - 1) * dwBytes : 0);
  wgAPack = paddedBlockBytes(nb, cg, h, w, ph, pw);
  wgBPack = wgAPack + (wgSharedA ? 0 : wgABytes);
  wgTile = wgBPack + align64(tc * PC * 32);
  wgTable = wgTile + 128;
  wgBytes = wgTable + align64(kd * 4);
}
