// The reference backend: plain TypeScript loops over Float32Arrays. It is the oracle in the tests
// and the fallback where WASM SIMD is missing. The kernels live in one module per op (each
// backward beside its forward; the file stems are the ops' names); this file owns the memory and wires the kernels to `Backend`.
import type { AdamWOptions, Backend, Buf, ConvAlgorithm, Conv2dShape, Pool2dShape, SgdOptions } from '../../backend.js';
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

/** Largest buffer `alloc` accepts, in float32 elements (4 GiB). */
export const MAX_ALLOC_LENGTH = 2 ** 30;

/** A buffer of the reference backend: a Float32Array, detached (null) once freed. */
export class RefBuf implements Buf {
  readonly length: number;
  /** @internal The storage; null after `free`. Use `backend.view(buf)`. */
  data: Float32Array | null;
  /** @internal */
  readonly owner: ReferenceBackend;
  constructor(data: Float32Array, owner: ReferenceBackend) {
    this.length = data.length;
    this.data = data;
    this.owner = owner;
  }
}

export class ReferenceBackend implements Backend {
  readonly name = 'reference' as const;
  readonly threads = 1;

  /** `threadsReason`: said when more threads were asked for than the one this backend runs. */
  constructor(readonly threadsReason: string | null = null) {}

  /** Nothing to end: the reference backend has no threads of its own. */
  dispose(): void {}

  /** Freed arrays by length, ready for reuse. */
  private readonly pool = new Map<number, Float32Array[]>();
  private liveFloats = 0;
  private pooledFloats = 0;

  // ---- memory ----

  alloc(length: number): Buf {
    if (!Number.isInteger(length) || length < 0 || length > MAX_ALLOC_LENGTH) {
      throw new Error(`reference backend: alloc(${String(length)}): length must be an integer in [0, 2^30]`);
    }
    const free = this.pool.get(length);
    let data = free?.pop();
    if (data) {
      data.fill(0);
      this.pooledFloats -= length;
    } else {
      data = new Float32Array(length);
    }
    this.liveFloats += length;
    return new RefBuf(data, this);
  }

  /** The reference backend clears every buffer: the same as alloc. */
  allocEmpty(length: number): Buf {
    return this.alloc(length);
  }

  free(buf: Buf): void {
    const data = this.arr(buf, 'free');
    (buf as RefBuf).data = null;
    this.liveFloats -= data.length;
    this.pooledFloats += data.length;
    const list = this.pool.get(data.length);
    if (list) list.push(data);
    else this.pool.set(data.length, [data]);
  }

  view(buf: Buf): Float32Array {
    return this.arr(buf, 'view');
  }

  memoryBytes(): number {
    return 4 * (this.liveFloats + this.pooledFloats);
  }

  /** Drops the pooled (freed) arrays so the garbage collector can reclaim them. */
  trim(): void {
    this.pool.clear();
    this.pooledFloats = 0;
  }

  /** The storage of a live buffer of this backend; a clear Error for anything else. */
  private arr(buf: Buf, where: string): Float32Array {
    if (!(buf instanceof RefBuf) || buf.owner !== this) {
      throw new Error(`reference backend: ${where}: buffer (length ${String(buf?.length)}) was not allocated by this backend`);
    }
    if (buf.data === null) {
      throw new Error(`reference backend: ${where}: buffer (length ${buf.length}) was already freed`);
    }
    return buf.data;
  }
  private opt(buf: Buf | null, where: string): Float32Array | null {
    return buf === null ? null : this.arr(buf, where);
  }

  // ---- conv2d ----

  conv2d(s: Conv2dShape, x: Buf, w: Buf, bias: Buf | null, y: Buf): void {
    const f = 'conv2d';
    conv.conv2d(s, this.arr(x, f), this.arr(w, f), this.opt(bias, f), this.arr(y, f));
  }
  conv2dPackedBytes(s: Conv2dShape, _algorithm: ConvAlgorithm): number {
    return 4 * s.k * (s.c / s.groups) * s.kh * s.kw;
  }
  conv2dPackWeight(_s: Conv2dShape, _algorithm: ConvAlgorithm, w: Buf, packed: Buf): void {
    conv.conv2dPackWeight(this.arr(w, 'conv2dPackWeight'), this.arr(packed, 'conv2dPackWeight'));
  }
  conv2dPacked(s: Conv2dShape, _algorithm: ConvAlgorithm, x: Buf, packed: Buf, bias: Buf | null, y: Buf, relu: boolean): void {
    const f = 'conv2dPacked';
    conv.conv2dPacked(s, this.arr(x, f), this.arr(packed, f), this.opt(bias, f), this.arr(y, f), relu);
  }
  conv2dBackwardInput(s: Conv2dShape, dy: Buf, w: Buf, dx: Buf): void {
    const f = 'conv2dBackwardInput';
    conv.conv2dBackwardInput(s, this.arr(dy, f), this.arr(w, f), this.arr(dx, f));
  }
  conv2dBackwardWeight(s: Conv2dShape, x: Buf, dy: Buf, dw: Buf, dbias: Buf | null): void {
    const f = 'conv2dBackwardWeight';
    conv.conv2dBackwardWeight(s, this.arr(x, f), this.arr(dy, f), this.arr(dw, f), this.opt(dbias, f));
  }

  // ---- batch_norm ----

  batchNormTrain(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
    runningMean: Buf, runningVar: Buf, momentum: number, eps: number,
    y: Buf, saveMean: Buf, saveInvStd: Buf): void {
    const f = 'batchNormTrain';
    batchNorm.batchNormTrain(n, c, hw, this.arr(x, f), this.arr(gamma, f), this.arr(beta, f),
      this.arr(runningMean, f), this.arr(runningVar, f), momentum, eps,
      this.arr(y, f), this.arr(saveMean, f), this.arr(saveInvStd, f));
  }
  batchNormEval(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
    runningMean: Buf, runningVar: Buf, eps: number, y: Buf): void {
    const f = 'batchNormEval';
    batchNorm.batchNormEval(n, c, hw, this.arr(x, f), this.arr(gamma, f), this.arr(beta, f),
      this.arr(runningMean, f), this.arr(runningVar, f), eps, this.arr(y, f));
  }
  batchNormBackward(n: number, c: number, hw: number, x: Buf, dy: Buf, gamma: Buf,
    saveMean: Buf, saveInvStd: Buf, dx: Buf, dgamma: Buf, dbeta: Buf): void {
    const f = 'batchNormBackward';
    batchNorm.batchNormBackward(n, c, hw, this.arr(x, f), this.arr(dy, f), this.arr(gamma, f),
      this.arr(saveMean, f), this.arr(saveInvStd, f), this.arr(dx, f), this.arr(dgamma, f), this.arr(dbeta, f));
  }

  // ---- relu, add, sigmoid, channel_scale ----

  relu(x: Buf, y: Buf): void {
    reluOp.relu(this.arr(x, 'relu'), this.arr(y, 'relu'));
  }
  reluBackward(x: Buf, dy: Buf, dx: Buf): void {
    const f = 'reluBackward';
    reluOp.reluBackward(this.arr(x, f), this.arr(dy, f), this.arr(dx, f));
  }
  add(a: Buf, b: Buf, y: Buf): void {
    addOp.add(this.arr(a, 'add'), this.arr(b, 'add'), this.arr(y, 'add'));
  }
  addInPlace(dst: Buf, src: Buf): void {
    addOp.addInPlace(this.arr(dst, 'addInPlace'), this.arr(src, 'addInPlace'));
  }
  sigmoid(x: Buf, y: Buf): void {
    sigmoidOp.sigmoid(this.arr(x, 'sigmoid'), this.arr(y, 'sigmoid'));
  }
  sigmoidBackward(y: Buf, dy: Buf, dx: Buf): void {
    const f = 'sigmoidBackward';
    sigmoidOp.sigmoidBackward(this.arr(y, f), this.arr(dy, f), this.arr(dx, f));
  }
  channelScale(n: number, c: number, hw: number, x: Buf, s: Buf, y: Buf): void {
    const f = 'channelScale';
    channelScaleOp.channelScale(n, c, hw, this.arr(x, f), this.arr(s, f), this.arr(y, f));
  }
  channelScaleBackward(n: number, c: number, hw: number, x: Buf, s: Buf, dy: Buf, dx: Buf, ds: Buf): void {
    const f = 'channelScaleBackward';
    channelScaleOp.channelScaleBackward(n, c, hw, this.arr(x, f), this.arr(s, f), this.arr(dy, f), this.arr(dx, f), this.arr(ds, f));
  }

  // ---- global_avg_pool, max_pool2d ----

  globalAvgPool(n: number, c: number, hw: number, x: Buf, y: Buf): void {
    gap.globalAvgPool(n, c, hw, this.arr(x, 'globalAvgPool'), this.arr(y, 'globalAvgPool'));
  }
  globalAvgPoolBackward(n: number, c: number, hw: number, dy: Buf, dx: Buf): void {
    const f = 'globalAvgPoolBackward';
    gap.globalAvgPoolBackward(n, c, hw, this.arr(dy, f), this.arr(dx, f));
  }
  maxPool2d(s: Pool2dShape, x: Buf, y: Buf): void {
    maxPool.maxPool2d(s, this.arr(x, 'maxPool2d'), this.arr(y, 'maxPool2d'));
  }
  maxPool2dBackward(s: Pool2dShape, x: Buf, dy: Buf, dx: Buf): void {
    const f = 'maxPool2dBackward';
    maxPool.maxPool2dBackward(s, this.arr(x, f), this.arr(dy, f), this.arr(dx, f));
  }

  // ---- linear ----

  linear(n: number, inF: number, outF: number, x: Buf, w: Buf, b: Buf | null, y: Buf): void {
    const f = 'linear';
    linearOp.linear(n, inF, outF, this.arr(x, f), this.arr(w, f), this.opt(b, f), this.arr(y, f));
  }
  linearBackward(n: number, inF: number, outF: number, x: Buf, w: Buf, dy: Buf,
    dx: Buf | null, dw: Buf, db: Buf | null): void {
    const f = 'linearBackward';
    linearOp.linearBackward(n, inF, outF, this.arr(x, f), this.arr(w, f), this.arr(dy, f),
      this.opt(dx, f), this.arr(dw, f), this.opt(db, f));
  }

  // ---- softmax_cross_entropy ----

  softmaxCrossEntropy(n: number, classes: number, logits: Buf, labels: Int32Array,
    smoothing: number, dlogits: Buf): number {
    const f = 'softmaxCrossEntropy';
    return xent.softmaxCrossEntropy(n, classes, this.arr(logits, f), labels, smoothing, this.arr(dlogits, f));
  }

  // ---- sgd, adamw ----

  sgdStep(param: Buf, grad: Buf, momentumBuf: Buf, o: SgdOptions): void {
    const f = 'sgdStep';
    sgd.sgdStep(this.arr(param, f), this.arr(grad, f), this.arr(momentumBuf, f), o);
  }
  adamwStep(param: Buf, grad: Buf, m: Buf, v: Buf, o: AdamWOptions): void {
    const f = 'adamwStep';
    adamw.adamwStep(this.arr(param, f), this.arr(grad, f), this.arr(m, f), this.arr(v, f), o);
  }
}
