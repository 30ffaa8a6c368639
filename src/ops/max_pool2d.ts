// Max pooling (torch.nn.functional.max_pool2d without dilation or ceil mode) and its backward.
import { outSize, type Pool2dShape } from '../backend.js';
import { type Tensor } from '../tensor.js';
import { backendOf, checkKeys, expectRank, expectShape, formatShape, intPair } from './check.js';
import { withOutputs } from './outputs.js';

export interface MaxPool2dOptions {
  kernelSize: number | [number, number];
  /** default kernelSize */
  stride?: number | [number, number];
  /** implicit -Infinity padding on each side, at most half the kernel; default 0 */
  padding?: number | [number, number];
}

const MAX_POOL_OPTIONS = ['kernelSize', 'stride', 'padding'] as const;

/** Validates x and the options (PyTorch's rules) and works out every size the kernels need. */
export function maxPool2dShape(op: string, x: Tensor, opts: MaxPool2dOptions): Pool2dShape {
  if (opts == null || opts.kernelSize === undefined) {
    throw new TypeError(`${op}: opts.kernelSize is required`);
  }
  checkKeys(op, 'opts', opts, MAX_POOL_OPTIONS);
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  const [kh, kw] = intPair(op, 'kernelSize', opts.kernelSize, 1);
  const [sh, sw] = intPair(op, 'stride', opts.stride ?? opts.kernelSize, 1);
  const [ph, pw] = intPair(op, 'padding', opts.padding ?? 0, 0);
  // Larger padding would give windows that see only padding (outputs of -Infinity).
  if (2 * ph > kh || 2 * pw > kw) {
    throw new RangeError(`${op}: padding [${ph},${pw}] must be at most half of kernelSize [${kh},${kw}]`);
  }
  if (kh > h + 2 * ph || kw > w + 2 * pw) {
    throw new Error(`${op}: kernel ${kh}x${kw} is larger than the padded input ${h + 2 * ph}x${w + 2 * pw} ` +
      `(x ${formatShape(x.shape)}, padding [${ph},${pw}])`);
  }
  return { n, c, h, w, kh, kw, sh, sw, ph, pw, oh: outSize(h, kh, sh, ph), ow: outSize(w, kw, sw, pw) };
}

/** Like torch.nn.functional.max_pool2d (no dilation, floor mode): x [n, c, h, w] -> [n, c, oh, ow]. */
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  const op = 'maxPool2d';
  const b = backendOf(op, { x });
  const s = maxPool2dShape(op, x, opts);
  return withOutputs(b, (_zeros, empty) => {
    const y = empty([s.n, s.c, s.oh, s.ow]);
    b.maxPool2d(s, x.buf, y.buf);
    return y;
  });
}

/** dx of maxPool2d: each dy goes to its window's first maximum. `opts` must be the forward's. */
export function maxPool2dBackward(x: Tensor, dy: Tensor, opts: MaxPool2dOptions): Tensor {
  const op = 'maxPool2dBackward';
  const b = backendOf(op, { x, dy });
  const s = maxPool2dShape(op, x, opts);
  expectShape(op, 'dy', dy, [s.n, s.c, s.oh, s.ow], `it must match maxPool2d's output for x ${formatShape(x.shape)}`);
  return withOutputs(b, (_zeros, empty) => {
    const dx = empty(x.shape);
    b.maxPool2dBackward(s, x.buf, dy.buf, dx.buf);
    return dx;
  });
}
