// Softmax cross-entropy with label smoothing, mean over the batch, fused with its gradient.
import type { Tensor } from '../tensor.js';
import { backendOf, checkKeys, describe, expectRank, formatShape, inUnitInterval } from './check.js';
import { withOutputs } from './outputs.js';

export interface CrossEntropyOptions {
  /** torch's label_smoothing, in [0, 1]; default 0 */
  labelSmoothing?: number;
}

export interface CrossEntropyResult {
  /** mean loss over the batch */
  loss: number;
  /** d loss / d logits, [n, classes] */
  dlogits: Tensor;
}

/** Labels as the kernels take them, after checking each is an integer class index. */
function checkLabels(op: string, labels: Int32Array | readonly number[], n: number, classes: number,
  logits: Tensor): Int32Array {
  if (!(labels instanceof Int32Array) && !Array.isArray(labels)) {
    throw new TypeError(`${op}: labels must be an Int32Array or an array of numbers, got ${describe(labels)}`);
  }
  if (labels.length !== n) {
    throw new Error(`${op}: ${labels.length} labels for a batch of ${n} (logits ${formatShape(logits.shape)})`);
  }
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(`${op}: labels[${i}] = ${String(label)} is not a class index: expected an integer in ` +
        `[0, ${classes}) (logits ${formatShape(logits.shape)})`);
    }
  }
  return labels instanceof Int32Array ? labels : Int32Array.from(labels);
}

/**
 * torch.nn.functional.cross_entropy(logits, labels, label_smoothing) with mean reduction, and its
 * gradient: logits [n, classes], one integer label per row.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Int32Array | readonly number[],
  opts: CrossEntropyOptions = {}): CrossEntropyResult {
  const op = 'softmaxCrossEntropy';
  const b = backendOf(op, { logits });
  const [n, classes] = expectRank(op, 'logits', logits, 2, '[n, classes]');
  const lab = checkLabels(op, labels, n, classes, logits);
  checkKeys(op, 'opts', opts, ['labelSmoothing']);
  const smoothing = inUnitInterval(op, 'labelSmoothing', opts.labelSmoothing ?? 0);
  return withOutputs(b, (_zeros, empty) => {
    const dlogits = empty(logits.shape);
    const loss = b.softmaxCrossEntropy(n, classes, logits.buf, lab, smoothing, dlogits.buf);
    return { loss, dlogits };
  });
}
