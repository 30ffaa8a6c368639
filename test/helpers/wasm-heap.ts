// WASM backends whose allocator tests can see, and a "dry" one that allocates exactly like the real
// backend but computes nothing.
//
// Why a dry backend: the memory a model needs is decided by the sequence of alloc/free calls the
// ops and the backend make, not by the numbers computed. An A0 forward at 224x224, batch 128, takes
// 13+ s with the kernels; with them replaced by no-ops (and with reused blocks not cleared, which
// would only touch pages) the same sequence reaches the same real WasmBackend and Allocator in
// about 0.1 s, and memoryBytes() is the real linear memory's size. Only compute is skipped: the
// workspace-size exports, which set the size of every conv scratch block, are the real ones. A test
// checks that the dry and the real backend make identical allocator calls.
import type { Allocator } from '../../src/backends/wasm/allocator.js';
import type { KernelExports } from '../../src/backends/wasm/exports.js';
import { WasmBackend } from '../../src/backends/wasm/index.js';
import { instantiateKernels } from '../../src/backends/wasm/load.js';

/** The wasm-simd backend with its allocator exposed. */
export class InspectableWasmBackend extends WasmBackend {
  get heap(): Allocator { return this.allocator; }
}

/** Same allocations as the real backend; kernels are no-ops and reused blocks are not cleared. */
export class DryWasmBackend extends InspectableWasmBackend {
  protected override zero(): void {}
}

/** A real backend on its own instance (its own linear memory). */
export async function inspectableWasmBackend(): Promise<InspectableWasmBackend> {
  return new InspectableWasmBackend(await instantiateKernels());
}

/** A dry backend on its own instance: the module's memory, heap base and workspace sizes; every
 *  other export does nothing (and returns 0, e.g. the loss). */
export async function dryWasmBackend(): Promise<DryWasmBackend> {
  const real = await instantiateKernels();
  const stub: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(real)) {
    const keep = typeof value !== 'function' || name === 'heap_base' || name.endsWith('_workspace');
    stub[name] = keep ? value : () => 0;
  }
  return new DryWasmBackend(stub as unknown as KernelExports);
}

/**
 * Records the allocator calls of `b` from now on, into the returned array: alloc(bytes) as
 * `bytes`, free as `-(i + 1)` where i counts the allocs recorded (so a trace names which block is
 * freed, independently of addresses, and can be replayed on another allocator).
 */
export function recordAllocations(b: InspectableWasmBackend): number[] {
  const trace: number[] = [];
  const heap = b.heap;
  const alloc = heap.alloc.bind(heap);
  const free = heap.free.bind(heap);
  const index = new Map<number, number>(); // ptr -> alloc number, for live blocks
  let count = 0;
  heap.alloc = (bytes: number) => {
    const r = alloc(bytes);
    index.set(r.ptr, count++);
    trace.push(bytes);
    return r;
  };
  heap.free = (ptr: number, size: number) => {
    trace.push(-1 - index.get(ptr)!);
    index.delete(ptr);
    free(ptr, size);
  };
  return trace;
}
