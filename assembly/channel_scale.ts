// The SE block's excitation: each (image, channel) plane times its own scale, and the backward.

import { f32at, hsum32 } from './util';

/** y[n, c, :] = x[n, c, :] * s[n, c] */
export function channel_scale(x: usize, s: usize, y: usize, n: i32, c: i32, hw: i32): void {
  for (let plane = 0; plane < n * c; plane++) {
    const v = load<f32>(f32at(s, plane));
    const sv = f32x4.splat(v);
    const xp = f32at(x, plane * hw);
    const yp = f32at(y, plane * hw);
    let i = 0;
    for (; i + 4 <= hw; i += 4) v128.store(f32at(yp, i), f32x4.mul(v128.load(f32at(xp, i)), sv));
    for (; i < hw; i++) store<f32>(f32at(yp, i), load<f32>(f32at(xp, i)) * v);
  }
}

/** dx = dy * s; ds[n, c] = sum over the plane of dy * x. */
export function channel_scale_backward(x: usize, s: usize, dy: usize, dx: usize, ds: usize, n: i32, c: i32, hw: i32): void {
  for (let plane = 0; plane < n * c; plane++) {
    const v = load<f32>(f32at(s, plane));
    const sv = f32x4.splat(v);
    const xp = f32at(x, plane * hw);
    const gp = f32at(dy, plane * hw);
    const dp = f32at(dx, plane * hw);
    let acc = f32x4.splat(0);
    let tail: f32 = 0;
    let i = 0;
    for (; i + 4 <= hw; i += 4) {
      const g = v128.load(f32at(gp, i));
      v128.store(f32at(dp, i), f32x4.mul(g, sv));
      acc = f32x4.add(acc, f32x4.mul(g, v128.load(f32at(xp, i))));
    }
    for (; i < hw; i++) {
      const g = load<f32>(f32at(gp, i));
      store<f32>(f32at(dp, i), g * v);
      tail += g * load<f32>(f32at(xp, i));
    }
    store<f32>(f32at(ds, plane), hsum32(acc) + tail);
  }
}
