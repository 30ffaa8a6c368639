// The official "custom L2" (RepVGGBlock.get_custom_L2): instead of decaying the 3x3 and 1x1
// kernels separately, penalize the kernel the block is equivalent to. Per block with both branches
// (BN scales t3, t1 treated as constants, as the official .detach()):
//   circle = sum(K3^2) - sum(K3[:, :, 1, 1]^2)                  (the 3x3 ring, outside the centre)
//   eq     = K3[:, :, 1, 1] * t3 + K1 * t1                      (the equivalent centre)
//   L2     = circle + sum(eq^2 / (t3^2 + t1^2))
// The training loss gets + weightDecay / 2 * sum of L2 over blocks, and those kernels get no
// ordinary weight decay (the official train script excludes rbr_dense and rbr_1x1 from it).
import type { BatchNorm2d, Conv2d } from '../nn/layers.js';
import { bnValues } from '../models/block.js';
import { bnScale } from '../models/reparam.js';
import type { RepVGG } from '../models/repvgg.js';
import { Tensor } from '../tensor.js';

/** Adds the gradient of weightDecay / 2 * L2 into the kernels' grads; returns that loss term. */
export function applyCustomL2(model: RepVGG, weightDecay: number): number {
  let total = 0;
  for (const block of model.blocks) {
    if (!block.rbrDense || !block.rbr1x1) continue;
    const conv3 = block.rbrDense.at(0) as Conv2d;
    const conv1 = block.rbr1x1.at(0) as Conv2d;
    const t3 = bnScale(bnValues(block.rbrDense.at(1) as BatchNorm2d));
    const t1 = bnScale(bnValues(block.rbr1x1.at(1) as BatchNorm2d));
    const k3 = conv3.weight.value.toFloat32Array();
    const k1 = conv1.weight.value.toFloat32Array();
    const [out, inPer, kh, kw] = conv3.weight.value.shape;
    const centre = Math.floor(kh / 2) * kw + Math.floor(kw / 2);
    const g3 = new Float32Array(k3.length);
    const g1 = new Float32Array(k1.length);
    const c = weightDecay / 2;
    let l2 = 0;
    for (let o = 0; o < out; o++) {
      const denom = t3[o] * t3[o] + t1[o] * t1[o];
      for (let i = 0; i < inPer; i++) {
        const base = (o * inPer + i) * kh * kw;
        for (let t = 0; t < kh * kw; t++) {
          if (t === centre) continue;
          const w = k3[base + t];
          l2 += w * w;
          g3[base + t] = c * 2 * w;
        }
        const eq = k3[base + centre] * t3[o] + k1[o * inPer + i] * t1[o];
        l2 += (eq * eq) / denom;
        g3[base + centre] = c * 2 * eq * t3[o] / denom;
        g1[o * inPer + i] = c * 2 * eq * t1[o] / denom;
      }
    }
    total += c * l2;
    conv3.weight.accumulate(Tensor.from(model.backend, g3, conv3.weight.value.shape));
    conv1.weight.accumulate(Tensor.from(model.backend, g1, conv1.weight.value.shape));
  }
  return total;
}

/** No ordinary weight decay where the custom L2 applies. */
export function customL2NoDecay(name: string): boolean {
  return name.includes('bias') || name.includes('bn') || name.includes('rbr_dense') || name.includes('rbr_1x1');
}
