// Softmax cross-entropy, mean over the batch, with label smoothing as PyTorch defines it:
//   loss_i = (1 - s) * (-log p[label]) + s * mean_c(-log p_c)
//   dlogits = (softmax - ((1 - s) onehot + s / classes)) / n

import { f32at } from './util';

/** labels: int32 per row. Returns the mean loss; writes the gradient of that mean into dlogits. */
export function softmax_cross_entropy(logits: usize, labels: usize, dlogits: usize, n: i32, classes: i32, smoothing: f32): f64 {
  let total: f64 = 0;
  const s = <f64>smoothing;
  const invN = 1.0 / <f64>n;
  for (let i = 0; i < n; i++) {
    const row = f32at(logits, i * classes);
    const grow = f32at(dlogits, i * classes);
    let mx: f64 = -Infinity;
    for (let j = 0; j < classes; j++) mx = Math.max(mx, <f64>load<f32>(f32at(row, j)));
    let sum: f64 = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(<f64>load<f32>(f32at(row, j)) - mx);
    const logSum = Math.log(sum) + mx;
    const label = load<i32>(<usize>labels + ((<usize>i) << 2));
    let meanNegLog: f64 = 0;
    for (let j = 0; j < classes; j++) meanNegLog += logSum - <f64>load<f32>(f32at(row, j));
    meanNegLog /= <f64>classes;
    total += (1 - s) * (logSum - <f64>load<f32>(f32at(row, label))) + s * meanNegLog;
    for (let j = 0; j < classes; j++) {
      const p = Math.exp(<f64>load<f32>(f32at(row, j)) - logSum);
      const target = (j == label ? 1 - s : 0) + s / <f64>classes;
      store<f32>(f32at(grow, j), <f32>((p - target) * invN));
    }
  }
  return total * invN;
}
