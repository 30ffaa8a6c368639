// A RepVGG training block (3x3 conv + BN, 1x1 conv + BN, identity BN, summed, ReLU) and a head,
// trained through the ops with SGD: the loop the memory tests run for many steps, disposing every
// temporary, to see that a backend's memory stays flat.
import type { Backend } from '../../src/backend.js';
import {
  add, addInPlace, batchNormBackward, batchNormTrain, conv2d, conv2dBackward, flatten, globalAvgPool,
  globalAvgPoolBackward, linear, linearBackward, relu, reluBackward, reshape, sgdStep, softmaxCrossEntropy,
  type BatchNormParams,
} from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor.js';
import { Rng } from './random.js';

const [N, C, H, W, CLASSES] = [2, 8, 8, 8, 10];

interface Param {
  value: Tensor;
  momentum: Tensor;
}

/** A RepVGG training block (3x3 conv + BN, 1x1 conv + BN, identity BN, summed, ReLU) and a head. */
export class Block {
  readonly w3: Tensor;
  readonly w1: Tensor;
  readonly bn3: BatchNormParams;
  readonly bn1: BatchNormParams;
  readonly bnId: BatchNormParams;
  readonly fcW: Tensor;
  readonly fcB: Tensor;
  readonly params: Param[] = [];

  constructor(readonly b: Backend, rng: Rng) {
    this.w3 = this.param(Tensor.from(b, rng.normals(C * C * 9, 0.2), [C, C, 3, 3]));
    this.w1 = this.param(Tensor.from(b, rng.normals(C * C, 0.3), [C, C, 1, 1]));
    this.bn3 = this.bn();
    this.bn1 = this.bn();
    this.bnId = this.bn();
    this.fcW = this.param(Tensor.from(b, rng.normals(CLASSES * C, 0.3), [CLASSES, C]));
    this.fcB = this.param(Tensor.zeros(b, [CLASSES]));
  }

  private param(value: Tensor): Tensor {
    this.params.push({ value, momentum: Tensor.zeros(this.b, value.shape) });
    return value;
  }

  private bn(): BatchNormParams {
    return {
      weight: this.param(Tensor.fill(this.b, [C], 1)),
      bias: this.param(Tensor.zeros(this.b, [C])),
      runningMean: Tensor.zeros(this.b, [C]),
      runningVar: Tensor.fill(this.b, [C], 1),
    };
  }

  /** Forward, backward (down to the block's input, as inside a network) and an SGD step; returns the loss. */
  step(x: Tensor, labels: readonly number[]): number {
    const temps: Tensor[] = [];
    const keep = <T extends Tensor | null>(t: T): T => {
      if (t) temps.push(t);
      return t;
    };

    // forward
    const y3 = keep(conv2d(x, this.w3, null, { padding: 1 }));
    const n3 = batchNormTrain(y3, this.bn3);
    const y1 = keep(conv2d(x, this.w1, null));
    const n1 = batchNormTrain(y1, this.bn1);
    const nId = batchNormTrain(x, this.bnId);
    for (const r of [n3, n1, nId]) [r.y, r.saveMean, r.saveInvStd].forEach(keep);
    const sum = keep(add(keep(add(n3.y, n1.y)), nId.y));
    const out = keep(relu(sum));
    const pooled = keep(globalAvgPool(out));
    const flat = keep(flatten(pooled));
    const logits = keep(linear(flat, this.fcW, this.fcB));
    const { loss, dlogits } = softmaxCrossEntropy(logits, labels);
    keep(dlogits);

    // backward
    const fc = linearBackward(flat, this.fcW, dlogits, { bias: true });
    [fc.dx, fc.dw, fc.db].forEach(keep);
    const dPooled = keep(reshape(fc.dx!, pooled.shape));
    const dOut = keep(globalAvgPoolBackward(dPooled, out.shape));
    const dSum = keep(reluBackward(sum, dOut)); // the sum's gradient goes to each branch unchanged
    const g3 = batchNormBackward(y3, dSum, this.bn3.weight, n3.saveMean, n3.saveInvStd);
    const g1 = batchNormBackward(y1, dSum, this.bn1.weight, n1.saveMean, n1.saveInvStd);
    const gId = batchNormBackward(x, dSum, this.bnId.weight, nId.saveMean, nId.saveInvStd);
    for (const g of [g3, g1, gId]) [g.dx, g.dweight, g.dbias].forEach(keep);
    const c3 = conv2dBackward(x, this.w3, g3.dx, { padding: 1 });
    const c1 = conv2dBackward(x, this.w1, g1.dx);
    [c3.dx, c3.dw, c1.dx, c1.dw].forEach(keep);
    addInPlace(c3.dx!, c1.dx!); // x feeds three branches: its gradient is the sum of theirs
    addInPlace(c3.dx!, gId.dx);

    // update
    const grads = new Map<Tensor, Tensor>([
      [this.w3, c3.dw], [this.w1, c1.dw], [this.fcW, fc.dw], [this.fcB, fc.db!],
      [this.bn3.weight, g3.dweight], [this.bn3.bias, g3.dbias], [this.bn1.weight, g1.dweight],
      [this.bn1.bias, g1.dbias], [this.bnId.weight, gId.dweight], [this.bnId.bias, gId.dbias],
    ]);
    for (const p of this.params) {
      sgdStep(p.value, grads.get(p.value)!, p.momentum, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    }
    for (const t of temps) t.dispose();
    return loss;
  }
}

export const LABELS = [3, 7];

/** A block and a fixed input batch on `b`. */
export function setup(b: Backend): { block: Block; x: Tensor } {
  const rng = new Rng(11);
  const block = new Block(b, rng);
  return { block, x: Tensor.from(b, rng.normals(N * C * H * W), [N, C, H, W]) };
}
