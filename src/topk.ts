// Ranking logits: the one argmax / top-k of the library (training accuracy, evaluation, predict).
// A row holding NaN or an infinity ranks nothing: a model that produced one has no answer, and
// counting it as right (NaN compares false both ways) would report a diverged model as perfect.

/** Whether every value of the row is finite. */
function finiteRow(row: ArrayLike<number>): boolean {
  for (let j = 0; j < row.length; j++) if (!Number.isFinite(row[j])) return false;
  return true;
}

/** How many classes rank above `label` in the row (ties: the lower index ranks higher), or
 *  Infinity when the row is not all finite. Rank 0 is a top-1 hit, rank < 5 a top-5 hit. */
export function rankOf(row: ArrayLike<number>, label: number): number {
  if (!finiteRow(row)) return Infinity;
  const v = row[label];
  let rank = 0;
  for (let j = 0; j < row.length; j++) if (row[j] > v || (row[j] === v && j < label)) rank++;
  return rank;
}

/** The indices of the k largest values, best first (ties: lower index first); [] when the row is
 *  not all finite. */
export function topK(row: ArrayLike<number>, k: number): number[] {
  if (!finiteRow(row)) return [];
  const idx = Array.from({ length: row.length }, (_, j) => j);
  idx.sort((a, b) => row[b] - row[a] || a - b);
  return idx.slice(0, Math.min(k, row.length));
}

/** Softmax probabilities of a row (shifted by its maximum, so large logits do not overflow). */
export function softmax(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let j = 0; j < row.length; j++) max = Math.max(max, row[j]);
  const p = new Float64Array(row.length);
  let z = 0;
  for (let j = 0; j < row.length; j++) z += (p[j] = Math.exp(row[j] - max));
  for (let j = 0; j < row.length; j++) p[j] /= z;
  return p;
}

/** Top-1 hits of a batch of logits [n, classes] against labels. */
export function countCorrect(logits: Float32Array, n: number, classes: number, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let i = 0; i < n; i++) if (rankOf(logits.subarray(i * classes, (i + 1) * classes), labels[i]) === 0) correct++;
  return correct;
}
