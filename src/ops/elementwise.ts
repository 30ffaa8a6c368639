// Element-wise ops (ReLU, sigmoid, the branch sum) and the SE block's per-channel scaling, each
// backward beside its forward.
import type { Tensor } from '../tensor.js';
import { backendOf, expectRank, expectSameShape, formatShape } from './check.js';
import { withOutputs } from './outputs.js';

export function relu(x: Tensor): Tensor {
  const b = backendOf('relu', { x });
  return withOutputs(b, (zeros) => {
    const y = zeros(x.shape);
    b.relu(x.buf, y.buf);
    return y;
  });
}

/** dx = dy where x > 0, else 0. `x` is the ReLU's input (its output works as well). */
export function reluBackward(x: Tensor, dy: Tensor): Tensor {
  const op = 'reluBackward';
  const b = backendOf(op, { x, dy });
  expectSameShape(op, 'x', x, 'dy', dy);
  return withOutputs(b, (zeros) => {
    const dx = zeros(x.shape);
    b.reluBackward(x.buf, dy.buf, dx.buf);
    return dx;
  });
}

/** a + b, for tensors of the same shape (no broadcasting). Its backward passes dy to both. */
export function add(a: Tensor, b: Tensor): Tensor {
  const op = 'add';
  const backend = backendOf(op, { a, b });
  expectSameShape(op, 'a', a, 'b', b);
  return withOutputs(backend, (zeros) => {
    const y = zeros(a.shape);
    backend.add(a.buf, b.buf, y.buf);
    return y;
  });
}

/** dst += src in place: accumulates the gradient of a tensor that feeds several consumers. */
export function addInPlace(dst: Tensor, src: Tensor): void {
  const op = 'addInPlace';
  const b = backendOf(op, { dst, src });
  expectSameShape(op, 'dst', dst, 'src', src);
  b.accumulate(dst.buf, src.buf);
}

export function sigmoid(x: Tensor): Tensor {
  const b = backendOf('sigmoid', { x });
  return withOutputs(b, (zeros) => {
    const y = zeros(x.shape);
    b.sigmoid(x.buf, y.buf);
    return y;
  });
}

/** dx = dy * y * (1 - y), with `y` the sigmoid's output (not its input). */
export function sigmoidBackward(y: Tensor, dy: Tensor): Tensor {
  const op = 'sigmoidBackward';
  const b = backendOf(op, { y, dy });
  expectSameShape(op, 'y', y, 'dy', dy);
  return withOutputs(b, (zeros) => {
    const dx = zeros(y.shape);
    b.sigmoidBackward(y.buf, dy.buf, dx.buf);
    return dx;
  });
}

/** Checks x [n, c, h, w] against s [n, c] or [n, c, 1, 1]; returns n, c and h * w. */
function channelScaleSizes(op: string, x: Tensor, s: Tensor): { n: number; c: number; hw: number } {
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  const flat = s.shape.length === 2 && s.shape[0] === n && s.shape[1] === c;
  const keepdim = s.shape.length === 4 && s.shape[0] === n && s.shape[1] === c && s.shape[2] === 1 && s.shape[3] === 1;
  if (!flat && !keepdim) {
    throw new Error(`${op}: s has shape ${formatShape(s.shape)} but x ${formatShape(x.shape)} needs one scale per ` +
      `sample and channel (expected ${formatShape([n, c])} or ${formatShape([n, c, 1, 1])})`);
  }
  return { n, c, hw: h * w };
}

/** y[n, c, :, :] = x[n, c, :, :] * s[n, c]: the SE block's excitation. s is [n, c] or [n, c, 1, 1]. */
export function channelScale(x: Tensor, s: Tensor): Tensor {
  const op = 'channelScale';
  const b = backendOf(op, { x, s });
  const { n, c, hw } = channelScaleSizes(op, x, s);
  return withOutputs(b, (zeros) => {
    const y = zeros(x.shape);
    b.channelScale(n, c, hw, x.buf, s.buf, y.buf);
    return y;
  });
}

/** dx = dy * s and ds[n, c] = sum over h, w of dy * x; ds has s's shape. */
export function channelScaleBackward(x: Tensor, s: Tensor, dy: Tensor): { dx: Tensor; ds: Tensor } {
  const op = 'channelScaleBackward';
  const b = backendOf(op, { x, s, dy });
  const { n, c, hw } = channelScaleSizes(op, x, s);
  expectSameShape(op, 'x', x, 'dy', dy);
  return withOutputs(b, (zeros) => {
    const dx = zeros(x.shape);
    const ds = zeros(s.shape);
    b.channelScaleBackward(n, c, hw, x.buf, s.buf, dy.buf, dx.buf, ds.buf);
    return { dx, ds };
  });
}
