// Sigmoid (the SE block's gate) and its backward over whole buffers.

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
