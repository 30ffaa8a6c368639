// ReLU and its backward over whole buffers.

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
