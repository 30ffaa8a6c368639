// The WASM SIMD backend: buffers live in the kernel module's linear memory and every op is one
// call into assembly/ with pointers and sizes, through a glue file named like the op (conv2d.ts,
// relu.ts, ...). Scratch space (packed panels for the convolutions, labels for the loss) comes
// from the same pool and goes back to it after the call.
//
// Threads: with a worker pool (pool.ts), the memory is shared and the calls that are large enough
// run their work items on every thread (runPhases, runCalls); this thread keeps the allocator and
// takes its share of the items. Results are the same bits whatever the number of threads.
import type { AdamWOptions, Backend, Buf, ConvAlgorithm, Conv2dShape, Pool2dShape, SgdOptions } from '../../backend.js';
import { Allocator } from './allocator.js';
import type { WasmContext } from './context.js';
import type { KernelExports } from './exports.js';
import * as adamw from './adamw.js';
import * as addOp from './add.js';
import * as batchNorm from './batch_norm.js';
import * as channelScaleOp from './channel_scale.js';
import * as conv from './conv2d.js';
import * as gap from './global_avg_pool.js';
import * as linearOp from './linear.js';
import * as maxPool from './max_pool2d.js';
import * as reluOp from './relu.js';
import * as sgd from './sgd.js';
import * as sigmoidOp from './sigmoid.js';
import * as xent from './softmax_cross_entropy.js';
import { instantiateKernels, instantiateSharedKernels, isNode, type WasmSource } from './load.js';
import { MIN_FLOATS, splitUnits } from './split.js';
import type { KernelExportName } from './exports.js';
import type { PoolOptions, WorkerPool } from './pool.js';

export type { WasmSource } from './load.js';
export { relaxedSimdAvailable, relaxedSimdSupported, wasmSimdSupported } from './load.js';
export { WasmOutOfMemoryError } from './allocator.js';

/** A buffer in WASM memory: `ptr` is a byte offset, `size` the allocator's block size. */
export class WasmBuf implements Buf {
  freed = false;
  constructor(readonly ptr: number, readonly length: number, readonly size: number, readonly owner: WasmBackend) {}
}

/** 4 GiB of float32: more cannot exist in wasm32. */
const MAX_FLOATS = 2 ** 30;
/** REPVGG_POISON_EMPTY=1 in Node's environment (the test suite): allocEmpty fills with NaN. */
const POISON_EMPTY = typeof process !== 'undefined' && process.env?.REPVGG_POISON_EMPTY === '1';

/** How a backend runs: its worker pool (null: this thread only) and, when it runs fewer threads
 *  than were asked for, why. */
export interface Threading {
  pool: WorkerPool | null;
  reason: string | null;
}

// A backend dropped without dispose() ends its workers when it is collected.
const poolRegistry = new FinalizationRegistry<WorkerPool>((pool) => pool.dispose());

export class WasmBackend implements Backend, WasmContext {
  readonly name = 'wasm-simd' as const;
  protected readonly allocator: Allocator; // protected: tests inspect its layout and record its calls
  private f32 = new Float32Array(0);
  private i32 = new Int32Array(0);

  /** Which build runs: 'relaxed-simd' (fused multiply-add in the GEMMs) or 'simd'. */
  readonly isa: 'relaxed-simd' | 'simd';
  /** The worker threads (internal; the fault tests inject faults through it). */
  pool: WorkerPool | null;
  private reason: string | null;

  constructor(readonly kernels: KernelExports, threading: Threading = { pool: null, reason: null }) {
    this.isa = kernels.relaxed_simd() ? 'relaxed-simd' : 'simd';
    this.allocator = new Allocator(kernels.memory, kernels.heap_base());
    this.pool = threading.pool;
    this.reason = threading.reason;
    if (this.pool) poolRegistry.register(this, this.pool, this);
  }

  /** Threads the kernels really run on: this one and the pool's workers. */
  get threads(): number { return this.pool ? this.pool.workers + 1 : 1; }
  /** Why fewer threads run than were asked for (null when all of them do). */
  get threadsReason(): string | null { return this.reason; }

  /** Ends the worker threads; later calls run on this thread only. Tensors stay valid. */
  dispose(): void {
    if (!this.pool) return;
    poolRegistry.unregister(this);
    this.pool.dispose();
    this.pool = null;
    this.reason = 'the backend was disposed (its worker threads ended)';
  }

  // ---- memory ----
  alloc(length: number): WasmBuf {
    const { ptr, size, fresh } = this.reserve('alloc', length);
    // Reused blocks hold old values; fresh ones were never written (and touching them would make
    // the OS map every page of a large tensor up front).
    if (!fresh) this.zero(ptr, length);
    return new WasmBuf(ptr, length, size, this);
  }

  allocEmpty(length: number): WasmBuf {
    const { ptr, size } = this.reserve('allocEmpty', length);
    const buf = new WasmBuf(ptr, length, size, this);
    // The test suite fills such buffers with NaN, so that an op leaving any output unwritten fails.
    if (POISON_EMPTY) this.view(buf).fill(NaN);
    return buf;
  }

  /** A block for `length` floats from the allocator, the length checked first (`op` names the caller). */
  private reserve(op: string, length: number): { ptr: number; size: number; fresh: boolean } {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`${op}: length must be a non-negative integer, got ${length}`);
    if (length > MAX_FLOATS) throw new RangeError(`${op}: ${length} floats (${length * 4} bytes) exceed the 4 GiB wasm32 can address`);
    return this.allocator.alloc(Math.max(length, 1) * 4);
  }

  /** Clears `length` floats at byte offset `ptr` (a reused block, for alloc). Protected so the
   *  tests' kernel-less backend can skip it: clearing would only touch pages nobody reads. */
  protected zero(ptr: number, length: number): void {
    // Block sizes are multiples of 64 bytes: so are the pieces.
    this.runCalls('zero_fill', splitUnits(length * 4, this.threads, 4 * MIN_FLOATS, 64).map(([a, b]) => [ptr + a, b - a]));
  }

  free(buf: Buf): void {
    const b = this.own(buf, 'free');
    b.freed = true;
    this.allocator.free(b.ptr, b.size);
  }

  view(buf: Buf): Float32Array {
    const b = this.own(buf, 'view');
    return this.heapF32().subarray(b.ptr >>> 2, (b.ptr >>> 2) + b.length);
  }

  memoryBytes(): number { return this.allocator.memoryBytes(); }
  /** Bytes held by live buffers (not counting freed blocks kept for reuse). */
  liveBytes(): number { return this.allocator.liveBytes(); }
  /** Highest liveBytes() since the backend was created or resetPeakLiveBytes() was last called. */
  peakLiveBytes(): number { return this.allocator.peakLiveBytes(); }
  /** Restarts the high-water mark of peakLiveBytes() at the current liveBytes(), e.g. to measure
   *  one forward: reset, run, read peakLiveBytes(). Returns the peak it replaces. */
  resetPeakLiveBytes(): number { return this.allocator.resetPeakLiveBytes(); }

  // ---- ops: one line each, the glue is in the op's own file ----
  conv2d(s: Conv2dShape, x: Buf, w: Buf, bias: Buf | null, y: Buf, algorithm: ConvAlgorithm = 'direct'): void {
    conv.conv2d(this, s, x, w, bias, y, algorithm);
  }
  conv2dPackedBytes(s: Conv2dShape, algorithm: ConvAlgorithm): number { return conv.conv2dPackedBytes(this, s, algorithm); }
  conv2dPackWeight(s: Conv2dShape, algorithm: ConvAlgorithm, w: Buf, packed: Buf): void {
    conv.conv2dPackWeight(this, s, algorithm, w, packed);
  }
  conv2dPacked(s: Conv2dShape, algorithm: ConvAlgorithm, x: Buf, packed: Buf, bias: Buf | null, y: Buf, relu: boolean): void {
    conv.conv2dPacked(this, s, algorithm, x, packed, bias, y, relu);
  }
  conv2dBackwardInput(s: Conv2dShape, dy: Buf, w: Buf, dx: Buf, algorithm: ConvAlgorithm = 'direct'): void {
    conv.conv2dBackwardInput(this, s, dy, w, dx, algorithm);
  }
  conv2dBackwardWeight(s: Conv2dShape, x: Buf, dy: Buf, dw: Buf, dbias: Buf | null): void {
    conv.conv2dBackwardWeight(this, s, x, dy, dw, dbias);
  }
  batchNormTrain(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf, runningMean: Buf, runningVar: Buf,
    momentum: number, eps: number, y: Buf, saveMean: Buf, saveInvStd: Buf): void {
    batchNorm.batchNormTrain(this, n, c, hw, x, gamma, beta, runningMean, runningVar, momentum, eps, y, saveMean, saveInvStd);
  }
  batchNormEval(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf, runningMean: Buf, runningVar: Buf,
    eps: number, y: Buf): void {
    batchNorm.batchNormEval(this, n, c, hw, x, gamma, beta, runningMean, runningVar, eps, y);
  }
  batchNormBackward(n: number, c: number, hw: number, x: Buf, dy: Buf, gamma: Buf, saveMean: Buf, saveInvStd: Buf,
    dx: Buf, dgamma: Buf, dbeta: Buf): void {
    batchNorm.batchNormBackward(this, n, c, hw, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
  }
  relu(x: Buf, y: Buf): void { reluOp.relu(this, x, y); }
  reluBackward(x: Buf, dy: Buf, dx: Buf): void { reluOp.reluBackward(this, x, dy, dx); }
  add(a: Buf, b: Buf, y: Buf): void { addOp.add(this, a, b, y); }
  addInPlace(dst: Buf, src: Buf): void { addOp.addInPlace(this, dst, src); }
  sigmoid(x: Buf, y: Buf): void { sigmoidOp.sigmoid(this, x, y); }
  sigmoidBackward(y: Buf, dy: Buf, dx: Buf): void { sigmoidOp.sigmoidBackward(this, y, dy, dx); }
  channelScale(n: number, c: number, hw: number, x: Buf, s: Buf, y: Buf): void {
    channelScaleOp.channelScale(this, n, c, hw, x, s, y);
  }
  channelScaleBackward(n: number, c: number, hw: number, x: Buf, s: Buf, dy: Buf, dx: Buf, ds: Buf): void {
    channelScaleOp.channelScaleBackward(this, n, c, hw, x, s, dy, dx, ds);
  }
  globalAvgPool(n: number, c: number, hw: number, x: Buf, y: Buf): void { gap.globalAvgPool(this, n, c, hw, x, y); }
  globalAvgPoolBackward(n: number, c: number, hw: number, dy: Buf, dx: Buf): void {
    gap.globalAvgPoolBackward(this, n, c, hw, dy, dx);
  }
  maxPool2d(s: Pool2dShape, x: Buf, y: Buf): void { maxPool.maxPool2d(this, s, x, y); }
  maxPool2dBackward(s: Pool2dShape, x: Buf, dy: Buf, dx: Buf): void { maxPool.maxPool2dBackward(this, s, x, dy, dx); }
  linear(n: number, inF: number, outF: number, x: Buf, w: Buf, b: Buf | null, y: Buf): void {
    linearOp.linear(this, n, inF, outF, x, w, b, y);
  }
  linearBackward(n: number, inF: number, outF: number, x: Buf, w: Buf, dy: Buf, dx: Buf | null, dw: Buf, db: Buf | null): void {
    linearOp.linearBackward(this, n, inF, outF, x, w, dy, dx, dw, db);
  }
  softmaxCrossEntropy(n: number, classes: number, logits: Buf, labels: Int32Array, smoothing: number, dlogits: Buf): number {
    return xent.softmaxCrossEntropy(this, n, classes, logits, labels, smoothing, dlogits);
  }
  sgdStep(param: Buf, grad: Buf, momentumBuf: Buf, o: SgdOptions): void { sgd.sgdStep(this, param, grad, momentumBuf, o); }
  adamwStep(param: Buf, grad: Buf, m: Buf, v: Buf, o: AdamWOptions): void { adamw.adamwStep(this, param, grad, m, v, o); }

  // ---- WasmContext: what the glue files use ----
  ptr(buf: Buf): number { return this.own(buf, 'kernel call').ptr; }
  ptrOrNull(buf: Buf | null): number { return buf === null ? 0 : this.ptr(buf); }

  withScratch<T>(bytes: number, body: (ptr: number) => T): T {
    const { ptr, size } = this.allocator.alloc(Math.max(Math.ceil(bytes / 4), 1) * 4);
    try {
      return body(ptr);
    } finally {
      this.allocator.free(ptr, size);
    }
  }

  heapI32(): Int32Array { this.heapF32(); return this.i32; }

  runPhases(name: KernelExportName, args: readonly number[], items: (phase: number) => number): void {
    const fn = this.kernels[name] as unknown as (...a: number[]) => void;
    const threads = this.threads;
    for (let phase = 0; ; phase++) {
      const n = items(phase);
      if (n === 0) return;
      // One item: no other thread could help, run it here.
      if (this.pool === null || n === 1) fn(...args, threads, phase, 0, 0, n);
      else this.pool.runItems(name, [...args, threads, phase], n);
    }
  }

  runCalls(name: KernelExportName, calls: readonly (readonly number[])[]): void {
    if (this.pool !== null && calls.length > 1) {
      this.pool.runCalls(name, calls);
      return;
    }
    const fn = this.kernels[name] as unknown as (...a: number[]) => void;
    for (const args of calls) fn(...args);
  }

  // ---- internals ----
  private own(buf: Buf, what: string): WasmBuf {
    if (!(buf instanceof WasmBuf) || buf.owner !== this) throw new Error(`${what}: the buffer does not belong to this wasm-simd backend`);
    if (buf.freed) throw new Error(`${what}: the buffer was already freed`);
    return buf;
  }


  private heapF32(): Float32Array {
    // Growing the memory detaches the old ArrayBuffer: rebuild the views when that happened.
    if (this.f32.buffer !== this.kernels.memory.buffer) {
      this.f32 = new Float32Array(this.kernels.memory.buffer);
      this.i32 = new Int32Array(this.kernels.memory.buffer);
    }
    return this.f32;
  }

}

/** The largest pool: 63 workers and this thread. */
export const MAX_THREADS = 64;

/**
 * A wasm-simd backend on `threads` threads (default: the cores available): Node's worker_threads,
 * or in a browser, when the library runs in a Web Worker of a cross-origin isolated page, Web
 * Workers. Where threads cannot run (no SharedArrayBuffer, a page's main thread, a `source` that is
 * not a threads build, workers that fail to start) it runs on one, and `threadsReason` says why.
 */
export async function createWasmBackend(source?: WasmSource, relaxedSimd: boolean | 'auto' = 'auto', threads?: number,
  poolOptions: PoolOptions = {}): Promise<WasmBackend> {
  const asked = threads ?? await defaultThreads();
  if (!(Number.isInteger(asked) && asked >= 1)) throw new RangeError(`threads must be a whole number >= 1, got ${asked}`);
  if (asked === 1) return new WasmBackend(await instantiateKernels(source, relaxedSimd));
  let reason = whyNoThreads();
  if (reason === null) {
    const shared = await instantiateSharedKernels(source, relaxedSimd);
    if (typeof shared === 'string') {
      reason = shared;
    } else {
      const wanted = Math.min(asked, MAX_THREADS);
      // More threads than cores: a thread that polls for work takes a core from one that has some.
      const spin = wanted > await defaultThreads() ? { spinMicros: 0 } : {};
      try {
        const { WorkerPool } = await import('./pool.js');
        const spawner = isNode ? await (await import('./spawn-node.js')).nodeSpawner() : (await import('./spawn-web.js')).webSpawner();
        const pool = await WorkerPool.start(spawner, shared.module, shared.memory, shared.kernels, wanted - 1, { ...spin, ...poolOptions });
        return new WasmBackend(shared.kernels, { pool, reason: wanted < asked ? `at most ${MAX_THREADS} threads` : null });
      } catch (e) {
        return new WasmBackend(shared.kernels, { pool: null, reason: `the worker threads did not start: ${(e as Error).message}` });
      }
    }
  }
  return new WasmBackend(await instantiateKernels(source, relaxedSimd), { pool: null, reason });
}

/** The cores available: os.availableParallelism() in Node, navigator.hardwareConcurrency in browsers. */
export async function defaultThreads(): Promise<number> {
  if (isNode) {
    const { availableCores } = await import('./node-file.js');
    return availableCores();
  }
  const n = typeof navigator !== 'undefined' ? navigator.hardwareConcurrency : undefined;
  return typeof n === 'number' && n >= 1 ? n : 1;
}

/** Why this runtime cannot run the kernels on worker threads, or null when it can. */
function whyNoThreads(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    return typeof crossOriginIsolated !== 'undefined' && !crossOriginIsolated
      ? 'SharedArrayBuffer needs a cross-origin isolated page (COOP and COEP headers)'
      : 'this runtime has no SharedArrayBuffer';
  }
  if (isNode) return null;
  if (typeof crossOriginIsolated !== 'undefined' && !crossOriginIsolated) {
    return 'the page is not cross-origin isolated (COOP and COEP headers), so memory cannot be shared with Web Workers';
  }
  // A page's main thread may not block in Atomics.wait, which the synchronous API needs; a Web
  // Worker may, and starts the pool's workers as Web Workers of its own.
  if (typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'undefined') {
    return "a browser page's main thread cannot wait for other threads (Atomics.wait): threads need the library inside a Web Worker";
  }
  return typeof Worker === 'undefined' ? 'this worker cannot start workers of its own' : null;
}
