// The SE block's per-channel scale and its backward.

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
