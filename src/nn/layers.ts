// The layers RepVGG is made of, each with its backward beside its forward: Conv2d, BatchNorm2d,
// ReLU, Linear and GlobalAvgPoolFlatten. What a forward keeps for the backward goes through
// Module.save / withSaved.
import type { Backend, ConvAlgorithm } from '../backend.js';
import {
  batchNormBackward, batchNormEval, batchNormTrain, conv2d, conv2dBackward, globalAvgPool, globalAvgPoolBackward,
  linear, linearBackward, relu, reluBackward, reshape,
} from '../ops/index.js';
import { mulberry32, type Rng } from '../random.js';
import { Tensor } from '../tensor.js';
import { uniform } from './init.js';
import { Module, type Parameter } from './module.js';

export interface Conv2dConfig {
  inChannels: number; outChannels: number; kernelSize: number;
  stride?: number; padding?: number; groups?: number; bias?: boolean;
  /** how the conv and its input gradient are computed: 'auto' (default, the measured rule) or forced */
  algorithm?: 'auto' | ConvAlgorithm;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number; readonly padding: number; readonly groups: number;
  /** 'auto' (the rule measured on this project's machine) or a forced algorithm; see conv2dAlgorithm */
  algorithm: 'auto' | ConvAlgorithm;

  constructor(backend: Backend, readonly cfg: Conv2dConfig, rng: Rng | null = mulberry32(0)) {
    super(backend);
    this.algorithm = cfg.algorithm ?? 'auto';
    this.stride = cfg.stride ?? 1;
    this.padding = cfg.padding ?? 0;
    this.groups = cfg.groups ?? 1;
    const { inChannels: c, outChannels: k, kernelSize: ks } = cfg;
    if (c % this.groups !== 0 || k % this.groups !== 0) {
      throw new Error(`Conv2d: groups=${this.groups} must divide in_channels=${c} and out_channels=${k}`);
    }
    const fanIn = (c / this.groups) * ks * ks;
    this.weight = this.addParameter('weight', uniform(backend, [k, c / this.groups, ks, ks], 1 / Math.sqrt(fanIn), rng));
    this.bias = cfg.bias ? this.addParameter('bias', uniform(backend, [k], 1 / Math.sqrt(fanIn), rng)) : null;
  }

  private get opts() { return { stride: this.stride, padding: this.padding, groups: this.groups, algorithm: this.algorithm }; }

  forward(x: Tensor): Tensor {
    this.save(x);
    return conv2d(x, this.weight.value, this.bias?.value ?? null, this.opts);
  }

  backward(dy: Tensor): Tensor | null {
    return this.withSaved((x: Tensor) => {
      const g = conv2dBackward(x, this.weight.value, dy, this.opts, { input: this.inputGrad, bias: this.bias !== null });
      this.weight.accumulate(g.dw);
      if (this.bias) this.bias.accumulate(g.db!);
      return g.dx;
    });
  }
}

export class BatchNorm2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  runningMean: Tensor;
  runningVar: Tensor;
  /** PyTorch's num_batches_tracked: training forwards so far. */
  numBatchesTracked = 0;

  constructor(backend: Backend, readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super(backend);
    this.weight = this.addParameter('weight', Tensor.fill(backend, [numFeatures], 1));
    this.bias = this.addParameter('bias', Tensor.zeros(backend, [numFeatures]));
    this.runningMean = Tensor.zeros(backend, [numFeatures]);
    this.runningVar = Tensor.fill(backend, [numFeatures], 1);
    this.addBuffer('running_mean', () => this.runningMean);
    this.addBuffer('running_var', () => this.runningVar);
  }

  private get params() {
    return { weight: this.weight.value, bias: this.bias.value, runningMean: this.runningMean, runningVar: this.runningVar };
  }

  forward(x: Tensor): Tensor {
    if (!this.training) return batchNormEval(x, this.params, { eps: this.eps });
    const r = batchNormTrain(x, this.params, { momentum: this.momentum, eps: this.eps });
    this.numBatchesTracked++;
    this.save({ x, mean: r.saveMean, invStd: r.saveInvStd }, [r.saveMean, r.saveInvStd]);
    return r.y;
  }

  backward(dy: Tensor): Tensor {
    return this.withSaved(({ x, mean, invStd }: { x: Tensor; mean: Tensor; invStd: Tensor }) => {
      const g = batchNormBackward(x, dy, this.weight.value, mean, invStd);
      this.weight.accumulate(g.dweight);
      this.bias.accumulate(g.dbias);
      return g.dx;
    });
  }

  protected override captureState(): () => void {
    const mean = this.runningMean.toFloat32Array();
    const variance = this.runningVar.toFloat32Array();
    const n = this.numBatchesTracked;
    return () => {
      this.runningMean.data.set(mean);
      this.runningVar.data.set(variance);
      this.numBatchesTracked = n;
    };
  }
}

/** ReLU keeps its output (not its input) for the backward: the output's sign is the mask. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    const y = relu(x);
    this.save(y);
    return y;
  }
  backward(dy: Tensor): Tensor {
    return this.withSaved((y: Tensor) => reluBackward(y, dy));
  }
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;

  constructor(backend: Backend, readonly inFeatures: number, readonly outFeatures: number, rng: Rng | null = mulberry32(0)) {
    super(backend);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.addParameter('weight', uniform(backend, [outFeatures, inFeatures], bound, rng));
    this.bias = this.addParameter('bias', uniform(backend, [outFeatures], bound, rng));
  }

  forward(x: Tensor): Tensor {
    this.save(x);
    return linear(x, this.weight.value, this.bias.value);
  }

  backward(dy: Tensor): Tensor | null {
    return this.withSaved((x: Tensor) => {
      const g = linearBackward(x, this.weight.value, dy, { input: this.inputGrad, bias: true });
      this.weight.accumulate(g.dw);
      this.bias.accumulate(g.db!);
      return g.dx;
    });
  }
}

/** Global average pool and flatten: [n, c, h, w] -> [n, c] (RepVGG's gap + view). */
export class GlobalAvgPoolFlatten extends Module {
  forward(x: Tensor): Tensor {
    const pooled = globalAvgPool(x);
    const y = reshape(pooled, [x.shape[0], x.shape[1]]);
    pooled.dispose();
    this.save(x.shape);
    return y;
  }
  backward(dy: Tensor): Tensor {
    return this.withSaved((inputShape: readonly number[]) => {
      const dy4 = reshape(dy, [dy.shape[0], dy.shape[1], 1, 1]);
      const dx = globalAvgPoolBackward(dy4, inputShape);
      dy4.dispose();
      return dx;
    });
  }
}
