// The one interface both backends implement: the WASM SIMD kernels (fast) and plain TypeScript
// loops (reference, fallback and test oracle). Every method works on buffers the same backend
// allocated, with sizes given explicitly, and never allocates visible state of its own.
//
// Methods here do NOT validate: the typed ops in src/ops/ check shapes and lengths first and then
// call these. Layout is NCHW throughout, like PyTorch.

/** A float32 buffer owned by a backend. Opaque: read and write it through `backend.view(buf)`. */
export interface Buf {
  /** Number of float32 elements. */
  readonly length: number;
}

/** Everything a 2-D convolution needs to know about its shapes. */
export interface Conv2dShape {
  /** batch, input channels, input height, input width */
  n: number; c: number; h: number; w: number;
  /** output channels */
  k: number;
  /** kernel height and width */
  kh: number; kw: number;
  /** strides */
  sh: number; sw: number;
  /** zero padding on each side */
  ph: number; pw: number;
  /** groups: c and k are both divisible by it; weight is [k, c / groups, kh, kw] */
  groups: number;
  /** output height and width: floor((h + 2 ph - kh) / sh) + 1, likewise for width */
  oh: number; ow: number;
}

/** How a convolution is computed: the direct GEMM, or Winograd F(2x2, 3x3) / F(4x4, 3x3) (3x3,
 *  stride 1 only: fewer multiplies, a little more rounding error). */
export type ConvAlgorithm = 'direct' | 'winograd2' | 'winograd4';

/** The code the kernels take for each algorithm. */
export const CONV_ALGORITHM_CODE: Readonly<Record<ConvAlgorithm, number>> = { direct: 0, winograd2: 2, winograd4: 4 };

/** Max pooling shapes (no dilation, no ceil mode), like torch.nn.MaxPool2d. */
export interface Pool2dShape {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number;
  sh: number; sw: number;
  ph: number; pw: number;
  oh: number; ow: number;
}

export interface SgdOptions {
  lr: number;
  momentum: number;
  /** L2 penalty added to the gradient (PyTorch's weight_decay) */
  weightDecay: number;
  nesterov: boolean;
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** decoupled weight decay: p -= lr * weightDecay * p */
  weightDecay: number;
  /** 1-based step count, after this update (for bias correction) */
  step: number;
}

export interface Backend {
  readonly name: 'wasm-simd' | 'reference';
  /** Threads the backend's kernels really run on (1: the calling thread only). */
  readonly threads: number;
  /** Why it runs fewer threads than were asked for, or null. */
  readonly threadsReason: string | null;
  /** Ends the backend's worker threads, if any (later calls run on the calling thread). */
  dispose(): void;

  // ---- memory ----
  /** A new buffer of `length` float32, filled with zeros. */
  alloc(length: number): Buf;
  /** A new buffer of `length` float32 whose contents are unspecified: for an output that a kernel
   *  overwrites whole (skips alloc's clearing of a reused block). */
  allocEmpty(length: number): Buf;
  /** Returns the buffer to the pool; the buffer must not be used afterwards. */
  free(buf: Buf): void;
  /** A Float32Array over the buffer's storage. Valid until the next `alloc` (memory may grow). */
  view(buf: Buf): Float32Array;
  /** Bytes the backend currently holds from the system (WASM linear memory size, or the sum of
   *  live and pooled buffers for the reference backend). */
  memoryBytes(): number;

  // ---- conv2d ----
  /** y[n,k,oh,ow] = sum w * x (+ bias[k]). bias may be null. `algorithm` (default 'direct') applies
   *  to 3x3 stride-1 convs; others run direct whatever is asked. The reference backend always
   *  computes the exact sums. */
  conv2d(s: Conv2dShape, x: Buf, w: Buf, bias: Buf | null, y: Buf, algorithm?: ConvAlgorithm): void;
  /** dx = conv2d's gradient with respect to its input (overwrites dx). */
  conv2dBackwardInput(s: Conv2dShape, dy: Buf, w: Buf, dx: Buf, algorithm?: ConvAlgorithm): void;
  /** dw (and dbias when not null) = gradients over the whole batch (overwrites both). */
  conv2dBackwardWeight(s: Conv2dShape, x: Buf, dy: Buf, dw: Buf, dbias: Buf | null): void;

  /** Bytes of weights packed for conv2dPacked with `algorithm` (once per model). */
  conv2dPackedBytes(s: Conv2dShape, algorithm: ConvAlgorithm): number;
  /** Packs w [k, c / groups, kh, kw] into `packed` (of conv2dPackedBytes) for conv2dPacked. */
  conv2dPackWeight(s: Conv2dShape, algorithm: ConvAlgorithm, w: Buf, packed: Buf): void;
  /** y = conv2d(x, w) + bias (bias may be null), then max(0, y) when relu, with w packed by
   *  conv2dPackWeight: what a planned model runs. */
  conv2dPacked(s: Conv2dShape, algorithm: ConvAlgorithm, x: Buf, packed: Buf, bias: Buf | null, y: Buf, relu: boolean): void;

  // ---- batch_norm (2d; hw = h * w) ----
  /** Training forward: normalizes with the batch statistics (biased variance), saves mean and
   *  1/sqrt(var + eps) per channel for the backward, and updates the running statistics in place
   *  with PyTorch's convention (running = (1 - momentum) running + momentum batch, unbiased var). */
  batchNormTrain(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
    runningMean: Buf, runningVar: Buf, momentum: number, eps: number,
    y: Buf, saveMean: Buf, saveInvStd: Buf): void;
  /** Eval forward with the running statistics. */
  batchNormEval(n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
    runningMean: Buf, runningVar: Buf, eps: number, y: Buf): void;
  /** Training backward: dx, dgamma, dbeta (all overwritten). */
  batchNormBackward(n: number, c: number, hw: number, x: Buf, dy: Buf, gamma: Buf,
    saveMean: Buf, saveInvStd: Buf, dx: Buf, dgamma: Buf, dbeta: Buf): void;

  // ---- element-wise (length = buffer length) ----
  relu(x: Buf, y: Buf): void;
  /** dx = dy where x > 0, else 0. `x` is the ReLU's input (its output works as well). */
  reluBackward(x: Buf, dy: Buf, dx: Buf): void;
  /** y = a + b (the branch sum). Its backward passes dy to both inputs unchanged. */
  add(a: Buf, b: Buf, y: Buf): void;
  /** dst += src: accumulates gradients where a tensor feeds several consumers. */
  addInPlace(dst: Buf, src: Buf): void;
  sigmoid(x: Buf, y: Buf): void;
  /** dx = dy * y * (1 - y), with y the sigmoid's output. */
  sigmoidBackward(y: Buf, dy: Buf, dx: Buf): void;
  /** y[n,c,:] = x[n,c,:] * s[n,c] (the SE block's excitation). */
  channelScale(n: number, c: number, hw: number, x: Buf, s: Buf, y: Buf): void;
  /** dx = dy * s; ds[n,c] = sum over hw of dy * x. */
  channelScaleBackward(n: number, c: number, hw: number, x: Buf, s: Buf, dy: Buf,
    dx: Buf, ds: Buf): void;

  // ---- pooling ----
  /** y[n,c] = mean of x[n,c,:,:]. */
  globalAvgPool(n: number, c: number, hw: number, x: Buf, y: Buf): void;
  globalAvgPoolBackward(n: number, c: number, hw: number, dy: Buf, dx: Buf): void;
  maxPool2d(s: Pool2dShape, x: Buf, y: Buf): void;
  /** Routes dy to the first maximum of each window (as PyTorch does); overwrites dx. */
  maxPool2dBackward(s: Pool2dShape, x: Buf, dy: Buf, dx: Buf): void;

  // ---- linear: x [n, inF], w [outF, inF], b [outF], y [n, outF] ----
  linear(n: number, inF: number, outF: number, x: Buf, w: Buf, b: Buf | null, y: Buf): void;
  /** dx (when not null), dw and db (when not null), all overwritten. */
  linearBackward(n: number, inF: number, outF: number, x: Buf, w: Buf, dy: Buf,
    dx: Buf | null, dw: Buf, db: Buf | null): void;

  // ---- loss ----
  /** Mean softmax cross-entropy over the batch with label smoothing (PyTorch's definition);
   *  writes d loss / d logits into dlogits and returns the loss. labels in [0, classes). */
  softmaxCrossEntropy(n: number, classes: number, logits: Buf, labels: Int32Array,
    smoothing: number, dlogits: Buf): number;

  // ---- optimizer updates (in place, fused) ----
  /** PyTorch SGD (dampening 0): g = grad + wd p; buf = momentum buf + g;
   *  p -= lr (nesterov ? g + momentum buf : buf). With momentum 0, p -= lr g. */
  sgdStep(param: Buf, grad: Buf, momentumBuf: Buf, o: SgdOptions): void;
  /** PyTorch AdamW: p *= 1 - lr wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
   *  p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). */
  adamwStep(param: Buf, grad: Buf, m: Buf, v: Buf, o: AdamWOptions): void;
}

/** Output size of a convolution or pooling window along one axis. */
export function outSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}
