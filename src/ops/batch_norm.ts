// 2-D batch normalization (torch.nn.BatchNorm2d with affine weights and running statistics),
// training forward, eval forward, and the training backward.
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

export interface BatchNormTrainOptions {
  /** running = (1 - momentum) running + momentum batch; default 0.1 */
  momentum?: number;
  /** default 1e-5 */
  eps?: number;
}

export interface BatchNormEvalOptions {
  /** default 1e-5 */
  eps?: number;
}

export interface BatchNormTrainResult {
  y: Tensor;
  /** batch mean per channel, for the backward */
  saveMean: Tensor;
  /** 1 / sqrt(biased batch variance + eps) per channel, for the backward */
  saveInvStd: Tensor;
}

export interface BatchNormGrads {
  dx: Tensor;
  dweight: Tensor;
  dbias: Tensor;
}

const PARAMS = ['weight', 'bias', 'runningMean', 'runningVar'] as const;

/** Checks x [n, c, h, w] and the four per-channel tensors; returns the backend and the sizes. */
function batchNormSizes(op: string, x: Tensor, p: BatchNormParams) {
  if (p == null) throw new TypeError(`${op}: p must be {weight, bias, runningMean, runningVar}, got ${describe(p)}`);
  checkKeys(op, 'p', p, PARAMS);
  const { weight, bias, runningMean, runningVar } = p;
  const b = backendOf(op, { x, weight, bias, runningMean, runningVar });
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  for (const [name, t] of Object.entries({ weight, bias, runningMean, runningVar })) {
    expectShape(op, name, t, [c], `x ${formatShape(x.shape)} has ${c} channels`);
  }
  return { b, n, c, hw: h * w };
}

/** Training mode: x [n, c, h, w] normalized with its batch statistics; the running statistics
 *  change in place; the saved mean and inverse std are for batchNormBackward. */
export function batchNormTrain(x: Tensor, p: BatchNormParams, opts: BatchNormTrainOptions = {}): BatchNormTrainResult {
  const op = 'batchNormTrain';
  const { b, n, c, hw } = batchNormSizes(op, x, p);
  checkKeys(op, 'opts', opts, ['momentum', 'eps']);
  const momentum = inUnitInterval(op, 'momentum', opts.momentum ?? 0.1);
  const eps = positive(op, 'eps', opts.eps ?? 1e-5);
  // One value per channel has no variance (and the unbiased estimate divides by zero): PyTorch refuses.
  if (n * hw === 1) {
    throw new Error(`${op}: expected more than 1 value per channel when training, got x ${formatShape(x.shape)}`);
  }
  expectDistinct(op, { weight: p.weight, bias: p.bias, runningMean: p.runningMean, runningVar: p.runningVar });
  return withOutputs(b, (_zeros, empty) => {
    const y = empty(x.shape);
    const saveMean = empty([c]);
    const saveInvStd = empty([c]);
    b.batchNormTrain(n, c, hw, x.buf, p.weight.buf, p.bias.buf, p.runningMean.buf, p.runningVar.buf,
      momentum, eps, y.buf, saveMean.buf, saveInvStd.buf);
    return { y, saveMean, saveInvStd };
  });
}

/** Eval mode: x [n, c, h, w] normalized with the running statistics. */
export function batchNormEval(x: Tensor, p: BatchNormParams, opts: BatchNormEvalOptions = {}): Tensor {
  const op = 'batchNormEval';
  const { b, n, c, hw } = batchNormSizes(op, x, p);
  checkKeys(op, 'opts', opts, ['eps']);
  const eps = positive(op, 'eps', opts.eps ?? 1e-5);
  return withOutputs(b, (_zeros, empty) => {
    const y = empty(x.shape);
    b.batchNormEval(n, c, hw, x.buf, p.weight.buf, p.bias.buf, p.runningMean.buf, p.runningVar.buf, eps, y.buf);
    return y;
  });
}

/**
 * Gradients of batchNormTrain given dy: dx, dweight (gamma) and dbias (beta).
 * saveMean and saveInvStd are what that forward returned.
 */
export function batchNormBackward(x: Tensor, dy: Tensor, weight: Tensor, saveMean: Tensor, saveInvStd: Tensor): BatchNormGrads {
  const op = 'batchNormBackward';
  if (saveMean == null || saveInvStd == null) {
    throw new TypeError(`${op}: saveMean and saveInvStd are required: they come from batchNormTrain ` +
      '(an eval-mode forward saves nothing)');
  }
  const b = backendOf(op, { x, dy, weight, saveMean, saveInvStd });
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  expectSameShape(op, 'x', x, 'dy', dy);
  for (const [name, t] of Object.entries({ weight, saveMean, saveInvStd })) {
    expectShape(op, name, t, [c], `x ${formatShape(x.shape)} has ${c} channels`);
  }
  return withOutputs(b, (_zeros, empty) => {
    const dx = empty(x.shape);
    const dweight = empty([c]);
    const dbias = empty([c]);
    b.batchNormBackward(n, c, h * w, x.buf, dy.buf, weight.buf, saveMean.buf, saveInvStd.buf,
      dx.buf, dweight.buf, dbias.buf);
    return { dx, dweight, dbias };
  });
}
