// RepVGGBlock: three branches in training form (3x3 conv+BN, 1x1 conv+BN, identity BN when
// in == out and stride 1), one 3x3 conv with bias in deploy form; optional SE on the branch sum;
// ReLU last. Names follow the official code: rbr_dense.{conv,bn}, rbr_1x1.{conv,bn},
// rbr_identity, rbr_reparam, se.{down,up}.
import type { Backend } from '../backend.js';
import { addInPlace } from '../ops/index.js';
import type { Tensor } from '../tensor.js';
import { BatchNorm2d, Conv2d, ReLU, SEBlock, Sequential, mulberry32, type Rng } from '../nn/layers.js';
import { Module } from '../nn/module.js';
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
  private readonly nonlinearity: ReLU;
  /** The branch sum, kept for the SE backward. */
  private savedSum: Tensor | null = null;

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
    // Registered in the official order (se, then the branches), so state dicts list keys as PyTorch's do.
    this.se = cfg.useSE ? this.addModule('se', new SEBlock(backend, k, Math.floor(k / 16), rng)) : null;
    if (cfg.deploy) {
      this.rbrReparam = this.addModule('rbr_reparam',
        new Conv2d(backend, { inChannels: c, outChannels: k, kernelSize: 3, stride, padding: 1, groups, bias: true }, rng));
    } else {
      if (c === k && stride === 1) this.rbrIdentity = this.addModule('rbr_identity', new BatchNorm2d(backend, c));
      this.rbrDense = this.addModule('rbr_dense', convBn(backend, c, k, 3, stride, 1, groups, rng));
      this.rbr1x1 = this.addModule('rbr_1x1', convBn(backend, c, k, 1, stride, 0, groups, rng));
    }
    // The ReLU has no parameters; it is not a named child (the official one is not in the state dict either).
    this.nonlinearity = new ReLU(backend);
  }

  get deploy(): boolean { return this.rbrReparam !== null; }

  override train(mode = true): this {
    super.train(mode);
    this.nonlinearity.train(mode);
    return this;
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
      const one = this.rbr1x1!.forward(x);
      addInPlace(sum, one);
      one.dispose();
      if (this.rbrIdentity) {
        const id = this.rbrIdentity.forward(x);
        addInPlace(sum, id);
        id.dispose();
      }
    }
    let pre = sum;
    if (this.se) {
      pre = this.se.forward(sum);
      if (this.training) this.savedSum = sum;
      else sum.dispose();
    }
    const y = this.nonlinearity.forward(pre);
    pre.dispose(); // ReLU's backward uses its output
    return y;
  }

  backward(dy: Tensor): Tensor {
    let g = this.nonlinearity.backward(dy);
    if (this.se) {
      const g2 = this.se.backward(g);
      g.dispose();
      g = g2;
      this.savedSum?.dispose();
      this.savedSum = null;
    }
    let dx: Tensor;
    if (this.rbrReparam) {
      dx = this.rbrReparam.backward(g);
    } else {
      dx = this.rbrDense!.backward(g);
      const d1 = this.rbr1x1!.backward(g);
      addInPlace(dx, d1);
      d1.dispose();
      if (this.rbrIdentity) {
        const di = this.rbrIdentity.backward(g);
        addInPlace(dx, di);
        di.dispose();
      }
    }
    g.dispose();
    return dx;
  }

  override releaseSaved(): void {
    super.releaseSaved();
    this.nonlinearity.releaseSaved();
    this.savedSum?.dispose();
    this.savedSum = null;
  }

  /**
   * Forward again for a backward under gradient checkpointing: the same batch gives the same batch
   * statistics, so the outputs are identical; the running statistics (already updated by the first
   * forward) are put back as they were, so they are updated once per step, as without checkpointing.
   */
  recomputeForward(x: Tensor): Tensor {
    const bns = this.namedModules().map(([, m]) => m).filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
    const saved = bns.map((bn) => ({ mean: bn.runningMean.toFloat32Array(), var: bn.runningVar.toFloat32Array(), n: bn.numBatchesTracked }));
    const y = this.forward(x);
    bns.forEach((bn, i) => {
      bn.runningMean.data.set(saved[i].mean);
      bn.runningVar.data.set(saved[i].var);
      bn.numBatchesTracked = saved[i].n;
    });
    return y;
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
    this.setModules(this.se ? [['se', this.se], ['rbr_reparam', conv]] : [['rbr_reparam', conv]]);
  }
}
