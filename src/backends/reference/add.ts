// The branch sum and in-place gradient accumulation over whole buffers.

/** y = a + b. Backward: dy goes to both a and b unchanged (no kernel needed). */
export function add(a: Float32Array, b: Float32Array, y: Float32Array): void {
  for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i];
}

/** dst += src. */
export function addInPlace(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}
