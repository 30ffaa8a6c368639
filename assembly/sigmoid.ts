// Sigmoid (the SE block's gate) and its backward over `len` floats.

import { f32at } from './util';

export function sigmoid(x: usize, y: usize, len: i32): void {
  for (let i = 0; i < len; i++) {
    const v = load<f32>(f32at(x, i));
    // exp of a non-positive number only: no overflow for large |v|.
    let s: f32;
    if (v >= 0) s = 1 / (1 + Mathf.exp(-v));
    else { const e = Mathf.exp(v); s = e / (1 + e); }
    store<f32>(f32at(y, i), s);
  }
}

/** dx = dy * y * (1 - y), y the sigmoid's output. */
export function sigmoid_backward(y: usize, dy: usize, dx: usize, len: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const s = v128.load(f32at(y, i));
    v128.store(f32at(dx, i), f32x4.mul(v128.load(f32at(dy, i)), f32x4.mul(s, f32x4.sub(one, s))));
  }
  for (; i < len; i++) {
    const s = load<f32>(f32at(y, i));
    store<f32>(f32at(dx, i), load<f32>(f32at(dy, i)) * s * (1 - s));
  }
}
