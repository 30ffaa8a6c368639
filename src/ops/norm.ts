// 2-D batch normalization (torch.nn.BatchNorm2d with affine weights and running statistics),
// forward in training and eval mode, and the training-mode backward.
import type { Tensor } from '../tensor.js';
import {
  backendOf, checkKeys, describe, expectDistinct, expectRank, expectSameShape, expectShape, formatShape,
  inUnitInterval, positive,
} from './check.js';
import { withOutputs } from './outputs.js';

export interface BatchNormParams {
  /** gamma [c] */
  weight: Tensor;
  /** beta [c] */
  bias: Tensor;
  /** [c], updated in place by a training forward */
  runningMean: Tensor;
  /** [c], updated in place by a training forward (with the unbiased batch variance) */
  runningVar: Tensor;
}

export interface BatchNormOptions {
  /** true: normalize with the batch statistics and update the running ones; false: use the running ones */
  training: boolean;
  /** running = (1 - momentum) running + momentum batch; default 0.1 */
  momentum?: number;
  /** default 1e-5 */
  eps?: number;
}

export interface BatchNormResult {
  y: Tensor;
  /** batch mean per channel, for the backward; null in eval mode */
  saveMean: Tensor | null;
  /** 1 / sqrt(biased batch variance + eps) per channel, for the backward; null in eval mode */
  saveInvStd: Tensor | null;
}

export interface BatchNormGrads {
  dx: Tensor;
  dweight: Tensor;
  dbias: Tensor;
}

const PARAMS = ['weight', 'bias', 'runningMean', 'runningVar'] as const;
const OPTIONS = ['training', 'momentum', 'eps'] as const;

/** x [n, c, h, w] -> y of the same shape. In training mode the running statistics change in place. */
export function batchNorm2d(x: Tensor, p: BatchNormParams, opts: BatchNormOptions): BatchNormResult {
  const op = 'batchNorm2d';
  if (p == null) throw new TypeError(`${op}: p must be {weight, bias, runningMean, runningVar}, got ${describe(p)}`);
  checkKeys(op, 'p', p, PARAMS);
  const { weight, bias, runningMean, runningVar } = p;
  const b = backendOf(op, { x, weight, bias, runningMean, runningVar });
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  for (const [name, t] of Object.entries({ weight, bias, runningMean, runningVar })) {
    expectShape(op, name, t, [c], `x ${formatShape(x.shape)} has ${c} channels`);
  }
  checkKeys(op, 'opts', opts, OPTIONS);
  // No default for `training`: the mode changes the result, and a silent default is the classic bug.
  if (opts === undefined || typeof opts.training !== 'boolean') {
    throw new TypeError(`${op}: opts.training must be true or false, got ${describe(opts?.training)}`);
  }
  const momentum = inUnitInterval(op, 'momentum', opts.momentum ?? 0.1);
  const eps = positive(op, 'eps', opts.eps ?? 1e-5);
  const hw = h * w;

  if (!opts.training) {
    return withOutputs(b, (zeros) => {
      const y = zeros(x.shape);
      b.batchNormEvalForward(n, c, hw, x.buf, weight.buf, bias.buf, runningMean.buf, runningVar.buf, eps, y.buf);
      return { y, saveMean: null, saveInvStd: null };
    });
  }
  // One value per channel has no variance (and the unbiased estimate divides by zero): PyTorch refuses.
  if (n * hw === 1) {
    throw new Error(`${op}: expected more than 1 value per channel when training, got x ${formatShape(x.shape)}`);
  }
  expectDistinct(op, { weight, bias, runningMean, runningVar });
  return withOutputs(b, (zeros) => {
    const y = zeros(x.shape);
    const saveMean = zeros([c]);
    const saveInvStd = zeros([c]);
    b.batchNormTrainForward(n, c, hw, x.buf, weight.buf, bias.buf, runningMean.buf, runningVar.buf,
      momentum, eps, y.buf, saveMean.buf, saveInvStd.buf);
    return { y, saveMean, saveInvStd };
  });
}

/**
 * Gradients of a training-mode batchNorm2d given dy: dx, dweight (gamma) and dbias (beta).
 * saveMean and saveInvStd are what that forward returned.
 */
export function batchNorm2dBackward(x: Tensor, dy: Tensor, weight: Tensor, saveMean: Tensor | null,
  saveInvStd: Tensor | null): BatchNormGrads {
  const op = 'batchNorm2dBackward';
  if (saveMean === null || saveInvStd === null) {
    throw new TypeError(`${op}: saveMean and saveInvStd are null: they come from a forward with training: true ` +
      '(an eval-mode forward saves nothing)');
  }
  const b = backendOf(op, { x, dy, weight, saveMean, saveInvStd });
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  expectSameShape(op, 'x', x, 'dy', dy);
  for (const [name, t] of Object.entries({ weight, saveMean, saveInvStd })) {
    expectShape(op, name, t, [c], `x ${formatShape(x.shape)} has ${c} channels`);
  }
  return withOutputs(b, (zeros) => {
    const dx = zeros(x.shape);
    const dweight = zeros([c]);
    const dbias = zeros([c]);
    b.batchNormBackward(n, c, h * w, x.buf, dy.buf, weight.buf, saveMean.buf, saveInvStd.buf,
      dx.buf, dweight.buf, dbias.buf);
    return { dx, dweight, dbias };
  });
}
