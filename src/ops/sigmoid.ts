// Sigmoid (the SE block's gate) and its backward.
import type { Tensor } from '../tensor.js';
import { backendOf, expectSameShape } from './check.js';
import { withOutputs } from './outputs.js';

export function sigmoid(x: Tensor): Tensor {
  const b = backendOf('sigmoid', { x });
  return withOutputs(b, (_zeros, empty) => {
    const y = empty(x.shape);
    b.sigmoid(x.buf, y.buf);
    return y;
  });
}

/** dx = dy * y * (1 - y), with `y` the sigmoid's output (not its input). */
export function sigmoidBackward(y: Tensor, dy: Tensor): Tensor {
  const op = 'sigmoidBackward';
  const b = backendOf(op, { y, dy });
  expectSameShape(op, 'y', y, 'dy', dy);
  return withOutputs(b, (_zeros, empty) => {
    const dx = empty(y.shape);
    b.sigmoidBackward(y.buf, dy.buf, dx.buf);
    return dx;
  });
}
