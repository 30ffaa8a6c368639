// Structural re-parameterization, as plain arithmetic on Float32Arrays (GUIDE.md section 2):
//   fold each BN into the kernel before it:  W' = W * gamma / std,  b' = beta - mean * gamma / std
//   pad the 1x1 kernel to 3x3 (its value at the centre)
//   the identity branch is a 3x3 kernel with 1 at the centre of its own channel (group-aware)
//   sum the three.
// Computed in float64 and rounded once, so the fused kernel is as close to the three branches as
// float32 allows.

/** A BN's four tensors (eval-mode statistics) and its eps. */
export interface BnValues {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  var: Float32Array;
  eps: number;
}

export interface KernelBias {
  /** [out, in / groups, k, k] */
  kernel: Float32Array;
  /** [out] */
  bias: Float32Array;
}

/** Folds BN into a conv kernel [out, inPerGroup, k, k] (no conv bias). */
export function fuseConvBn(kernel: Float32Array, bn: BnValues): { kernel: Float64Array; bias: Float64Array } {
  const out = bn.gamma.length;
  if (kernel.length % out !== 0) throw new Error(`fuseConvBn: kernel of ${kernel.length} values does not split into ${out} output channels`);
  const per = kernel.length / out;
  const k = new Float64Array(kernel.length);
  const b = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    const t = bn.gamma[o] / Math.sqrt(bn.var[o] + bn.eps);
    for (let i = 0; i < per; i++) k[o * per + i] = kernel[o * per + i] * t;
    b[o] = bn.beta[o] - bn.mean[o] * t;
  }
  return { kernel: k, bias: b };
}

/** Zero-pads a [out, inPerGroup, 1, 1] kernel to [out, inPerGroup, size, size] (value at the centre). */
export function padKernelToSize(k1: Float64Array, out: number, inPerGroup: number, size: number): Float64Array {
  const k = new Float64Array(out * inPerGroup * size * size);
  const centre = Math.floor(size / 2) * size + Math.floor(size / 2);
  for (let i = 0; i < out * inPerGroup; i++) k[i * size * size + centre] = k1[i];
  return k;
}

/** The identity as a [channels, channels / groups, size, size] kernel: 1 at the centre of
 *  K[o][o mod (channels / groups)]. */
export function identityKernel(channels: number, groups: number, size: number): Float32Array {
  const per = channels / groups;
  const k = new Float32Array(channels * per * size * size);
  const centre = Math.floor(size / 2) * size + Math.floor(size / 2);
  for (let o = 0; o < channels; o++) k[(o * per + (o % per)) * size * size + centre] = 1;
  return k;
}

export interface BranchValues {
  inChannels: number;
  outChannels: number;
  groups: number;
  /** 3x3 kernel [out, in / groups, 3, 3] and its BN */
  dense: { kernel: Float32Array; bn: BnValues };
  /** 1x1 kernel [out, in / groups, 1, 1] and its BN */
  oneByOne: { kernel: Float32Array; bn: BnValues };
  /** the identity BN, present only when in == out and stride 1 */
  identity: BnValues | null;
}

/** gamma / sqrt(var + eps) per channel, in float64. */
export function bnScale(bn: BnValues): Float64Array {
  const t = new Float64Array(bn.gamma.length);
  for (let o = 0; o < t.length; o++) t[o] = bn.gamma[o] / Math.sqrt(bn.var[o] + bn.eps);
  return t;
}

/** The single 3x3 kernel and bias equivalent to the three branches in eval mode (the official
 *  get_equivalent_kernel_bias). One pass over the 3x3 kernel: the 1x1 and identity branches only
 *  touch the centre tap, so neither a padded 1x1 nor a full identity kernel is materialized; the
 *  sums are taken in the same order (3x3 + 1x1 + identity) in float64 and rounded once. */
export function equivalentKernelBias(b: BranchValues): KernelBias {
  const { inChannels: c, outChannels: k, groups } = b;
  if (!Number.isInteger(c / groups) || !Number.isInteger(k / groups)) {
    throw new Error(`equivalentKernelBias: groups=${groups} must divide in_channels=${c} and out_channels=${k}`);
  }
  const per = c / groups;
  if (b.dense.kernel.length !== k * per * 9) {
    throw new Error(`equivalentKernelBias: the 3x3 kernel has ${b.dense.kernel.length} values, expected ${k * per * 9} ([${k},${per},3,3])`);
  }
  if (b.oneByOne.kernel.length !== k * per) {
    throw new Error(`equivalentKernelBias: the 1x1 kernel has ${b.oneByOne.kernel.length} values, expected ${k * per} ([${k},${per},1,1])`);
  }
  for (const [name, bn] of [['3x3', b.dense.bn], ['1x1', b.oneByOne.bn], ['identity', b.identity]] as const) {
    if (bn && (bn.gamma.length !== k || bn.beta.length !== k || bn.mean.length !== k || bn.var.length !== k)) {
      throw new Error(`equivalentKernelBias: the ${name} branch's BN must have ${k} channels`);
    }
  }
  if (b.identity && c !== k) {
    throw new Error(`equivalentKernelBias: an identity branch needs in == out channels, got ${c} -> ${k}`);
  }
  const t3 = bnScale(b.dense.bn);
  const t1 = bnScale(b.oneByOne.bn);
  const tid = b.identity ? bnScale(b.identity) : null;
  const k3 = b.dense.kernel;
  const k1 = b.oneByOne.kernel;
  const kernel = new Float32Array(k3.length);
  const bias = new Float32Array(k);
  for (let o = 0; o < k; o++) {
    const s3 = t3[o];
    const s1 = t1[o];
    // The identity kernel is 1 at the centre of K[o][o mod per] (GUIDE.md section 2).
    const idIn = o % per;
    for (let i = 0; i < per; i++) {
      const base = (o * per + i) * 9;
      for (let j = 0; j < 9; j++) kernel[base + j] = k3[base + j] * s3;
      let centre = k3[base + 4] * s3 + k1[o * per + i] * s1;
      if (tid && i === idIn) centre += tid[o];
      kernel[base + 4] = centre;
    }
    let bo = (b.dense.bn.beta[o] - b.dense.bn.mean[o] * s3) + (b.oneByOne.bn.beta[o] - b.oneByOne.bn.mean[o] * s1);
    if (tid) bo += b.identity!.beta[o] - b.identity!.mean[o] * tid[o];
    bias[o] = bo;
  }
  return { kernel, bias };
}
