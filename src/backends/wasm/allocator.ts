// The allocator for tensors in WASM linear memory.
//
// A coalescing best-fit allocator over one heap that grows upward from the module's static data:
// - Blocks are multiples of 64 bytes (a cache line; it also keeps every v128 access aligned).
// - A freed block merges at once with a free neighbour on either side, so no two free blocks ever
//   touch, and a free block that reaches the top of the heap goes back to the bump pointer. Free
//   space of any origin serves a request of any size: a batch-128 forward, whose activations
//   change size from stage to stage, maps little more than its live peak (the size-class free lists
//   this replaces, which never merged, mapped about twice the peak).
// - A request takes the smallest free block that holds it (lowest address among equals) and
//   leaves the rest free; only when no free block is large enough does it come from the bump
//   pointer, and memory grows only when that passes the end.
// - Free blocks are found by address through two maps (start -> size, end -> start), which makes
//   merging O(1), and by size through segregated bins (16 per doubling, like TLSF) each kept sorted
//   by (size, address), with a bitmap of the non-empty bins: a search is a bitmap scan plus a
//   binary search in one bin. A training step does thousands of these.
// - `fresh`: a block lying wholly above every byte ever handed out was never written, so it is
//   still zero and the backend need not clear it (clearing would also make the OS map every page
//   of a large tensor up front). A block even partly below that mark is not fresh.
// wasm32 cannot address more than 4 GiB: a request beyond that fails here, with its size, instead
// of trapping later inside a kernel.
import { formatBytes } from '../../format.js';

const PAGE = 65536;
const ALIGN = 64; // cache line; also keeps every v128 access aligned
export const WASM32_MAX_BYTES = 4 * 1024 * 1024 * 1024;
const GROW_CAP = 64 * 1024 * 1024;

// Bins of free blocks by size in ALIGN units: one bin per size below 16 units, then 16 bins per
// doubling (each spans at most 1/16 of its sizes).
const SUB_LOG = 4;
const SUB = 1 << SUB_LOG;
const BINS = SUB + (32 - SUB_LOG) * SUB;
// A free block's key in its bin: size * KEY + start, both in ALIGN units (under 4 GiB the size is
// at most 2^26 and the start below it), so keys sort by size, then address, exactly in a double.
const KEY = 2 ** 26;

function binOf(units: number): number {
  if (units < SUB) return units;
  const fl = 31 - Math.clz32(units);
  return SUB + (fl - SUB_LOG) * SUB + ((units >>> (fl - SUB_LOG)) & (SUB - 1));
}

/** First index of `list` (ascending) whose value is >= `key`. */
function lowerBound(list: number[], key: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class WasmOutOfMemoryError extends RangeError {
  constructor(readonly requestedBytes: number, readonly inUseBytes: number, readonly reason: string) {
    super(`WASM memory exhausted: asked for ${formatBytes(requestedBytes)} (${requestedBytes} bytes) ` +
      `with ${formatBytes(inUseBytes)} already in use; ${reason}`);
    this.name = 'WasmOutOfMemoryError';
  }
}

/** Block size of a request, in bytes: rounded up to the 64-byte alignment. */
export function blockSize(bytes: number): number {
  return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
}

/** The allocator's layout, for tests and diagnostics. */
export interface HeapLayout {
  /** first byte of the heap */
  base: number;
  /** the bump pointer: everything in [base, top) is a live or a free block */
  top: number;
  /** end of the highest block ever handed out: memory above it was never written */
  highWater: number;
  /** free blocks, by address */
  free: { ptr: number; size: number }[];
}

export class Allocator {
  private readonly base: number;
  private top: number;
  private highWater: number;
  private readonly freeBySize: number[][] = Array.from({ length: BINS }, () => []);
  private readonly nonEmpty = new Int32Array(Math.ceil(BINS / 32));
  private readonly freeByStart = new Map<number, number>(); // start -> size
  private readonly freeByEnd = new Map<number, number>(); // end -> start
  private live = 0;
  private peakLive = 0;

  constructor(private readonly memory: WebAssembly.Memory, heapBase: number, private readonly maxBytes = WASM32_MAX_BYTES) {
    if (!(maxBytes <= WASM32_MAX_BYTES)) throw new RangeError(`Allocator: maxBytes ${maxBytes} exceeds what wasm32 addresses`);
    this.base = this.top = this.highWater = Math.ceil(heapBase / ALIGN) * ALIGN;
  }

  /** Returns the byte offset of a block of at least `bytes` bytes and the block's size (to pass
   *  back to free). `fresh` blocks lie above every byte handed out before: still zero. */
  alloc(bytes: number): { ptr: number; size: number; fresh: boolean } {
    if (!(bytes >= 0)) throw new RangeError(`Allocator.alloc: bytes must be >= 0, got ${bytes}`);
    const size = blockSize(bytes);
    if (size > this.maxBytes) {
      // Checked first: the bins and keys below assume blocks under 4 GiB.
      throw new WasmOutOfMemoryError(bytes, this.live, `wasm32 addresses at most ${formatBytes(this.maxBytes)}`);
    }
    let ptr = this.takeFree(size / ALIGN);
    let fresh = false;
    if (ptr < 0) {
      const end = this.top + size;
      if (end > this.maxBytes) {
        throw new WasmOutOfMemoryError(bytes, this.live,
          `wasm32 addresses at most ${formatBytes(this.maxBytes)} and the heap already reaches ${formatBytes(this.top)} ` +
          `(largest free block below it: ${formatBytes(this.largestFree())})`);
      }
      this.ensure(end, bytes);
      ptr = this.top;
      this.top = end;
      fresh = ptr >= this.highWater;
      if (end > this.highWater) this.highWater = end;
    }
    this.live += size;
    if (this.live > this.peakLive) this.peakLive = this.live;
    return { ptr, size, fresh };
  }

  /** Gives back a block: `size` is what alloc returned with it. */
  free(ptr: number, size: number): void {
    if (ptr < this.base || ptr + size > this.top || ptr % ALIGN !== 0 || size % ALIGN !== 0 || size <= 0 ||
        this.freeByStart.has(ptr)) {
      throw new Error(`Allocator.free: [${ptr}, ${ptr + size}) is not a live block`);
    }
    this.live -= size;
    let start = ptr;
    let end = ptr + size;
    const before = this.freeByEnd.get(start);
    if (before !== undefined) {
      this.removeFree(before, start - before);
      start = before;
    }
    const after = this.freeByStart.get(end);
    if (after !== undefined) {
      this.removeFree(end, after);
      end += after;
    }
    if (end === this.top) this.top = start; // the top of the heap returns to the bump pointer
    else this.insertFree(start, end - start);
  }

  /** Bytes in live blocks. */
  liveBytes(): number { return this.live; }
  /** Highest liveBytes() seen since creation or the last resetPeakLiveBytes(). */
  peakLiveBytes(): number { return this.peakLive; }
  /** Starts a new high-water mark at the current liveBytes(), so the peak of one call (a forward,
   *  a training step) can be read afterwards; returns the peak that was replaced. */
  resetPeakLiveBytes(): number {
    const old = this.peakLive;
    this.peakLive = this.live;
    return old;
  }
  /** Size of the linear memory (what the process actually holds). */
  memoryBytes(): number { return this.memory.buffer.byteLength; }

  /** The heap's current layout (a copy; O(free blocks)). */
  layout(): HeapLayout {
    const free = [...this.freeByStart].map(([ptr, size]) => ({ ptr, size })).sort((a, b) => a.ptr - b.ptr);
    return { base: this.base, top: this.top, highWater: this.highWater, free };
  }

  // ---- free blocks ----

  /** Removes the best-fitting free block for `units` and returns its start, or -1 if none holds
   *  it. The rest of a larger block stays free. */
  private takeFree(units: number): number {
    let bin = binOf(units);
    let list = this.freeBySize[bin];
    let i = list.length > 0 ? lowerBound(list, units * KEY) : 0;
    if (i >= list.length) {
      // Nothing in the request's own bin holds it: every block of the next non-empty bin does,
      // and its first is the smallest.
      bin = this.nextBin(bin + 1);
      if (bin < 0) return -1;
      list = this.freeBySize[bin];
      i = 0;
    }
    const key = list[i];
    const blockUnits = Math.floor(key / KEY);
    const ptr = (key - blockUnits * KEY) * ALIGN;
    this.removeFree(ptr, blockUnits * ALIGN, bin, i);
    if (blockUnits > units) this.insertFree(ptr + units * ALIGN, (blockUnits - units) * ALIGN);
    return ptr;
  }

  private insertFree(ptr: number, size: number): void {
    const units = size / ALIGN;
    const key = units * KEY + ptr / ALIGN;
    const bin = binOf(units);
    const list = this.freeBySize[bin];
    if (list.length === 0 || key > list[list.length - 1]) list.push(key);
    else list.splice(lowerBound(list, key), 0, key);
    this.nonEmpty[bin >>> 5] |= 1 << (bin & 31);
    this.freeByStart.set(ptr, size);
    this.freeByEnd.set(ptr + size, ptr);
  }

  private removeFree(ptr: number, size: number, bin = binOf(size / ALIGN), index = -1): void {
    const list = this.freeBySize[bin];
    const i = index >= 0 ? index : lowerBound(list, (size / ALIGN) * KEY + ptr / ALIGN);
    if (i === list.length - 1) list.pop();
    else list.splice(i, 1);
    if (list.length === 0) this.nonEmpty[bin >>> 5] &= ~(1 << (bin & 31));
    this.freeByStart.delete(ptr);
    this.freeByEnd.delete(ptr + size);
  }

  /** The first non-empty bin at or after `from`, or -1. */
  private nextBin(from: number): number {
    let word = from >>> 5;
    if (word >= this.nonEmpty.length) return -1;
    let bits = this.nonEmpty[word] & (-1 << (from & 31));
    while (bits === 0) {
      if (++word >= this.nonEmpty.length) return -1;
      bits = this.nonEmpty[word];
    }
    return (word << 5) + 31 - Math.clz32(bits & -bits);
  }

  private largestFree(): number {
    for (let word = this.nonEmpty.length - 1; word >= 0; word--) {
      const bits = this.nonEmpty[word];
      if (bits === 0) continue;
      const list = this.freeBySize[(word << 5) + 31 - Math.clz32(bits)];
      return Math.floor(list[list.length - 1] / KEY) * ALIGN;
    }
    return 0;
  }

  private ensure(end: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow by what is needed or, when more, by an eighth of what is mapped (capped at 64 MiB): a
    // growing model grows a few dozen times, not page by page (a grow costs about a millisecond
    // here), and what is mapped past the heap's end stays below 1/8 and below 64 MiB.
    const minPages = Math.ceil((end - have) / PAGE);
    const maxPages = Math.floor(this.maxBytes / PAGE) - have / PAGE;
    const pages = Math.max(minPages, Math.min(maxPages, Math.ceil(Math.min(have / 8, GROW_CAP) / PAGE)));
    try {
      this.memory.grow(pages);
    } catch (e) {
      try {
        this.memory.grow(minPages); // the generous step may be what the engine refused
      } catch {
        throw new WasmOutOfMemoryError(requested, this.live,
          `the engine refused to grow memory from ${formatBytes(have)} by ${formatBytes(minPages * PAGE)} (${(e as Error).message})`);
      }
    }
  }
}
