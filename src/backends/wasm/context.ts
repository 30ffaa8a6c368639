// What the per-op glue files need from the WASM backend: the kernels, a buffer's address, scratch
// space for a call, and an int32 view of memory.
import type { Buf } from '../../backend.js';
import type { KernelExports } from './exports.js';

export interface WasmContext {
  readonly kernels: KernelExports;
  /** Byte offset of a live buffer of this backend (a clear Error for anything else). */
  ptr(buf: Buf): number;
  /** ptr(buf), or 0 (the kernels' "none") for null. */
  ptrOrNull(buf: Buf | null): number;
  /** Runs `body` with `bytes` of scratch (not zeroed: every kernel initializes what it reads), then
   *  returns the scratch to the pool, whether `body` returned or threw. */
  withScratch<T>(bytes: number, body: (ptr: number) => T): T;
  /** An Int32Array over the whole memory, current after any growth. */
  heapI32(): Int32Array;
}
