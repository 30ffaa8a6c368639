// 2-D convolution (NCHW, grouped, strided, zero-padded), forward and backward, with PyTorch's
// argument names and checks.
import { CONV_ALGORITHM_CODE, outSize, type ConvAlgorithm, type Conv2dShape } from '../backend.js';
import { checkShape, type Tensor } from '../tensor.js';
import {
  backendOf, backwardNeeds, checkKeys, describe, expectRank, expectShape, formatShape, intPair, positiveInt,
  type BackwardNeeds,
} from './check.js';
import { withOutputs } from './outputs.js';

export interface Conv2dOptions {
  /** default 1 */
  stride?: number | [number, number];
  /** zero padding on each side; default 0 */
  padding?: number | [number, number];
  /** default 1; must divide both the input and the output channels */
  groups?: number;
  /** 'auto' (default): the rule measured on this project's machine (conv2dAlgorithm); or force
   *  'direct', 'winograd2' or 'winograd4' (Winograd applies to 3x3 stride-1 convs only; the others
   *  run direct whatever is asked) */
  algorithm?: 'auto' | ConvAlgorithm;
}

export type { BackwardNeeds };

export interface Conv2dGrads {
  dx: Tensor | null;
  dw: Tensor;
  db: Tensor | null;
}

const CONV_OPTIONS = ['stride', 'padding', 'groups', 'algorithm'] as const;

/**
 * The algorithm the rule measured on this project's machine picks for a convolution of shape s
 * (bench/winograd.md has the times it came from): Winograd for 3x3 stride-1 convs, F(4x4, 3x3)
 * where the output is at least 3x3, F(2x2, 3x3) on 2x2 outputs, direct on 1x1 outputs (F(2,3)
 * gained only x1.13 there) and for everything else. It held from 8 to 640 channels per group and
 * at batches 1 to 128.
 */
export function conv2dAlgorithm(s: Conv2dShape): ConvAlgorithm {
  if (!conv2dSupports(s, 'winograd4')) return 'direct';
  const side = Math.min(s.oh, s.ow);
  return side >= 3 ? 'winograd4' : side === 2 ? 'winograd2' : 'direct';
}

/** The algorithm `opts.algorithm` asks for, resolved for shape s ('auto' by the rule; a forced
 *  Winograd falls back to direct where it does not apply). */
function algorithmFor(op: string, s: Conv2dShape, algorithm: Conv2dOptions['algorithm']): ConvAlgorithm {
  const a = algorithm ?? 'auto';
  if (a === 'auto') return conv2dAlgorithm(s);
  if (!(a in CONV_ALGORITHM_CODE)) {
    throw new TypeError(`${op}: algorithm must be 'auto', 'direct', 'winograd2' or 'winograd4', got ${describe(a)}`);
  }
  return conv2dSupports(s, a) ? a : 'direct';
}

/** Validates x and weight against the options and works out every size the kernels need. */
export function conv2dShape(op: string, x: Tensor | readonly number[], weight: { readonly shape: readonly number[] }, opts: Conv2dOptions = {}): Conv2dShape {
  checkKeys(op, 'opts', opts, CONV_OPTIONS);
  const xShape = Array.isArray(x) ? (x as readonly number[]) : (x as Tensor).shape;
  const [n, c, h, w] = expectRank(op, 'x', { shape: xShape }, 4, '[n, c, h, w]');
  const [k, cg, kh, kw] = expectRank(op, 'weight', weight, 4, '[out_channels, in_channels / groups, kh, kw]');
  const [sh, sw] = intPair(op, 'stride', opts.stride ?? 1, 1);
  const [ph, pw] = intPair(op, 'padding', opts.padding ?? 0, 0);
  const groups = positiveInt(op, 'groups', opts.groups ?? 1);
  if (c % groups !== 0) {
    throw new Error(`${op}: x has ${c} channels (shape ${formatShape(xShape)}), not divisible by groups=${groups}`);
  }
  if (k % groups !== 0) {
    throw new Error(`${op}: weight has ${k} output channels (shape ${formatShape(weight.shape)}), not divisible by groups=${groups}`);
  }
  if (cg !== c / groups) {
    throw new Error(`${op}: weight has ${cg} input channels per group but x has ${c} channels and groups=${groups} ` +
      `(expected ${c / groups})`);
  }
  if (kh > h + 2 * ph || kw > w + 2 * pw) {
    throw new Error(`${op}: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * ph}x${w + 2 * pw} ` +
      `(x ${formatShape(xShape)}, padding [${ph},${pw}])`);
  }
  return {
    n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups,
    oh: outSize(h, kh, sh, ph),
    ow: outSize(w, kw, sw, pw),
  };
}

/** y = conv2d(x, weight) + bias, like torch.nn.functional.conv2d: x [n, c, h, w],
 *  weight [k, c / groups, kh, kw], bias [k] or null; returns [n, k, oh, ow]. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  const b = backendOf(op, { x, weight, bias }, ['bias']);
  const s = conv2dShape(op, x, weight, opts);
  if (bias) expectShape(op, 'bias', bias, [s.k], `weight has ${s.k} output channels`);
  return withOutputs(b, (_zeros, empty) => {
    const y = empty([s.n, s.k, s.oh, s.ow]);
    b.conv2d(s, x.buf, weight.buf, bias ? bias.buf : null, y.buf, algorithmFor(op, s, opts.algorithm));
    return y;
  });
}

/** The input gradient of a 3x3 stride-1 conv is itself a 3x3 stride-1 conv (of dy, with the
 *  flipped kernel), whose output is x's h x w: the rule applies to that shape. */
function inputGradAlgorithm(op: string, s: Conv2dShape, algorithm: Conv2dOptions['algorithm']): ConvAlgorithm {
  return algorithmFor(op, { ...s, oh: s.h, ow: s.w }, algorithm);
}

/** Checks dy against the output conv2d gives for x's shape and weight's shape. */
function expectConvOutput(op: string, s: Conv2dShape, xShape: readonly number[], weight: Tensor, dy: Tensor): void {
  expectShape(op, 'dy', dy, [s.n, s.k, s.oh, s.ow],
    `it must match conv2d's output for x ${formatShape(xShape)} and weight ${formatShape(weight.shape)}`);
}

/** d loss / d x of conv2d given dy = d loss / d y; `x` may be the input itself or only its shape. */
export function conv2dBackwardInput(x: Tensor | readonly number[], weight: Tensor, dy: Tensor, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dBackwardInput';
  const b = backendOf(op, { weight, dy });
  const xShape = Array.isArray(x) ? (x as readonly number[]) : (x as Tensor).shape;
  if (Array.isArray(x)) checkShape(`${op}: x`, xShape);
  const s = conv2dShape(op, xShape, weight, opts);
  expectConvOutput(op, s, xShape, weight, dy);
  return withOutputs(b, (_zeros, empty) => {
    const dx = empty(xShape);
    b.conv2dBackwardInput(s, dy.buf, weight.buf, dx.buf, inputGradAlgorithm(op, s, opts.algorithm));
    return dx;
  });
}

/** d loss / d weight (and d loss / d bias when `bias` is true) of conv2d given dy. */
export function conv2dBackwardWeight(x: Tensor, weight: Tensor, dy: Tensor, opts: Conv2dOptions = {},
  bias = false): { dw: Tensor; db: Tensor | null } {
  const op = 'conv2dBackwardWeight';
  const b = backendOf(op, { x, weight, dy });
  const s = conv2dShape(op, x, weight, opts);
  expectConvOutput(op, s, x.shape, weight, dy);
  return withOutputs(b, (_zeros, empty) => {
    const dw = empty(weight.shape);
    const db = bias ? empty([s.k]) : null;
    b.conv2dBackwardWeight(s, x.buf, dy.buf, dw.buf, db ? db.buf : null);
    return { dw, db };
  });
}

/**
 * Both gradients of conv2d given dy = d loss / d y: dw always, dx unless `needs.input` is false, db
 * only when `needs.bias` is true. `opts` must be the forward's.
 */
export function conv2dBackward(x: Tensor, weight: Tensor, dy: Tensor, opts: Conv2dOptions = {},
  needs: BackwardNeeds = {}): Conv2dGrads {
  const op = 'conv2dBackward';
  const b = backendOf(op, { x, weight, dy });
  const s = conv2dShape(op, x, weight, opts);
  expectConvOutput(op, s, x.shape, weight, dy);
  const { input: needInput, bias: needBias } = backwardNeeds(op, needs);
  return withOutputs(b, (_zeros, empty) => {
    const dx = needInput ? empty(x.shape) : null;
    const dw = empty(weight.shape);
    const db = needBias ? empty([s.k]) : null;
    if (dx) b.conv2dBackwardInput(s, dy.buf, weight.buf, dx.buf, inputGradAlgorithm(op, s, opts.algorithm));
    b.conv2dBackwardWeight(s, x.buf, dy.buf, dw.buf, db ? db.buf : null);
    return { dx, dw, db };
  });
}

/** conv2d's weights packed once for conv2dPacked (a planned model): the buffer, and what it was
 *  packed for. */
export interface PackedConv2dWeight {
  readonly packed: Tensor;
  readonly weightShape: readonly number[];
  readonly opts: Required<Pick<Conv2dOptions, 'groups'>> & Conv2dOptions;
  readonly algorithm: ConvAlgorithm;
  dispose(): void;
}

/** Whether `algorithm` can compute a convolution of this shape (Winograd: 3x3, stride 1). */
export function conv2dSupports(s: Conv2dShape, algorithm: ConvAlgorithm): boolean {
  if (algorithm === 'direct') return true;
  return s.kh === 3 && s.kw === 3 && s.sh === 1 && s.sw === 1 && s.ph <= 2 && s.pw <= 2;
}

/** Packs weight [k, c / groups, kh, kw] for inputs shaped like `x` (only its channels matter) and
 *  `opts`, with `algorithm` (default 'direct'). */
export function conv2dPackWeight(weight: Tensor, opts: Conv2dOptions = {}, algorithm: ConvAlgorithm = 'direct'): PackedConv2dWeight {
  // (Packing knows the kernel, not the input size: the caller resolves 'auto' with conv2dAlgorithm.)
  const op = 'conv2dPackWeight';
  const b = backendOf(op, { weight });
  if (!(algorithm in CONV_ALGORITHM_CODE)) {
    throw new TypeError(`${op}: algorithm must be 'direct', 'winograd2' or 'winograd4', got ${describe(algorithm)}`);
  }
  const groups = opts.groups ?? 1;
  const [k, cg, kh, kw] = expectRank(op, 'weight', weight, 4, '[out_channels, in_channels / groups, kh, kw]');
  // A nominal input just large enough for the kernel: packing depends on channels and kernel only.
  const s = conv2dShape(op, [1, cg * positiveInt(op, 'groups', groups), kh + 2, kw + 2], weight, opts);
  if (!conv2dSupports(s, algorithm)) {
    throw new Error(`${op}: ${algorithm} needs a 3x3 kernel with stride 1 and padding <= 2, got ${kh}x${kw}, ` +
      `stride [${s.sh},${s.sw}], padding [${s.ph},${s.pw}]`);
  }
  const bytes = b.conv2dPackedBytes(s, algorithm);
  return withOutputs(b, (zeros) => {
    const packed = zeros([bytes / 4]);
    b.conv2dPackWeight(s, algorithm, weight.buf, packed.buf);
    return { packed, weightShape: [k, cg, kh, kw], opts: { stride: opts.stride, padding: opts.padding, groups }, algorithm,
      dispose: () => packed.dispose() };
  });
}

/** y = conv2d(x, weight) + bias, then ReLU when `relu`, with the weight packed by conv2dPackWeight. */
export function conv2dPacked(x: Tensor, weight: PackedConv2dWeight, bias: Tensor | null, relu = false): Tensor {
  const op = 'conv2dPacked';
  if (weight == null || !(weight.packed instanceof Object)) {
    throw new TypeError(`${op}: weight must come from conv2dPackWeight, got ${describe(weight)}`);
  }
  const b = backendOf(op, { x, packed: weight.packed, bias }, ['bias']);
  const s = conv2dShape(op, x, { shape: weight.weightShape }, weight.opts);
  if (bias) expectShape(op, 'bias', bias, [s.k], `weight has ${s.k} output channels`);
  return withOutputs(b, (_zeros, empty) => {
    const y = empty([s.n, s.k, s.oh, s.ow]);
    b.conv2dPacked(s, weight.algorithm, x.buf, weight.packed.buf, bias ? bias.buf : null, y.buf, relu);
    return y;
  });
}

