// Global average pooling over each (image, channel) plane, and its backward.

import { f32at, hsum } from './util';

/** y[plane] = mean of x over the plane (planes = n * c). */
export function global_avg_pool(x: usize, y: usize, planes: i32, hw: i32): void {
  const inv: f64 = 1.0 / <f64>hw;
  for (let p = 0; p < planes; p++) {
    const xp = f32at(x, p * hw);
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= hw; i += 4) acc = f32x4.add(acc, v128.load(f32at(xp, i)));
    let s: f64 = hsum(acc);
    for (; i < hw; i++) s += <f64>load<f32>(f32at(xp, i));
    store<f32>(f32at(y, p), <f32>(s * inv));
  }
}

export function global_avg_pool_backward(dy: usize, dx: usize, planes: i32, hw: i32): void {
  for (let p = 0; p < planes; p++) {
    const v = load<f32>(f32at(dy, p)) / <f32>hw;
    const sv = f32x4.splat(v);
    const dp = f32at(dx, p * hw);
    let i = 0;
    for (; i + 4 <= hw; i += 4) v128.store(f32at(dp, i), sv);
    for (; i < hw; i++) store<f32>(f32at(dp, i), v);
  }
}
