// Fused optimizer update, in place over `len` parameters (PyTorch's torch.optim semantics).

import { f32at } from './util';

/** Backend.sgdStep (src/backend.ts states the formula), four lanes at a time. */
export function sgd_step(p: usize, grad: usize, buf: usize, len: i32, lr: f32, momentum: f32, weightDecay: f32, nesterov: bool): void {
  const lrv = f32x4.splat(lr);
  const mv = f32x4.splat(momentum);
  const wdv = f32x4.splat(weightDecay);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const pv = v128.load(f32at(p, i));
    const g = f32x4.add(v128.load(f32at(grad, i)), f32x4.mul(wdv, pv));
    let step = g;
    if (momentum != 0) {
      const b = f32x4.add(f32x4.mul(mv, v128.load(f32at(buf, i))), g);
      v128.store(f32at(buf, i), b);
      step = nesterov ? f32x4.add(g, f32x4.mul(mv, b)) : b;
    }
    v128.store(f32at(p, i), f32x4.sub(pv, f32x4.mul(lrv, step)));
  }
  for (; i < len; i++) {
    const pv = load<f32>(f32at(p, i));
    const g = load<f32>(f32at(grad, i)) + weightDecay * pv;
    let step = g;
    if (momentum != 0) {
      const b = momentum * load<f32>(f32at(buf, i)) + g;
      store<f32>(f32at(buf, i), b);
      step = nesterov ? g + momentum * b : b;
    }
    store<f32>(f32at(p, i), pv - lr * step);
  }
}
