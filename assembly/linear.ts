// linear: y[n, out] = x[n, in] . w[out, in] + b[out], and its backward. The classifier head is
// small next to the convolutions, so plain SIMD dot products and axpys serve it.

import { f32at, hsum32 } from './util';

function dot(a: usize, b: usize, len: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(f32at(a, i)), v128.load(f32at(b, i))));
    acc1 = f32x4.add(acc1, f32x4.mul(v128.load(f32at(a, i), 16), v128.load(f32at(b, i), 16)));
  }

  let s = hsum32(f32x4.add(acc0, acc1));
  for (; i < len; i++) s += load<f32>(f32at(a, i)) * load<f32>(f32at(b, i));
  return s;
}

/** y += alpha * x */
function axpy(alpha: f32, x: usize, y: usize, len: i32): void {
  const av = f32x4.splat(alpha);
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(f32at(y, i), f32x4.add(v128.load(f32at(y, i)), f32x4.mul(av, v128.load(f32at(x, i)))));
  for (; i < len; i++) store<f32>(f32at(y, i), load<f32>(f32at(y, i)) + alpha * load<f32>(f32at(x, i)));
}

/** y[i, o] for the outF outputs at w (rows of inF), b, y: rows of y lie ldy floats apart, so a
 *  caller may run a slice of the outputs (threads at batch 1). */
export function linear(x: usize, w: usize, b: usize, y: usize, n: i32, inF: i32, outF: i32, ldy: i32): void {
  for (let i = 0; i < n; i++) {
    const xr = f32at(x, i * inF);
    for (let o = 0; o < outF; o++) {
      const bias: f32 = b ? load<f32>(f32at(b, o)) : 0;
      store<f32>(f32at(y, i * ldy + o), dot(xr, f32at(w, o * inF), inF) + bias);
    }
  }
}

/** dx = dy w (when dx != 0); dw = dy^T x; db = sum over the batch of dy (when db != 0). */
export function linear_backward(x: usize, w: usize, dy: usize, dx: usize, dw: usize, db: usize, n: i32, inF: i32, outF: i32): void {
  if (dx) {
    memory.fill(dx, 0, (<usize>n * <usize>inF) << 2);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < outF; o++) axpy(load<f32>(f32at(dy, i * outF + o)), f32at(w, o * inF), f32at(dx, i * inF), inF);
    }
  }
  memory.fill(dw, 0, (<usize>outF * <usize>inF) << 2);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outF; o++) axpy(load<f32>(f32at(dy, i * outF + o)), f32at(x, i * inF), f32at(dw, o * inF), inF);
  }
  if (db) {
    for (let o = 0; o < outF; o++) {
      let s: f32 = 0;
      for (let i = 0; i < n; i++) s += load<f32>(f32at(dy, i * outF + o));
      store<f32>(f32at(db, o), s);
    }
  }
}
