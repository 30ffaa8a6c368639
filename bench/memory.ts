// Memory accounting for the benchmarks, on the wasm-simd backend's allocator counters.
//
// Choice: one backend per row (or per block shape), and the allocator's resettable high-water
// mark around every timed call. liveBytes() just before a call is what the call did not create
// (weights of both forms, the input); peakLiveBytes() - that, after resetPeakLiveBytes(), is the
// most the call itself held at once: activations plus the conv scratch (im2col panels), freed
// blocks not counted. A fresh instance's memoryBytes() would also count whatever free space the
// other form left in the heap, and would need one instance per form (weights built twice); the
// live high-water mark measures the form itself.
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { WASM32_MAX_BYTES } from '../src/backends/wasm/allocator.js';

export { WASM32_MAX_BYTES };

export class PeakTracker {
  /** bytes: the largest peak above the live bytes at the start of a call (plus `held`) */
  peak = 0;
  /** `held`: bytes the measured code allocated before the call and uses in it, counted as its own
   *  (an InferencePlan's two activation buffers, made with the plan). */
  constructor(private readonly wasm: WasmBackend, private readonly held = 0) {}

  /** `fn`, measured: every call updates `peak`. The counters cost two JS calls: nothing next to a forward. */
  wrap(fn: () => void): () => void {
    return () => {
      const base = this.wasm.liveBytes() - this.held;
      this.wasm.resetPeakLiveBytes();
      fn();
      this.peak = Math.max(this.peak, this.wasm.peakLiveBytes() - base);
    };
  }
}

/** Bytes a block of code leaves allocated (e.g. a model's weights). */
export function allocatedBy<T>(wasm: WasmBackend, build: () => T): { value: T; bytes: number } {
  const before = wasm.liveBytes();
  const value = build();
  return { value, bytes: wasm.liveBytes() - before };
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

export function mib(bytes: number): string {
  return bytes >= 100 * MiB ? (bytes / MiB).toFixed(0) : (bytes / MiB).toFixed(1);
}

export function gib(bytes: number): string {
  return (bytes / GiB).toFixed(2);
}
