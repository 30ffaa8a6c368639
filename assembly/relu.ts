// ReLU and its backward over `len` floats.

import { f32at } from './util';

export function relu(x: usize, y: usize, len: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(f32at(y, i), f32x4.max(v128.load(f32at(x, i)), z));
  for (; i < len; i++) { const v = load<f32>(f32at(x, i)); store<f32>(f32at(y, i), v > 0 ? v : 0); }
}

/** dx = x > 0 ? dy : 0 */
export function relu_backward(x: usize, dy: usize, dx: usize, len: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    v128.store(f32at(dx, i), v128.and(v128.load(f32at(dy, i)), f32x4.gt(v128.load(f32at(x, i)), z)));
  }
  for (; i < len; i++) store<f32>(f32at(dx, i), load<f32>(f32at(x, i)) > 0 ? load<f32>(f32at(dy, i)) : 0);
}
