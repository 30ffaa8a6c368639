// torch.optim.SGD's update, in place on the parameter and its momentum buffer, with PyTorch's checks
// on the hyper-parameters (plus: every one must be finite, since a NaN learning rate would silently
// turn every weight into NaN).
import type { Tensor } from '../tensor.js';
import { backendOf, boolOr, checkKeys, checkState, nonNegative, requireOpts } from './check.js';

export interface SgdStepOptions {
  lr: number;
  /** default 0 */
  momentum?: number;
  /** L2 penalty added to the gradient (PyTorch's weight_decay); default 0 */
  weightDecay?: number;
  /** default false; needs momentum > 0 */
  nesterov?: boolean;
}

/**
 * torch.optim.SGD's update for one parameter (the formula: Backend.sgdStep in src/backend.ts).
 * momentumBuffer starts as zeros, shaped like param; with momentum 0 it is unused.
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
