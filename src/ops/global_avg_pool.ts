// Global average pooling (the head of every RepVGG) and its backward.
import { checkShape, type Tensor } from '../tensor.js';
import { backendOf, expectRank, expectShape, formatShape } from './check.js';
import { withOutputs } from './outputs.js';

/** x [n, c, h, w] -> [n, c, 1, 1], the mean of each plane (adaptive_avg_pool2d(x, 1)). */
export function globalAvgPool(x: Tensor): Tensor {
  const op = 'globalAvgPool';
  const b = backendOf(op, { x });
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  return withOutputs(b, (_zeros, empty) => {
    const y = empty([n, c, 1, 1]);
    b.globalAvgPool(n, c, h * w, x.buf, y.buf);
    return y;
  });
}

/** dx of globalAvgPool: dy [n, c, 1, 1] spread evenly over planes of `inputShape` [n, c, h, w]. */
export function globalAvgPoolBackward(dy: Tensor, inputShape: readonly number[]): Tensor {
  const op = 'globalAvgPoolBackward';
  const b = backendOf(op, { dy });
  checkShape(`${op}: inputShape`, inputShape);
  if (inputShape.length !== 4) {
    throw new Error(`${op}: inputShape must be 4-D [n, c, h, w], got ${formatShape(inputShape)}`);
  }
  const [n, c, h, w] = inputShape;
  expectShape(op, 'dy', dy, [n, c, 1, 1], `the pooled input is ${formatShape(inputShape)}`);
  return withOutputs(b, (_zeros, empty) => {
    const dx = empty(inputShape);
    b.globalAvgPoolBackward(n, c, h * w, dy.buf, dx.buf);
    return dx;
  });
}
