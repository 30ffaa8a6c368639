// The WASM SIMD backend: buffers live in the kernel module's linear memory and every method is one
// call into assembly/ with pointers and sizes. Scratch space (packed panels for the convolutions,
// labels for the loss) comes from the same pool and goes back to it after the call.
import type { AdamWOptions, Backend, Buf, Conv2dShape, Pool2dShape, SgdOptions } from '../../backend.js';
import { Allocator } from './allocator.js';
import type { KernelExports } from './exports.js';
import { instantiateKernels, type WasmSource } from './load.js';

export type { WasmSource } from './load.js';
export { wasmSimdSupported } from './load.js';
export { WasmOutOfMemoryError } from './allocator.js';

/** A buffer in WASM memory: `ptr` is a byte offset, `size` the allocator's block size. */
export class WasmBuf implements Buf {
  freed = false;
  constructor(readonly ptr: number, readonly length: number, readonly size: number, readonly owner: WasmBackend) {}
}

const MAX_FLOATS = 2 ** 30;

function shapeArgs(s: Conv2dShape): number[] {
  return [s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow];
} // 4 GiB of float32: more cannot exist in wasm32

export class WasmBackend implements Backend {
  readonly name = 'wasm-simd' as const;
  protected readonly allocator: Allocator; // protected: tests inspect its layout and record its calls
  private f32 = new Float32Array(0);
  private i32 = new Int32Array(0);

  constructor(readonly kernels: KernelExports) {
    this.allocator = new Allocator(kernels.memory, kernels.heap_base());
  }

  // ---- memory ----
  alloc(length: number): WasmBuf {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc: length must be a non-negative integer, got ${length}`);
    if (length > MAX_FLOATS) throw new RangeError(`alloc: ${length} floats (${length * 4} bytes) exceed the 4 GiB wasm32 can address`);
    const { ptr, size, fresh } = this.allocator.alloc(Math.max(length, 1) * 4);
    // Reused blocks hold old values; fresh ones were never written (and touching them would make
    // the OS map every page of a large tensor up front).
    if (!fresh) this.zero(ptr, length);
    return new WasmBuf(ptr, length, size, this);
  }

  /** Clears `length` floats at byte offset `ptr` (a reused block, for alloc). Protected so the
   *  tests' kernel-less backend can skip it: clearing would only touch pages nobody reads. */
  protected zero(ptr: number, length: number): void {
    this.heapF32().fill(0, ptr >>> 2, (ptr >>> 2) + length);
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

  // ---- conv2d ----
  conv2dForward(s: Conv2dShape, x: Buf, w: Buf, bias: Buf | null, y: Buf): void {
    const k = this.kernels;
    const ws = this.scratchBytes(k.conv2d_forward_workspace(...shapeArgs(s)));
    try {
      k.conv2d_forward(this.p(x), this.p(w), bias ? this.p(bias) : 0, this.p(y), s.n, s.c, s.h, s.w, s.k,
        s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow, ws.ptr);
    } finally {
      this.free(ws);
    }
  }

  conv2dBackwardInput(s: Conv2dShape, dy: Buf, w: Buf, dx: Buf): void {
    const k = this.kernels;
    const ws = this.scratchBytes(k.conv2d_backward_input_workspace(...shapeArgs(s)));
    try {
      k.conv2d_backward_input(this.p(dy), this.p(w), this.p(dx), s.n, s.c, s.h, s.w, s.k,
        s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow, ws.ptr);
    } finally {
      this.free(ws);
    }
  }

  conv2dBackwardWeight(s: Conv2dShape, x: Buf, dy: Buf, dw: Buf, dbias: Buf | null): void {
    const k = this.kernels;
    const ws = this.scratchBytes(k.conv2d_backward_weight_workspace(...shapeArgs(s)));
    try {
      k.conv2d_backward_weight(this.p(x), this.p(dy), this.p(dw), dbias ? this.p(dbias) : 0, s.n, s.c, s.h, s.w, s.k,
        s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow, ws.ptr);
    } finally {
      this.free(ws);
    }
  }

  // ---- batch norm ----
  batchNormTrainForward(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf, runningMean: Buf, runningVar: Buf,
    momentum: number, eps: number, y: Buf, saveMean: Buf, saveInvStd: Buf): void {
    this.kernels.batchnorm_train_forward(this.p(x), this.p(gamma), this.p(beta), this.p(runningMean), this.p(runningVar),
      this.p(y), this.p(saveMean), this.p(saveInvStd), n, c, hw, momentum, eps);
  }

  batchNormEvalForward(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf, runningMean: Buf, runningVar: Buf,
    eps: number, y: Buf): void {
    this.kernels.batchnorm_eval_forward(this.p(x), this.p(gamma), this.p(beta), this.p(runningMean), this.p(runningVar),
      this.p(y), n, c, hw, eps);
  }

  batchNormBackward(n: number, c: number, hw: number, x: Buf, dy: Buf, gamma: Buf, saveMean: Buf, saveInvStd: Buf,
    dx: Buf, dgamma: Buf, dbeta: Buf): void {
    this.kernels.batchnorm_backward(this.p(x), this.p(dy), this.p(gamma), this.p(saveMean), this.p(saveInvStd),
      this.p(dx), this.p(dgamma), this.p(dbeta), n, c, hw);
  }

  // ---- element-wise ----
  relu(x: Buf, y: Buf): void { this.kernels.relu_forward(this.p(x), this.p(y), x.length); }
  reluBackward(x: Buf, dy: Buf, dx: Buf): void { this.kernels.relu_backward(this.p(x), this.p(dy), this.p(dx), x.length); }
  add(a: Buf, b: Buf, y: Buf): void { this.kernels.add_forward(this.p(a), this.p(b), this.p(y), a.length); }
  accumulate(dst: Buf, src: Buf): void { this.kernels.accumulate(this.p(dst), this.p(src), dst.length); }
  sigmoid(x: Buf, y: Buf): void { this.kernels.sigmoid_forward(this.p(x), this.p(y), x.length); }
  sigmoidBackward(y: Buf, dy: Buf, dx: Buf): void { this.kernels.sigmoid_backward(this.p(y), this.p(dy), this.p(dx), y.length); }
  channelScale(n: number, c: number, hw: number, x: Buf, s: Buf, y: Buf): void {
    this.kernels.channel_scale_forward(this.p(x), this.p(s), this.p(y), n, c, hw);
  }
  channelScaleBackward(n: number, c: number, hw: number, x: Buf, s: Buf, dy: Buf, dx: Buf, ds: Buf): void {
    this.kernels.channel_scale_backward(this.p(x), this.p(s), this.p(dy), this.p(dx), this.p(ds), n, c, hw);
  }

  // ---- pooling ----
  globalAvgPool(n: number, c: number, hw: number, x: Buf, y: Buf): void {
    this.kernels.global_avg_pool_forward(this.p(x), this.p(y), n * c, hw);
  }
  globalAvgPoolBackward(n: number, c: number, hw: number, dy: Buf, dx: Buf): void {
    this.kernels.global_avg_pool_backward(this.p(dy), this.p(dx), n * c, hw);
  }
  maxPool2dForward(s: Pool2dShape, x: Buf, y: Buf): void {
    this.kernels.max_pool2d_forward(this.p(x), this.p(y), s.n * s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow);
  }
  maxPool2dBackward(s: Pool2dShape, x: Buf, dy: Buf, dx: Buf): void {
    this.kernels.max_pool2d_backward(this.p(x), this.p(dy), this.p(dx), s.n * s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow);
  }

  // ---- linear ----
  linearForward(n: number, inF: number, outF: number, x: Buf, w: Buf, b: Buf | null, y: Buf): void {
    this.kernels.linear_forward(this.p(x), this.p(w), b ? this.p(b) : 0, this.p(y), n, inF, outF);
  }
  linearBackward(n: number, inF: number, outF: number, x: Buf, w: Buf, dy: Buf, dx: Buf | null, dw: Buf, db: Buf | null): void {
    this.kernels.linear_backward(this.p(x), this.p(w), this.p(dy), dx ? this.p(dx) : 0, this.p(dw), db ? this.p(db) : 0, n, inF, outF);
  }

  // ---- loss ----
  softmaxCrossEntropy(n: number, classes: number, logits: Buf, labels: Int32Array, smoothing: number, dlogits: Buf): number {
    const lab = this.alloc(n);
    try {
      const p = this.p(lab);
      this.heapI32().set(labels.subarray(0, n), p >>> 2);
      return this.kernels.softmax_cross_entropy(this.p(logits), p, this.p(dlogits), n, classes, smoothing);
    } finally {
      this.free(lab);
    }
  }

  // ---- optimizers ----
  sgdStep(param: Buf, grad: Buf, momentumBuf: Buf, o: SgdOptions): void {
    this.kernels.sgd_step(this.p(param), this.p(grad), this.p(momentumBuf), param.length, o.lr, o.momentum, o.weightDecay, o.nesterov ? 1 : 0);
  }
  adamwStep(param: Buf, grad: Buf, m: Buf, v: Buf, o: AdamWOptions): void {
    this.kernels.adamw_step(this.p(param), this.p(grad), this.p(m), this.p(v), param.length, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.step);
  }

  // ---- internals ----
  private own(buf: Buf, what: string): WasmBuf {
    if (!(buf instanceof WasmBuf) || buf.owner !== this) throw new Error(`${what}: the buffer does not belong to this wasm-simd backend`);
    if (buf.freed) throw new Error(`${what}: the buffer was already freed`);
    return buf;
  }

  private p(buf: Buf): number { return this.own(buf, 'kernel call').ptr; }

  /** Kernel workspace: like alloc, but not zeroed (every kernel initializes what it reads). */
  private scratchBytes(bytes: number): WasmBuf {
    const length = Math.ceil(bytes / 4);
    const { ptr, size } = this.allocator.alloc(Math.max(length, 1) * 4);
    return new WasmBuf(ptr, length, size, this);
  }

  private heapF32(): Float32Array {
    // Growing the memory detaches the old ArrayBuffer: rebuild the views when that happened.
    if (this.f32.buffer !== this.kernels.memory.buffer) {
      this.f32 = new Float32Array(this.kernels.memory.buffer);
      this.i32 = new Int32Array(this.kernels.memory.buffer);
    }
    return this.f32;
  }

  private heapI32(): Int32Array { this.heapF32(); return this.i32; }
}

export async function createWasmBackend(source?: WasmSource): Promise<WasmBackend> {
  return new WasmBackend(await instantiateKernels(source));
}
