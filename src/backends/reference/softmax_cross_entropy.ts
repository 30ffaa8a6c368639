// Softmax cross-entropy with label smoothing, mean over the batch, fused with its gradient.

/** Returns the loss and writes d loss / d logits (dlogits may alias logits). */
export function softmaxCrossEntropy(n: number, classes: number, logits: Float32Array, labels: Int32Array,
  smoothing: number, dlogits: Float32Array): number {
  let total = 0;
  const uniform = smoothing / classes;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    const label = labels[i];
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[row + j]);
    let sumExp = 0;
    for (let j = 0; j < classes; j++) sumExp += Math.exp(logits[row + j] - max);
    const logSumExp = max + Math.log(sumExp);
    let sumNegLogP = 0;
    for (let j = 0; j < classes; j++) sumNegLogP += logSumExp - logits[row + j];
    total += (1 - smoothing) * (logSumExp - logits[row + label]) + smoothing * (sumNegLogP / classes);
    for (let j = 0; j < classes; j++) {
      const p = Math.exp(logits[row + j] - max) / sumExp;
      const target = uniform + (j === label ? 1 - smoothing : 0);
      dlogits[row + j] = (p - target) / n;
    }
  }
  return total / n;
}
