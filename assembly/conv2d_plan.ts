// Workspace layouts of the convolution passes, each written once: the *_workspace exports return
// a plan's total and the drivers read its offsets, so the two can never disagree.
//
// A plan sets the globals below (offsets in bytes from the start of the region it describes).
// Globals, not objects: the module runs without a garbage-collected runtime, and each instance
// (one per thread, later) has its own.
import { align64, ceilDiv } from './util';

/** Depth of one B panel in the forward: at most 576 * 8 * 4 B = 18 KiB, within L1. */
export const KC: i32 = 576;
/** Output positions per chunk in the weight gradient. */
export const PC: i32 = 256;
/** Columns one forward GEMM should span at least: small maps are batched across images up to this. */
export const NB_COLS: i32 = 512;
/** Slack after the padded copies: the stride-2 gather reads one vector past its last tap. */
const SLACK: i32 = 64;

/** Images per block: enough that a block's columns (images * np) reach `target`, at most n. */
// @ts-ignore: decorator
@inline export function imagesPerBlock(n: i32, np: i32, target: i32): i32 {
  return max(1, min(n, target / np));
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

// ---- the direct GEMM driver (forward, and the stride-1 input gradient) ----
// [padded inputs of a block of images][B panel][4x8 tile][column bases][tap offsets]
// [output of a block of images, when the block holds more than one]
export let directBPanel: i32 = 0;
export let directTile: i32 = 0;
export let directBases: i32 = 0;
export let directTable: i32 = 0;
export let directCTemp: i32 = 0;
export let directBytes: i32 = 0;

/** Layout for a direct convolution of n images of c x h x w into k channels of np positions. */
export function planDirect(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, ph: i32, pw: i32, groups: i32, np: i32): void {
  const cg = c / groups;
  const nb = imagesPerBlock(n, np, NB_COLS);
  directBPanel = paddedBlockBytes(nb, cg, h, w, ph, pw);
  directTile = directBPanel + KC * 32;
  directBases = directTile + 128;
  directTable = directBases + 64;
  directCTemp = directTable + align64(cg * kh * kw * 4);
  directBytes = directCTemp + (nb > 1 ? align64((k / groups) * nb * np * 4) : 0);
}

// ---- the strided input gradient (GEMM then col2im) ----
// [packed W^T][padded dx of a block of images][B panel of dY][tile][column bases][dY sources][tap offsets]
export let colDxPad: i32 = 0;
export let colBPanel: i32 = 0;
export let colTile: i32 = 0;
export let colBases: i32 = 0;
export let colSrcs: i32 = 0;
export let colTable: i32 = 0;
export let colBytes: i32 = 0;

export function planCol2im(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, ph: i32, pw: i32, groups: i32, np: i32): void {
  const cg = c / groups;
  const kg = k / groups;
  const kd = cg * kh * kw;
  colDxPad = packedRowsBytes(groups, kd, kg);
  colBPanel = colDxPad + paddedBlockBytes(imagesPerBlock(n, np, NB_COLS), cg, h, w, ph, pw);
  colTile = colBPanel + align64(kg * 32);
  colBases = colTile + 128;
  colSrcs = colBases + 64;
  colTable = colSrcs + 64;
  colBytes = colTable + align64(kd * 4);
}

// ---- the weight gradient ----
// [padded inputs of a block of images][A: dY rows][B: col(X) transposed][tile][tap offsets]
export let wgAPack: i32 = 0;
export let wgBPack: i32 = 0;
export let wgTile: i32 = 0;
export let wgTable: i32 = 0;
export let wgBytes: i32 = 0;

export function planWeightGrad(n: i32, c: i32, h: i32, w: i32, k: i32, kh: i32, kw: i32, ph: i32, pw: i32, groups: i32, np: i32): void {
  const cg = c / groups;
  const kd = cg * kh * kw;
  wgAPack = paddedBlockBytes(imagesPerBlock(n, np, PC), cg, h, w, ph, pw);
  wgBPack = wgAPack + align64(ceilDiv(k / groups, 4) * PC * 16);
  wgTile = wgBPack + align64(ceilDiv(kd, 8) * PC * 32);
  wgTable = wgTile + 128;
  wgBytes = wgTable + align64(kd * 4);
}
