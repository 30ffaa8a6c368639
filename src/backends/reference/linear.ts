// Fully connected layer: x [n, inF], w [outF, inF], b [outF], y [n, outF]; y = x w^T + b.

export function linear(n: number, inF: number, outF: number, x: Float32Array, w: Float32Array,
  b: Float32Array | null, y: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const xRow = i * inF;
    for (let o = 0; o < outF; o++) {
      const wRow = o * inF;
      let sum = b ? b[o] : 0;
      for (let j = 0; j < inF; j++) sum += x[xRow + j] * w[wRow + j];
      y[i * outF + o] = sum;
    }
  }
}

/** dx = dy w (when dx is given); dw = dy^T x; db = column sums of dy (when db is given). Overwrites. */
export function linearBackward(n: number, inF: number, outF: number, x: Float32Array, w: Float32Array,
  dy: Float32Array, dx: Float32Array | null, dw: Float32Array, db: Float32Array | null): void {
  if (dx) {
    const acc = new Float64Array(inF);
    for (let i = 0; i < n; i++) {
      acc.fill(0);
      for (let o = 0; o < outF; o++) {
        const g = dy[i * outF + o];
        const wRow = o * inF;
        for (let j = 0; j < inF; j++) acc[j] += g * w[wRow + j];
      }
      dx.set(acc, i * inF);
    }
  }
  const acc = new Float64Array(inF);
  for (let o = 0; o < outF; o++) {
    acc.fill(0);
    let bias = 0;
    for (let i = 0; i < n; i++) {
      const g = dy[i * outF + o];
      const xRow = i * inF;
      bias += g;
      for (let j = 0; j < inF; j++) acc[j] += g * x[xRow + j];
    }
    dw.set(acc, o * inF);
    if (db) db[o] = bias;
  }
}
