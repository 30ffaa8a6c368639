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

/** The single 3x3 kernel and bias equivalent to the three branches in eval mode (the official
 *  get_equivalent_kernel_bias). */
export function equivalentKernelBias(b: BranchValues): KernelBias {
  const per = b.inChannels / b.groups;
  const dense = fuseConvBn(b.dense.kernel, b.dense.bn);
  const one = fuseConvBn(b.oneByOne.kernel, b.oneByOne.bn);
  const onePadded = padKernelToSize(one.kernel, b.outChannels, per, 3);
  let id: { kernel: Float64Array; bias: Float64Array } | null = null;
  if (b.identity) {
    if (b.inChannels !== b.outChannels) {
      throw new Error(`equivalentKernelBias: an identity branch needs in == out channels, got ${b.inChannels} -> ${b.outChannels}`);
    }
    id = fuseConvBn(identityKernel(b.inChannels, b.groups, 3), b.identity);
  }
  const kernel = new Float32Array(dense.kernel.length);
  for (let i = 0; i < kernel.length; i++) kernel[i] = dense.kernel[i] + onePadded[i] + (id ? id.kernel[i] : 0);
  const bias = new Float32Array(b.outChannels);
  for (let o = 0; o < bias.length; o++) bias[o] = dense.bias[o] + one.bias[o] + (id ? id.bias[o] : 0);
  return { kernel, bias };
}
