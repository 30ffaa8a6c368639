// Element-wise ops over whole buffers (length = y.length), and the per-channel scale of the SE block.

/** y = max(x, 0); NaN stays NaN, as in PyTorch. */
export function relu(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) {
    const v = x[i];
    y[i] = v < 0 ? 0 : v;
  }
}
/** dx = dy where x > 0, else 0 (x: the ReLU's input or output). */
export function reluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < dx.length; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}

/** y = a + b. Backward: dy goes to both a and b unchanged (no kernel needed). */
export function add(a: Float32Array, b: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
}
/** dst += src. */
export function accumulate(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/** y = 1 / (1 + exp(-x)), in a form that never overflows: exp of a non-positive number only. */
export function sigmoid(x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) {
    const v = x[i];
    if (v >= 0) {
      y[i] = 1 / (1 + Math.exp(-v));
    } else {
      const e = Math.exp(v);
      y[i] = e / (1 + e);
    }
  }
}
/** dx = dy * y * (1 - y), y being the sigmoid's output. */
export function sigmoidBackward(y: Float32Array, dy: Float32Array, dx: Float32Array): void {
  for (let i = 0; i < dx.length; i++) {
    const v = y[i];
    dx[i] = dy[i] * v * (1 - v);
  }
}

/** y[n,c,:] = x[n,c,:] * s[n,c]. */
export function channelScale(n: number, c: number, hw: number, x: Float32Array, s: Float32Array,
  y: Float32Array): void {
  for (let nc = 0; nc < n * c; nc++) {
    const sv = s[nc];
    const base = nc * hw;
    for (let i = 0; i < hw; i++) y[base + i] = x[base + i] * sv;
  }
}
/** dx = dy * s[n,c]; ds[n,c] = sum over hw of dy * x. */
export function channelScaleBackward(n: number, c: number, hw: number, x: Float32Array, s: Float32Array,
  dy: Float32Array, dx: Float32Array, ds: Float32Array): void {
  for (let nc = 0; nc < n * c; nc++) {
    const sv = s[nc];
    const base = nc * hw;
    let sum = 0;
    for (let i = 0; i < hw; i++) {
      const g = dy[base + i];
      sum += g * x[base + i];
      dx[base + i] = g * sv;
    }
    ds[nc] = sum;
  }
}
