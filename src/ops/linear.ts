// The fully connected layer (torch.nn.functional.linear), forward and backward.
import type { Tensor } from '../tensor.js';
import { backendOf, backwardNeeds, expectRank, expectShape, formatShape, type BackwardNeeds } from './check.js';
import { withOutputs } from './outputs.js';

export interface LinearGrads {
  dx: Tensor | null;
  dw: Tensor;
  db: Tensor | null;
}


/** Checks x [n, in] against weight [out, in]; returns the three sizes. */
function linearSizes(op: string, x: Tensor, weight: Tensor): { n: number; inF: number; outF: number } {
  const [n, inF] = expectRank(op, 'x', x, 2, '[n, in_features] (flatten it first)');
  const [outF, wIn] = expectRank(op, 'weight', weight, 2, '[out_features, in_features]');
  if (wIn !== inF) {
    throw new Error(`${op}: weight ${formatShape(weight.shape)} takes ${wIn} input features but x ` +
      `${formatShape(x.shape)} has ${inF}`);
  }
  return { n, inF, outF };
}

/** y = x weight^T + bias: x [n, in], weight [out, in], bias [out] or null; returns [n, out]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const op = 'linear';
  const b = backendOf(op, { x, weight, bias }, ['bias']);
  const { n, inF, outF } = linearSizes(op, x, weight);
  if (bias) expectShape(op, 'bias', bias, [outF], `weight has ${outF} output features`);
  return withOutputs(b, (_zeros, empty) => {
    const y = empty([n, outF]);
    b.linear(n, inF, outF, x.buf, weight.buf, bias ? bias.buf : null, y.buf);
    return y;
  });
}

/**
 * Gradients of linear given dy [n, out]: dw always, dx unless `needs.input` is false, db only when
 * `needs.bias` is true (the same defaults as conv2dBackward: ask for the bias's gradient explicitly).
 */
export function linearBackward(x: Tensor, weight: Tensor, dy: Tensor, needs: BackwardNeeds = {}): LinearGrads {
  const op = 'linearBackward';
  const b = backendOf(op, { x, weight, dy });
  const { n, inF, outF } = linearSizes(op, x, weight);
  expectShape(op, 'dy', dy, [n, outF], `it must match linear's output for x ${formatShape(x.shape)} and weight ` +
    formatShape(weight.shape));
  const { input: needInput, bias: needBias } = backwardNeeds(op, needs);
  return withOutputs(b, (_zeros, empty) => {
    const dx = needInput ? empty(x.shape) : null;
    const dw = empty(weight.shape);
    const db = needBias ? empty([outF]) : null;
    b.linearBackward(n, inF, outF, x.buf, weight.buf, dy.buf, dx ? dx.buf : null, dw.buf, db ? db.buf : null);
    return { dx, dw, db };
  });
}
