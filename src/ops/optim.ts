// Optimizer updates, in place on the parameter and its state, with PyTorch's semantics and
// PyTorch's checks on the hyper-parameters (plus: every one must be finite, since a NaN learning
// rate would silently turn every weight into NaN).
import type { Tensor } from '../tensor.js';
import {
  backendOf, boolOr, checkKeys, describe, expectDistinct, expectSameShape, finiteNumber, nonNegative, positiveInt,
} from './check.js';

export interface SgdStepOptions {
  lr: number;
  /** default 0 */
  momentum?: number;
  /** L2 penalty added to the gradient (PyTorch's weight_decay); default 0 */
  weightDecay?: number;
  /** default false; needs momentum > 0 */
  nesterov?: boolean;
}

export interface AdamWStepOptions {
  lr: number;
  /** default 0.9 */
  beta1?: number;
  /** default 0.999 */
  beta2?: number;
  /** default 1e-8 */
  eps?: number;
  /** decoupled weight decay; default 0.01 as torch.optim.AdamW */
  weightDecay?: number;
  /** 1-based count of updates including this one (bias correction) */
  step: number;
}

/** Checks that param, grad and every state tensor share one shape and are distinct tensors. */
function checkState(op: string, tensors: Record<string, Tensor>): void {
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0];
  for (const [name, t] of entries.slice(1)) expectSameShape(op, firstName, first, name, t);
  expectDistinct(op, tensors);
}

function requireOpts(op: string, opts: unknown, required: string): void {
  if (opts == null || typeof opts !== 'object') {
    throw new TypeError(`${op}: opts must be an object with ${required}, got ${describe(opts)}`);
  }
}

/**
 * torch.optim.SGD's update for one parameter (dampening 0): g = grad + weightDecay param;
 * momentumBuffer = momentum momentumBuffer + g; param -= lr (nesterov ? g + momentum momentumBuffer
 * : momentumBuffer). momentumBuffer starts as zeros, shaped like param; with momentum 0 it is unused.
 */
export function sgdStep(param: Tensor, grad: Tensor, momentumBuffer: Tensor, opts: SgdStepOptions): void {
  const op = 'sgdStep';
  const b = backendOf(op, { param, grad, momentumBuffer });
  checkState(op, { param, grad, momentumBuffer });
  requireOpts(op, opts, 'lr');
  checkKeys(op, 'opts', opts, ['lr', 'momentum', 'weightDecay', 'nesterov']);
  const lr = nonNegative(op, 'lr', opts.lr);
  const momentum = nonNegative(op, 'momentum', opts.momentum ?? 0);
  const weightDecay = nonNegative(op, 'weightDecay', opts.weightDecay ?? 0);
  const nesterov = boolOr(op, 'nesterov', opts.nesterov, false);
  if (nesterov && momentum === 0) {
    throw new RangeError(`${op}: nesterov needs momentum > 0, got momentum=0`);
  }
  b.sgdStep(param.buf, grad.buf, momentumBuffer.buf, { lr, momentum, weightDecay, nesterov });
}

/**
 * torch.optim.AdamW's update for one parameter: param *= 1 - lr weightDecay; m and v (zeros at
 * first, shaped like param) take the moving averages; param -= lr m^ / (sqrt(v^) + eps).
 */
export function adamwStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWStepOptions): void {
  const op = 'adamwStep';
  const b = backendOf(op, { param, grad, m, v });
  checkState(op, { param, grad, m, v });
  requireOpts(op, opts, 'lr and step');
  checkKeys(op, 'opts', opts, ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step']);
  const lr = nonNegative(op, 'lr', opts.lr);
  // beta = 1 would make the bias correction divide by zero.
  const beta1 = finiteNumber(op, 'beta1', opts.beta1 ?? 0.9, (x) => x >= 0 && x < 1, 'in [0, 1)');
  const beta2 = finiteNumber(op, 'beta2', opts.beta2 ?? 0.999, (x) => x >= 0 && x < 1, 'in [0, 1)');
  const eps = nonNegative(op, 'eps', opts.eps ?? 1e-8);
  const weightDecay = nonNegative(op, 'weightDecay', opts.weightDecay ?? 0.01);
  const step = positiveInt(op, 'step', opts.step);
  b.adamwStep(param.buf, grad.buf, m.buf, v.buf, { lr, beta1, beta2, eps, weightDecay, step });
}
