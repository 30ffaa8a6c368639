// The layers RepVGG is made of, each with its backward beside its forward: Conv2d, BatchNorm2d,
// ReLU, Linear, GlobalAvgPool (with flatten), SEBlock and Sequential.
import type { Backend } from '../backend.js';
import {
  addInPlace, batchNorm2d, batchNorm2dBackward, channelScale, channelScaleBackward, conv2d, conv2dBackward,
  globalAvgPool, globalAvgPoolBackward, linear, linearBackward, relu, reluBackward, reshape, sigmoid,
  sigmoidBackward,
} from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { Module, type Parameter } from './module.js';
import { Mulberry32 } from '../random.js';

/** A seeded generator of uniform values in [0, 1). */
export type Rng = () => number;

/** A generator with a bulk fill that continues the same sequence (see Mulberry32.fillUniform). */
export interface SeededRng extends Rng {
  /** out[i] = (next() * 2 - 1) * bound for every i, exactly as that many calls would give. */
  fillUniform(out: Float32Array, bound: number): void;
}

/** The library's mulberry32 as a function, for weight initialisation. */
export function mulberry32(seed: number): SeededRng {
  const g = new Mulberry32(seed);
  const next = (() => g.next()) as SeededRng;
  next.fillUniform = (out, bound) => g.fillUniform(out, bound);
  return next;
}

/** Uniform values in [-bound, bound] from a seeded generator (PyTorch's kaiming_uniform(a=sqrt 5)
 *  bound for conv and linear weights is 1 / sqrt(fan_in)). A null generator gives zeros: for
 *  modules whose values are about to be overwritten (a fused conv, a model being loaded). */
function uniform(backend: Backend, shape: number[], bound: number, rng: Rng | null): Tensor {
  const t = Tensor.zeros(backend, shape);
  if (rng === null) return t;
  const d = t.data;
  if ('fillUniform' in rng) (rng as SeededRng).fillUniform(d, bound);
  else for (let i = 0; i < d.length; i++) d[i] = (rng() * 2 - 1) * bound;
  return t;
}

export interface Conv2dConfig {
  inChannels: number; outChannels: number; kernelSize: number;
  stride?: number; padding?: number; groups?: number; bias?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly stride: number; readonly padding: number; readonly groups: number;
  private savedX: Tensor | null = null;

  constructor(backend: Backend, readonly cfg: Conv2dConfig, rng: Rng | null = mulberry32(0)) {
    super(backend);
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

  private get opts() { return { stride: this.stride, padding: this.padding, groups: this.groups }; }

  forward(x: Tensor): Tensor {
    const y = conv2d(x, this.weight.value, this.bias?.value ?? null, this.opts);
    if (this.training) this.savedX = x;
    return y;
  }

  backward(dy: Tensor): Tensor {
    if (!this.savedX) throw new Error('Conv2d.backward: no saved input (call forward in training mode first)');
    const g = conv2dBackward(this.savedX, this.weight.value, dy, this.opts, { input: true, bias: this.bias !== null });
    this.weight.accumulate(g.dw);
    if (this.bias && g.db) this.bias.accumulate(g.db);
    this.savedX = null; // not ours to dispose
    return g.dx!;
  }

  override releaseSaved(): void { this.savedX = null; }
}

export class BatchNorm2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  runningMean: Tensor;
  runningVar: Tensor;
  /** PyTorch's num_batches_tracked: training forwards so far. */
  numBatchesTracked = 0;
  private saved: { x: Tensor; mean: Tensor; invStd: Tensor } | null = null;

  constructor(backend: Backend, readonly numFeatures: number, readonly eps = 1e-5, readonly momentum = 0.1) {
    super(backend);
    this.weight = this.addParameter('weight', Tensor.fill(backend, [numFeatures], 1));
    this.bias = this.addParameter('bias', Tensor.zeros(backend, [numFeatures]));
    this.runningMean = Tensor.zeros(backend, [numFeatures]);
    this.runningVar = Tensor.fill(backend, [numFeatures], 1);
    this.addBuffer('running_mean', () => this.runningMean);
    this.addBuffer('running_var', () => this.runningVar);
  }

  forward(x: Tensor): Tensor {
    const r = batchNorm2d(x, {
      weight: this.weight.value, bias: this.bias.value, runningMean: this.runningMean, runningVar: this.runningVar,
    }, { training: this.training, momentum: this.momentum, eps: this.eps });
    if (this.training) {
      this.numBatchesTracked++;
      this.releaseSaved();
      this.saved = { x, mean: r.saveMean!, invStd: r.saveInvStd! };
    }
    return r.y;
  }

  backward(dy: Tensor): Tensor {
    if (!this.saved) throw new Error('BatchNorm2d.backward: no saved statistics (call forward in training mode first)');
    const { x, mean, invStd } = this.saved;
    const g = batchNorm2dBackward(x, dy, this.weight.value, mean, invStd);
    this.weight.accumulate(g.dweight);
    this.bias.accumulate(g.dbias);
    this.releaseSaved();
    return g.dx;
  }

  override releaseSaved(): void {
    if (this.saved) {
      this.saved.mean.dispose();
      this.saved.invStd.dispose();
      this.saved = null;
    }
  }
}

/** ReLU keeps its output (not its input) for the backward: the output's sign is the mask. */
export class ReLU extends Module {
  private savedY: Tensor | null = null;
  forward(x: Tensor): Tensor {
    const y = relu(x);
    if (this.training) this.savedY = y;
    return y;
  }
  backward(dy: Tensor): Tensor {
    if (!this.savedY) throw new Error('ReLU.backward: no saved output (call forward in training mode first)');
    const dx = reluBackward(this.savedY, dy);
    this.savedY = null;
    return dx;
  }
  override releaseSaved(): void { this.savedY = null; }
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter;
  private savedX: Tensor | null = null;

  constructor(backend: Backend, readonly inFeatures: number, readonly outFeatures: number, rng: Rng | null = mulberry32(0)) {
    super(backend);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.addParameter('weight', uniform(backend, [outFeatures, inFeatures], bound, rng));
    this.bias = this.addParameter('bias', uniform(backend, [outFeatures], bound, rng));
  }

  forward(x: Tensor): Tensor {
    const y = linear(x, this.weight.value, this.bias.value);
    if (this.training) this.savedX = x;
    return y;
  }

  backward(dy: Tensor): Tensor {
    if (!this.savedX) throw new Error('Linear.backward: no saved input (call forward in training mode first)');
    const g = linearBackward(this.savedX, this.weight.value, dy, { input: true, bias: true });
    this.weight.accumulate(g.dw);
    this.bias.accumulate(g.db!);
    this.savedX = null;
    return g.dx!;
  }

  override releaseSaved(): void { this.savedX = null; }
}

/** Global average pool and flatten: [n, c, h, w] -> [n, c] (RepVGG's gap + view). */
export class GlobalAvgPoolFlatten extends Module {
  private inputShape: readonly number[] | null = null;
  forward(x: Tensor): Tensor {
    const pooled = globalAvgPool(x);
    const y = reshape(pooled, [x.shape[0], x.shape[1]]);
    pooled.dispose();
    if (this.training) this.inputShape = x.shape;
    return y;
  }
  backward(dy: Tensor): Tensor {
    if (!this.inputShape) throw new Error('GlobalAvgPoolFlatten.backward: call forward in training mode first');
    const dy4 = reshape(dy, [dy.shape[0], dy.shape[1], 1, 1]);
    const dx = globalAvgPoolBackward(dy4, this.inputShape);
    dy4.dispose();
    this.inputShape = null;
    return dx;
  }
}

/** Squeeze-and-excitation as the official RepVGG (SEBlock): pool, 1x1 conv down (bias), ReLU,
 *  1x1 conv up (bias), sigmoid, multiply the input per channel. Names: `down`, `up`. */
export class SEBlock extends Module {
  readonly down: Conv2d;
  readonly up: Conv2d;
  private saved: { x: Tensor; pooled: Tensor; h: Tensor; hr: Tensor; s: Tensor } | null = null;

  constructor(backend: Backend, channels: number, internal: number, rng: Rng | null = mulberry32(0)) {
    super(backend);
    this.down = this.addModule('down', new Conv2d(backend, { inChannels: channels, outChannels: internal, kernelSize: 1, bias: true }, rng));
    this.up = this.addModule('up', new Conv2d(backend, { inChannels: internal, outChannels: channels, kernelSize: 1, bias: true }, rng));
  }

  forward(x: Tensor): Tensor {
    // The 1x1 convs run as plain ops (their modules only hold the parameters and names): this
    // block keeps its own intermediates and writes its own backward.
    const pooled = globalAvgPool(x);
    const h = conv2d(pooled, this.down.weight.value, this.down.bias!.value);
    const hr = relu(h);
    const u = conv2d(hr, this.up.weight.value, this.up.bias!.value);
    const s = sigmoid(u);
    u.dispose();
    const y = channelScale(x, s);
    if (this.training) {
      this.releaseSaved();
      this.saved = { x, pooled, h, hr, s };
    } else {
      pooled.dispose(); h.dispose(); hr.dispose(); s.dispose();
    }
    return y;
  }

  backward(dy: Tensor): Tensor {
    if (!this.saved) throw new Error('SEBlock.backward: call forward in training mode first');
    const { x, pooled, h, hr, s } = this.saved;
    const { dx, ds } = channelScaleBackward(x, s, dy);
    const du = sigmoidBackward(s, ds);
    ds.dispose();
    const up = conv2dBackward(hr, this.up.weight.value, du, {}, { input: true, bias: true });
    du.dispose();
    this.up.weight.accumulate(up.dw);
    this.up.bias!.accumulate(up.db!);
    const dh = reluBackward(h, up.dx!);
    up.dx!.dispose();
    const down = conv2dBackward(pooled, this.down.weight.value, dh, {}, { input: true, bias: true });
    dh.dispose();
    this.down.weight.accumulate(down.dw);
    this.down.bias!.accumulate(down.db!);
    const dxPool = globalAvgPoolBackward(down.dx!, x.shape);
    down.dx!.dispose();
    addInPlace(dx, dxPool);
    dxPool.dispose();
    this.releaseSaved();
    return dx;
  }

  override releaseSaved(): void {
    if (this.saved) {
      const { pooled, h, hr, s } = this.saved;
      pooled.dispose(); h.dispose(); hr.dispose(); s.dispose();
      this.saved = null;
    }
  }
}

/** Runs children in order. Keeps the intermediate outputs of a training forward until the
 *  backward has passed both their producer and their consumer. */
export class Sequential extends Module {
  private readonly mods: Module[] = [];
  private outputs: Tensor[] = [];

  constructor(backend: Backend, modules: Module[] = [], names?: string[]) {
    super(backend);
    modules.forEach((m, i) => this.append(m, names?.[i] ?? String(i)));
  }

  append(m: Module, name = String(this.mods.length)): this {
    this.addModule(name, m);
    this.mods.push(m);
    return this;
  }

  get length(): number { return this.mods.length; }
  at(i: number): Module { return this.mods[i]; }

  forward(x: Tensor): Tensor {
    if (this.mods.length === 0) throw new Error('Sequential.forward: no modules');
    this.releaseSaved();
    let cur = x;
    for (let i = 0; i < this.mods.length; i++) {
      const next = this.mods[i].forward(cur);
      if (i > 0) {
        if (this.training) this.outputs.push(cur);
        else cur.dispose();
      }
      cur = next;
    }
    return cur;
  }

  backward(dy: Tensor): Tensor {
    let g = dy;
    for (let i = this.mods.length - 1; i >= 0; i--) {
      const next = this.mods[i].backward(g);
      if (g !== dy) g.dispose();
      g = next;
      // outputs[i] is module i's output (module i + 1's input): both are done with it now.
      if (i < this.outputs.length) this.outputs[i].dispose();
    }
    this.outputs = [];
    return g;
  }

  override releaseSaved(): void {
    super.releaseSaved();
    for (const t of this.outputs) t.dispose();
    this.outputs = [];
  }
}
