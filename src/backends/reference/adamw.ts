// PyTorch's AdamW update (the formula is in backend.ts).
import type { AdamWOptions } from '../../backend.js';

/** Backend.adamwStep, element by element, in PyTorch's order of operations (the bias corrections
 *  applied as lr / (1 - b1^t) and sqrt(v) / sqrt(1 - b2^t), as torch.optim.AdamW computes them). */
export function adamwStep(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array,
  o: AdamWOptions): void {
  const { lr, beta1, beta2, eps, weightDecay, step } = o;
  const stepSize = lr / (1 - Math.pow(beta1, step));
  const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
  const decay = 1 - lr * weightDecay;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    param[i] *= decay;
    param[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}
