// Float64 forwards of every differentiable op, written as plain gathers straight from the
// definitions and independent of the backends' code: the functions the finite-difference checks
// differentiate. Layout NCHW, shapes as in src/backend.ts.
import type { Conv2dShape, Pool2dShape } from '../../src/backend.js';

type Arr = ArrayLike<number>;

export function conv2d(s: Conv2dShape, x: Arr, w: Arr, bias: Arr | null): Float64Array {
  const cg = s.c / s.groups;
  const kg = s.k / s.groups;
  const y = new Float64Array(s.n * s.k * s.oh * s.ow);
  for (let n = 0; n < s.n; n++) {
    for (let k = 0; k < s.k; k++) {
      const g = Math.floor(k / kg);
      for (let oy = 0; oy < s.oh; oy++) {
        for (let ox = 0; ox < s.ow; ox++) {
          let sum = bias ? bias[k] : 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let r = 0; r < s.kh; r++) {
              for (let q = 0; q < s.kw; q++) {
                const iy = oy * s.sh - s.ph + r;
                const ix = ox * s.sw - s.pw + q;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                const xv = x[((n * s.c + g * cg + ci) * s.h + iy) * s.w + ix];
                const wv = w[((k * cg + ci) * s.kh + r) * s.kw + q];
                sum += xv * wv;
              }
            }
          }
          y[((n * s.k + k) * s.oh + oy) * s.ow + ox] = sum;
        }
      }
    }
  }
  return y;
}

export interface BatchNormTrainResult {
  y: Float64Array;
  mean: Float64Array;
  /** biased (divides by n * hw): what normalizes */
  varBiased: Float64Array;
  /** unbiased (divides by n * hw - 1): what the running estimate takes */
  varUnbiased: Float64Array;
}

export function batchNormTrain(n: number, c: number, hw: number, x: Arr, gamma: Arr, beta: Arr,
  eps: number): BatchNormTrainResult {
  const m = n * hw;
  const at = (b: number, ch: number, i: number): number => (b * c + ch) * hw + i;
  const y = new Float64Array(n * c * hw);
  const mean = new Float64Array(c);
  const varBiased = new Float64Array(c);
  const varUnbiased = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) sum += x[at(b, ch, i)];
    const mu = sum / m;
    let sq = 0;
    for (let b = 0; b < n; b++) for (let i = 0; i < hw; i++) sq += (x[at(b, ch, i)] - mu) ** 2;
    mean[ch] = mu;
    varBiased[ch] = sq / m;
    varUnbiased[ch] = sq / (m - 1);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < hw; i++) {
        y[at(b, ch, i)] = gamma[ch] * (x[at(b, ch, i)] - mu) / Math.sqrt(varBiased[ch] + eps) + beta[ch];
      }
    }
  }
  return { y, mean, varBiased, varUnbiased };
}

export function batchNormEval(n: number, c: number, hw: number, x: Arr, gamma: Arr, beta: Arr,
  runningMean: Arr, runningVar: Arr, eps: number): Float64Array {
  const y = new Float64Array(n * c * hw);
  for (let i = 0; i < y.length; i++) {
    const ch = Math.floor(i / hw) % c;
    y[i] = gamma[ch] * (x[i] - runningMean[ch]) / Math.sqrt(runningVar[ch] + eps) + beta[ch];
  }
  return y;
}

export function relu(x: Arr): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

export function sigmoid(x: Arr): Float64Array {
  return Float64Array.from(x, (v) => 1 / (1 + Math.exp(-v)));
}

export function channelScale(n: number, c: number, hw: number, x: Arr, s: Arr): Float64Array {
  const y = new Float64Array(n * c * hw);
  for (let i = 0; i < y.length; i++) y[i] = x[i] * s[Math.floor(i / hw)];
  return y;
}

export function globalAvgPool(n: number, c: number, hw: number, x: Arr): Float64Array {
  const y = new Float64Array(n * c);
  for (let i = 0; i < n * c * hw; i++) y[Math.floor(i / hw)] += x[i] / hw;
  return y;
}

/** Padding reads as -Infinity. */
export function maxPool2d(s: Pool2dShape, x: Arr): Float64Array {
  const y = new Float64Array(s.n * s.c * s.oh * s.ow);
  for (let p = 0; p < s.n * s.c; p++) {
    for (let oy = 0; oy < s.oh; oy++) {
      for (let ox = 0; ox < s.ow; ox++) {
        let max = -Infinity;
        for (let r = 0; r < s.kh; r++) {
          for (let q = 0; q < s.kw; q++) {
            const iy = oy * s.sh - s.ph + r;
            const ix = ox * s.sw - s.pw + q;
            const v = iy < 0 || iy >= s.h || ix < 0 || ix >= s.w ? -Infinity : x[(p * s.h + iy) * s.w + ix];
            max = Math.max(max, v);
          }
        }
        y[(p * s.oh + oy) * s.ow + ox] = max;
      }
    }
  }
  return y;
}

/** y = x w^T + b with x [n, inF], w [outF, inF]. */
export function linear(n: number, inF: number, outF: number, x: Arr, w: Arr, b: Arr | null): Float64Array {
  const y = new Float64Array(n * outF);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outF; o++) {
      let sum = b ? b[o] : 0;
      for (let j = 0; j < inF; j++) sum += x[i * inF + j] * w[o * inF + j];
      y[i * outF + o] = sum;
    }
  }
  return y;
}

/** torch.nn.functional.cross_entropy(logits, labels, label_smoothing=s), mean reduction. */
export function softmaxCrossEntropy(n: number, classes: number, logits: Arr, labels: ArrayLike<number>,
  smoothing: number): number {
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: classes }, (_, j) => logits[i * classes + j]);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((acc, v) => acc + Math.exp(v - max), 0));
    const logp = row.map((v) => v - lse);
    const nll = -logp[labels[i]];
    const smooth = -logp.reduce((acc, v) => acc + v, 0) / classes;
    loss += (1 - smoothing) * nll + smoothing * smooth;
  }
  return loss / n;
}
