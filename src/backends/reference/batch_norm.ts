// Batch normalization over NCHW (hw = h * w): training forward, eval forward, training backward.
// Per-channel sums in float64; PyTorch's conventions (see backend.ts).

/** Sum of x[:, ch, :] over the batch and the spatial positions. */
function channelSum(n: number, c: number, hw: number, ch: number, x: Float32Array): number {
  let sum = 0;
  for (let b = 0; b < n; b++) {
    const base = (b * c + ch) * hw;
    for (let i = 0; i < hw; i++) sum += x[base + i];
  }
  return sum;
}

/**
 * Normalizes with the batch mean and biased variance; saves mean and 1/sqrt(var + eps); updates
 * running = (1 - momentum) running + momentum batch, with the unbiased variance (M / (M - 1)),
 * M = n * hw. Like PyTorch, M = 1 gives a NaN running variance (the ops layer rejects it first).
 */
export function batchNormTrain(n: number, c: number, hw: number, x: Float32Array, gamma: Float32Array,
  beta: Float32Array, runningMean: Float32Array, runningVar: Float32Array, momentum: number, eps: number,
  y: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array): void {
  const m = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const mean = channelSum(n, c, hw, ch, x) / m;
    let sq = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const d = x[base + i] - mean;
        sq += d * d;
      }
    }
    const invStd = 1 / Math.sqrt(sq / m + eps);
    const scale = gamma[ch] * invStd;
    const shift = beta[ch];
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) y[base + i] = (x[base + i] - mean) * scale + shift;
    }
    saveMean[ch] = mean;
    saveInvStd[ch] = invStd;
    runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * mean;
    runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * (sq / (m - 1));
  }
}

/** y = (x - runningMean) / sqrt(runningVar + eps) * gamma + beta. */
export function batchNormEval(n: number, c: number, hw: number, x: Float32Array, gamma: Float32Array,
  beta: Float32Array, runningMean: Float32Array, runningVar: Float32Array, eps: number, y: Float32Array): void {
  for (let ch = 0; ch < c; ch++) {
    const mean = runningMean[ch];
    const scale = gamma[ch] / Math.sqrt(runningVar[ch] + eps);
    const shift = beta[ch];
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) y[base + i] = (x[base + i] - mean) * scale + shift;
    }
  }
}

/**
 * With xhat = (x - mean) * invStd and M = n * hw: dbeta = sum(dy), dgamma = sum(dy * xhat),
 * dx = invStd * gamma / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)). All outputs overwritten.
 */
export function batchNormBackward(n: number, c: number, hw: number, x: Float32Array, dy: Float32Array,
  gamma: Float32Array, saveMean: Float32Array, saveInvStd: Float32Array, dx: Float32Array,
  dgamma: Float32Array, dbeta: Float32Array): void {
  const m = n * hw;
  for (let ch = 0; ch < c; ch++) {
    const mean = saveMean[ch];
    const invStd = saveInvStd[ch];
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const g = dy[base + i];
        sumDy += g;
        sumDyXhat += g * (x[base + i] - mean) * invStd;
      }
    }
    const k = invStd * gamma[ch] / m;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const xhat = (x[base + i] - mean) * invStd;
        dx[base + i] = k * (m * dy[base + i] - sumDy - xhat * sumDyXhat);
      }
    }
    dgamma[ch] = sumDyXhat;
    dbeta[ch] = sumDy;
  }
}
