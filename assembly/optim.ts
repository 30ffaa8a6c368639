// Fused optimizer updates, in place over `len` parameters (PyTorch's torch.optim semantics).

// @ts-ignore: decorator
@inline function f32at(p: usize, i: i32): usize { return p + ((<usize>i) << 2); }

/** SGD with dampening 0: g = grad + wd p; buf = mom buf + g; p -= lr (nesterov ? g + mom buf : buf). */
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

/** AdamW (decoupled weight decay), step = 1-based count after this update. The hyper-parameters
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
