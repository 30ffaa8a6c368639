// ReLU and its backward.
import type { Tensor } from '../tensor.js';
import { backendOf, expectSameShape } from './check.js';
import { withOutputs } from './outputs.js';

export function relu(x: Tensor): Tensor {
  const b = backendOf('relu', { x });
  return withOutputs(b, (_zeros, empty) => {
    const y = empty(x.shape);
    b.relu(x.buf, y.buf);
    return y;
  });
}

/** dx = dy where x > 0, else 0. `x` is the ReLU's input (its output works as well). */
export function reluBackward(x: Tensor, dy: Tensor): Tensor {
  const op = 'reluBackward';
  const b = backendOf(op, { x, dy });
  expectSameShape(op, 'x', x, 'dy', dy);
  return withOutputs(b, (_zeros, empty) => {
    const dx = empty(x.shape);
    b.reluBackward(x.buf, dy.buf, dx.buf);
    return dx;
  });
}
