// Fused optimizer update, in place over `len` parameters (PyTorch's torch.optim semantics).

import { f32at } from './util';

/** Backend.adamwStep (src/backend.ts states the formula); step = 1-based count after this update. The hyper-parameters
 *  arrive as f64 so that 1 - beta2 and the bias corrections are formed before rounding to f32
 *  (f32(0.999) alone would make 1 - beta2 wrong by 1e-5 relative). */
export function adamw_step(p: usize, grad: usize, m: usize, v: usize, len: i32, lr: f64, beta1: f64, beta2: f64,
  eps: f64, weightDecay: f64, step: i32): void {
  const b1 = <f32>beta1;
  const b2 = <f32>beta2;
  const omb1 = <f32>(1 - beta1);
  const omb2 = <f32>(1 - beta2);
  const stepSize = <f32>(lr / (1 - Math.pow(beta1, <f64>step)));
  const invBc2Sqrt = <f32>(1 / Math.sqrt(1 - Math.pow(beta2, <f64>step)));
  const decay = <f32>(1 - lr * weightDecay);
  const e = <f32>eps;
  for (let i = 0; i < len; i++) {
    const g = load<f32>(f32at(grad, i));
    const pv = load<f32>(f32at(p, i)) * decay;
    const mv = b1 * load<f32>(f32at(m, i)) + omb1 * g;
    const vv = b2 * load<f32>(f32at(v, i)) + omb2 * g * g;
    store<f32>(f32at(m, i), mv);
    store<f32>(f32at(v, i), vv);
    const denom = Mathf.sqrt(vv) * invBc2Sqrt + e;
    store<f32>(f32at(p, i), pv - stepSize * mv / denom);
  }
}
