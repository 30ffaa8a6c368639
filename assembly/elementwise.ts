// Element-wise kernels over `len` floats: ReLU, the branch sum, gradient accumulation, sigmoid and
// the per-channel scale of the SE block, each with its backward.

// @ts-ignore: decorator
@inline function f32at(p: usize, i: i32): usize { return p + ((<usize>i) << 2); }

export function relu_forward(x: usize, y: usize, len: i32): void {
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

export function add_forward(a: usize, b: usize, y: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(f32at(y, i), f32x4.add(v128.load(f32at(a, i)), v128.load(f32at(b, i))));
  for (; i < len; i++) store<f32>(f32at(y, i), load<f32>(f32at(a, i)) + load<f32>(f32at(b, i)));
}

/** dst += src */
export function accumulate(dst: usize, src: usize, len: i32): void {
  add_forward(dst, src, dst, len);
}

export function sigmoid_forward(x: usize, y: usize, len: i32): void {
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

/** y[n, c, :] = x[n, c, :] * s[n, c] */
export function channel_scale_forward(x: usize, s: usize, y: usize, n: i32, c: i32, hw: i32): void {
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
    store<f32>(f32at(ds, plane), f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) +
      f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3) + tail);
  }
}
