// Max pool 2d (kernel, stride, padding; padding never wins, as in PyTorch), and its backward,
// which routes each gradient to the first maximum of its window.

import { f32at } from './util';

/** Index (within the plane) of the first maximum of the window at (oy, ox); -1 if the window
 *  holds only padding. */
// @ts-ignore: decorator
@inline function windowArgmax(xp: usize, h: i32, w: i32, iy0: i32, ix0: i32, kh: i32, kw: i32): i32 {
  let best: f32 = -Infinity;
  let arg = -1;
  for (let ky = 0; ky < kh; ky++) {
    const iy = iy0 + ky;
    if (<u32>iy >= <u32>h) continue;
    for (let kx = 0; kx < kw; kx++) {
      const ix = ix0 + kx;
      if (<u32>ix >= <u32>w) continue;
      const v = load<f32>(f32at(xp, iy * w + ix));
      if (arg < 0 || v > best || isNaN(v)) { best = v; arg = iy * w + ix; if (isNaN(v)) return arg; }
    }
  }
  return arg;
}

export function max_pool2d(x: usize, y: usize, planes: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, oh: i32, ow: i32): void {
  for (let p = 0; p < planes; p++) {
    const xp = f32at(x, p * h * w);
    const yp = f32at(y, p * oh * ow);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const a = windowArgmax(xp, h, w, oy * sh - ph, ox * sw - pw, kh, kw);
        store<f32>(f32at(yp, oy * ow + ox), a >= 0 ? load<f32>(f32at(xp, a)) : -Infinity);
      }
    }
  }
}

export function max_pool2d_backward(x: usize, dy: usize, dx: usize, planes: i32, h: i32, w: i32, kh: i32, kw: i32,
  sh: i32, sw: i32, ph: i32, pw: i32, oh: i32, ow: i32): void {
  memory.fill(dx, 0, (<usize>planes * <usize>h * <usize>w) << 2);
  for (let p = 0; p < planes; p++) {
    const xp = f32at(x, p * h * w);
    const gp = f32at(dy, p * oh * ow);
    const dp = f32at(dx, p * h * w);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const a = windowArgmax(xp, h, w, oy * sh - ph, ox * sw - pw, kh, kw);
        if (a >= 0) store<f32>(f32at(dp, a), load<f32>(f32at(dp, a)) + load<f32>(f32at(gp, oy * ow + ox)));
      }
    }
  }
}
