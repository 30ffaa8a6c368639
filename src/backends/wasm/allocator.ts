// The allocator for tensors in WASM linear memory.
//
// Blocks are rounded up to size classes (64-byte steps up to 4 KiB, then 8 classes per doubling,
// so at most 12.5% slack) and freed blocks go to a free list per class. A training step allocates
// the same sizes every time, so after the first step every request is served from the free lists
// and memory stays flat. New blocks come from a bump pointer; memory grows only when it passes the
// end. wasm32 cannot address more than 4 GiB: a request beyond that fails here, with its size,
// instead of trapping later inside a kernel.

const PAGE = 65536;
const ALIGN = 64; // cache line; also keeps every v128 access aligned
export const WASM32_MAX_BYTES = 4 * 1024 * 1024 * 1024;

export class WasmOutOfMemoryError extends RangeError {
  constructor(readonly requestedBytes: number, readonly inUseBytes: number, readonly reason: string) {
    super(`WASM memory exhausted: asked for ${formatBytes(requestedBytes)} (${requestedBytes} bytes) ` +
      `with ${formatBytes(inUseBytes)} already in use; ${reason}`);
    this.name = 'WasmOutOfMemoryError';
  }
}

export function formatBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 * 1024 * 1024) return `${(b / 1024 / 1024).toFixed(1)} MiB`;
  return `${(b / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** Size class of a request, in bytes. */
export function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 4096) return b;
  const top = 2 ** Math.floor(Math.log2(b));
  const step = top / 8;
  return Math.ceil(b / step) * step;
}

export class Allocator {
  private top: number;
  private readonly freeLists = new Map<number, number[]>();
  private live = 0;
  private peakLive = 0;

  constructor(private readonly memory: WebAssembly.Memory, heapBase: number, private readonly maxBytes = WASM32_MAX_BYTES) {
    this.top = Math.ceil(heapBase / ALIGN) * ALIGN;
  }

  /** Returns the byte offset of a block of at least `bytes` bytes and its class size. `fresh`
   *  blocks come from past the bump pointer, memory nothing has written yet: still zero. */
  alloc(bytes: number): { ptr: number; size: number; fresh: boolean } {
    const size = sizeClass(bytes);
    const list = this.freeLists.get(size);
    let ptr = list && list.length > 0 ? list.pop()! : -1;
    const fresh = ptr < 0;
    if (fresh) {
      const end = this.top + size;
      if (end > this.maxBytes) {
        throw new WasmOutOfMemoryError(bytes, this.live,
          `wasm32 addresses at most ${formatBytes(this.maxBytes)} and ${formatBytes(this.top)} is already mapped`);
      }
      this.ensure(end, bytes);
      ptr = this.top;
      this.top = end;
    }
    this.live += size;
    this.peakLive = Math.max(this.peakLive, this.live);
    return { ptr, size, fresh };
  }

  free(ptr: number, size: number): void {
    let list = this.freeLists.get(size);
    if (!list) this.freeLists.set(size, (list = []));
    list.push(ptr);
    this.live -= size;
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

  private ensure(end: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    // Grow by at least a quarter of what is mapped, so a growing model does not grow page by page.
    const minPages = Math.ceil((end - have) / PAGE);
    const maxPages = this.maxBytes / PAGE - have / PAGE;
    const pages = Math.min(maxPages, Math.max(minPages, Math.ceil(have / 4 / PAGE)));
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
