// What the per-op glue files need from the WASM backend: the kernels, a buffer's address, scratch
// space for a call, an int32 view of memory, and the threads to run a call's work on.
import type { Buf } from '../../backend.js';
import type { KernelExportName, KernelExports } from './exports.js';

export interface WasmContext {
  readonly kernels: KernelExports;
  /** Threads the kernels run on (1: this one only). */
  readonly threads: number;
  /** Byte offset of a live buffer of this backend (a clear Error for anything else). */
  ptr(buf: Buf): number;
  /** ptr(buf), or 0 (the kernels' "none") for null. */
  ptrOrNull(buf: Buf | null): number;
  /** Runs `body` with `bytes` of scratch (not zeroed: every kernel initializes what it reads), then
   *  returns the scratch to the pool, whether `body` returned or threw. */
  withScratch<T>(bytes: number, body: (ptr: number) => T): T;
  /** An Int32Array over the whole memory, current after any growth. */
  heapI32(): Int32Array;
  /** Runs the phases of a kernel cut into work items (the *_range exports of assembly/conv2d.ts):
   *  items(phase) says how many items phase `phase` has (0: there is no such phase); each call gets
   *  `args`, then (threads, phase, thread, i0, i1). Items run on every thread, phase after phase. */
  runPhases(name: KernelExportName, args: readonly number[], items: (phase: number) => number): void;
  /** Calls export `name` once per argument list, the calls spread over the threads. */
  runCalls(name: KernelExportName, calls: readonly (readonly number[])[]): void;
}
