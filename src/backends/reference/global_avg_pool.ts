// Global average pooling (NCHW) and its backward.

/** y[n,c] = mean of x[n,c,:]. */
export function globalAvgPool(n: number, c: number, hw: number, x: Float32Array, y: Float32Array): void {
  for (let nc = 0; nc < n * c; nc++) {
    const base = nc * hw;
    let sum = 0;
    for (let i = 0; i < hw; i++) sum += x[base + i];
    y[nc] = sum / hw;
  }
}

/** dx[n,c,:] = dy[n,c] / hw. */
export function globalAvgPoolBackward(n: number, c: number, hw: number, dy: Float32Array, dx: Float32Array): void {
  for (let nc = 0; nc < n * c; nc++) {
    const g = dy[nc] / hw;
    dx.fill(g, nc * hw, (nc + 1) * hw);
  }
}
