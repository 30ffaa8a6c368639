// Evaluation: the model in eval mode (BN with its running statistics) over a loader, batch by
// batch: mean loss, top-1 and top-5. A row of logits holding NaN or an infinity counts as wrong.
import type { BatchSource } from '../data/loader.js';
import type { RepVGG } from '../models/repvgg.js';
import { softmaxCrossEntropy } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { rankOf } from '../topk.js';

export interface EvalResult {
  loss: number;
  /** fraction in 0..1 */
  top1: number;
  /** fraction in 0..1; null when classes <= 5 */
  top5: number | null;
  correct: number;
  count: number;
}

/** The [c, h, w] of one image of the loader's batches. */
export function imageShape(loader: BatchSource): [number, number, number] {
  const [c, h, w] = loader.imageShape;
  return [c, h, w];
}

export function evaluate(model: RepVGG, loader: BatchSource): EvalResult {
  const wasTraining = model.training;
  model.eval();
  let loss = 0, correct = 0, correct5 = 0, count = 0;
  const classes = model.config.numClasses;
  for (const batch of loader.batches(0)) {
    const x = Tensor.from(model.backend, batch.x, [batch.size, ...imageShape(loader)]);
    const logits = model.forward(x);
    x.dispose();
    const r = softmaxCrossEntropy(logits, batch.labels);
    r.dlogits.dispose();
    const l = logits.toFloat32Array();
    logits.dispose();
    loss += r.loss * batch.size;
    for (let i = 0; i < batch.size; i++) {
      const rank = rankOf(l.subarray(i * classes, (i + 1) * classes), batch.labels[i]);
      if (rank === 0) correct++;
      if (rank < 5) correct5++;
    }
    count += batch.size;
  }
  model.train(wasTraining);
  return { loss: loss / count, top1: correct / count, top5: classes > 5 ? correct5 / count : null, correct, count };
}
