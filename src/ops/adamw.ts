// torch.optim.AdamW's update, in place on the parameter and its two moments, with PyTorch's checks
// on the hyper-parameters (plus: every one must be finite).
import type { Tensor } from '../tensor.js';
import {
  backendOf, checkKeys, checkState, finiteNumber, nonNegative, positiveInt, requireOpts,
} from './check.js';

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

/**
 * torch.optim.AdamW's update for one parameter (the formula: Backend.adamwStep in src/backend.ts);
 * m and v start as zeros, shaped like param.
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
