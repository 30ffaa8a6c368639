// RepVGGBlock: three branches in training form (3x3 conv+BN, 1x1 conv+BN, identity BN when
// in == out and stride 1), one 3x3 conv with bias in deploy form; optional SE on the branch sum;
// ReLU last. Names follow the official code: rbr_dense.{conv,bn}, rbr_1x1.{conv,bn},
// rbr_identity, rbr_reparam, se.{down,up}.
import type { Backend } from '../backend.js';
import { addInPlace } from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { BatchNorm2d, Conv2d, ReLU } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { SEBlock } from '../nn/se.js';
import { Sequential } from '../nn/sequential.js';
import { mulberry32, type Rng } from '../random.js';
import { equivalentKernelBias, type BnValues, type KernelBias } from './reparam.js';

export interface BlockConfig {
  inChannels: number;
  outChannels: number;
  stride: number;
  groups: number;
  useSE: boolean;
  /** build the fused (deploy) form directly */
  deploy?: boolean;
}

/** conv (no bias) then BN, as the official conv_bn: a Sequential named conv, bn. */
function convBn(backend: Backend, c: number, k: number, ks: number, stride: number, padding: number, groups: number, rng: Rng | null): Sequential {
  const conv = new Conv2d(backend, { inChannels: c, outChannels: k, kernelSize: ks, stride, padding, groups, bias: false }, rng);
  return new Sequential(backend, [conv, new BatchNorm2d(backend, k)], ['conv', 'bn']);
}

/** A BN's eval-mode values, copied out of the backend. */
export function bnValues(bn: BatchNorm2d): BnValues {
  return {
    gamma: bn.weight.value.toFloat32Array(), beta: bn.bias.value.toFloat32Array(),
    mean: bn.runningMean.toFloat32Array(), var: bn.runningVar.toFloat32Array(), eps: bn.eps,
  };
}

export class RepVGGBlock extends Module {
  rbrDense: Sequential | null = null;
  rbr1x1: Sequential | null = null;
  rbrIdentity: BatchNorm2d | null = null;
  rbrReparam: Conv2d | null = null;
  readonly se: SEBlock | null;
  readonly nonlinearity: ReLU;

  /** `rng` null: weights start at zero (they are about to be overwritten). */
  constructor(backend: Backend, readonly cfg: BlockConfig, rng: Rng | null = mulberry32(0)) {
    super(backend);
    const { inChannels: c, outChannels: k, stride, groups } = cfg;
    if (!Number.isInteger(c) || !Number.isInteger(k) || c <= 0 || k <= 0) {
      throw new Error(`RepVGGBlock: channels must be positive integers, got ${c} -> ${k}`);
    }
    if (c % groups !== 0 || k % groups !== 0) {
      throw new Error(`RepVGGBlock: groups=${groups} must divide in_channels=${c} and out_channels=${k}`);
    }
    // Registered in the official order (nonlinearity, se, then the branches), so state dicts list
    // keys as PyTorch's do (the ReLU has no parameters, so it adds no keys).
    this.nonlinearity = this.addModule('nonlinearity', new ReLU(backend));
    this.se = cfg.useSE ? this.addModule('se', new SEBlock(backend, k, Math.floor(k / 16), rng)) : null;
    if (cfg.deploy) {
      this.rbrReparam = this.addModule('rbr_reparam',
        new Conv2d(backend, { inChannels: c, outChannels: k, kernelSize: 3, stride, padding: 1, groups, bias: true }, rng));
    } else {
      if (c === k && stride === 1) this.rbrIdentity = this.addModule('rbr_identity', new BatchNorm2d(backend, c));
      this.rbrDense = this.addModule('rbr_dense', convBn(backend, c, k, 3, stride, 1, groups, rng));
      this.rbr1x1 = this.addModule('rbr_1x1', convBn(backend, c, k, 1, stride, 0, groups, rng));
    }
  }

  get deploy(): boolean { return this.rbrReparam !== null; }

  /** Every branch sees the block's input. (The identity BN's input gradient is always computed: it
   *  only exists inside a stage, where the input needs its gradient.) */
  protected override propagateInputGrad(on: boolean): void {
    for (const m of [this.rbrDense, this.rbr1x1, this.rbrReparam]) if (m) m.inputGrad = on;
  }

  forward(x: Tensor): Tensor {
    this.releaseSaved();
    let sum: Tensor;
    if (this.rbrReparam) {
      sum = this.rbrReparam.forward(x);
    } else {
      // The branch outputs are not needed by any backward (each BN keeps its own input): the sum
      // is built into the first and the others are freed at once.
      sum = this.rbrDense!.forward(x);
      for (const branch of [this.rbr1x1!, this.rbrIdentity]) {
        if (!branch) continue;
        const out = branch.forward(x);
        addInPlace(sum, out);
        out.dispose();
      }
    }
    if (!this.se) {
      const y = this.nonlinearity.forward(sum);
      sum.dispose(); // the ReLU's backward uses its output
      return y;
    }
    const pre = this.se.forward(sum);
    this.save(null, [sum]); // the SE keeps the sum (its input) by reference
    const y = this.nonlinearity.forward(pre);
    pre.dispose();
    return y;
  }

  backward(dy: Tensor): Tensor | null {
    let g = this.nonlinearity.backward(dy);
    if (this.se) {
      // The SE reads the branch sum (its input), which this block saved: released right after.
      const gs = this.withSaved(() => this.se!.backward(g));
      g.dispose();
      g = gs;
    }
    let dx: Tensor | null;
    if (this.rbrReparam) {
      dx = this.rbrReparam.backward(g);
    } else {
      dx = this.rbrDense!.backward(g);
      for (const branch of [this.rbr1x1!, this.rbrIdentity]) {
        if (!branch) continue;
        const d = branch.backward(g);
        if (dx && d) addInPlace(dx, d);
        d?.dispose();
      }
    }
    g.dispose();
    return dx;
  }

  /** The 3x3 kernel and bias this block is equivalent to in eval mode (the official
   *  get_equivalent_kernel_bias), without converting anything. */
  getEquivalentKernelBias(): KernelBias {
    if (this.rbrReparam) {
      return { kernel: this.rbrReparam.weight.value.toFloat32Array(), bias: this.rbrReparam.bias!.value.toFloat32Array() };
    }
    const dense = this.rbrDense!;
    const one = this.rbr1x1!;
    const bn = { dense: bnValues(dense.at(1) as BatchNorm2d), one: bnValues(one.at(1) as BatchNorm2d),
      identity: this.rbrIdentity ? bnValues(this.rbrIdentity) : null };
    // Live views of the kernels, not copies: nothing below allocates on the backend, so they stay valid.
    return equivalentKernelBias({
      inChannels: this.cfg.inChannels, outChannels: this.cfg.outChannels, groups: this.cfg.groups,
      dense: { kernel: (dense.at(0) as Conv2d).weight.value.data, bn: bn.dense },
      oneByOne: { kernel: (one.at(0) as Conv2d).weight.value.data, bn: bn.one },
      identity: bn.identity,
    });
  }

  /** Replaces the three branches by one 3x3 conv with bias (the official switch_to_deploy). */
  switchToDeploy(): void {
    if (this.rbrReparam) return;
    const { kernel, bias } = this.getEquivalentKernelBias();
    const { inChannels: c, outChannels: k, stride, groups } = this.cfg;
    const conv = new Conv2d(this.backend, { inChannels: c, outChannels: k, kernelSize: 3, stride, padding: 1, groups, bias: true }, null);
    conv.weight.value.data.set(kernel);
    conv.bias!.value.data.set(bias);
    conv.train(this.training);
    conv.inputGrad = this.inputGrad;
    this.releaseSaved();
    this.rbrDense!.dispose();
    this.rbr1x1!.dispose();
    this.rbrIdentity?.dispose();
    this.rbrDense = this.rbr1x1 = this.rbrIdentity = null;
    this.replaceBranches(conv);
  }

  /** Swaps the registered children for the fused conv, keeping the SE (if any) before it, as the
   *  official module order has it after switch_to_deploy. */
  private replaceBranches(conv: Conv2d): void {
    this.rbrReparam = conv;
    const se: [string, Module][] = this.se ? [['se', this.se]] : [];
    this.setModules([['nonlinearity', this.nonlinearity], ...se, ['rbr_reparam', conv]]);
  }
}
