// Images in, ranked classes out: the eval transform (preprocess.ts) on each image, the model in
// eval mode on batches of them, softmax and top-k (src/topk.ts) with the class names.
import type { Preprocessing } from '../models/metadata.js';
import { checkPreprocessing } from '../models/metadata.js';
import type { RepVGG } from '../models/repvgg.js';
import { Tensor } from '../tensor.js';
import { softmax, topK } from '../topk.js';
import type { DecodedImage } from './image.js';
import { preprocess } from './preprocess.js';

/** One ranked class. */
export interface Prediction {
  /** the class name, or "class <index>" when the names are unknown */
  label: string;
  index: number;
  /** softmax probability */
  probability: number;
}

/** The k best classes of one row of logits, best first; [] when the row is not all finite. */
export function topPredictions(logits: ArrayLike<number>, k: number, classNames?: readonly string[] | null): Prediction[] {
  if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`topPredictions: k must be a positive integer, got ${String(k)}`);
  if (classNames && classNames.length !== logits.length) {
    throw new RangeError(`topPredictions: ${classNames.length} class names for ${logits.length} classes`);
  }
  const best = topK(logits, k);
  if (best.length === 0) return [];
  const p = softmax(logits);
  return best.map((index) => ({ label: classNames?.[index] ?? `class ${index}`, index, probability: p[index] }));
}

export interface ClassifyOptions {
  /** how images become inputs: the model's metadata's, or imagenetPreprocessing() */
  preprocessing: Preprocessing;
  classNames?: readonly string[] | null;
  /** classes per image (default 5, at most the number of classes) */
  topk?: number;
  /** images per forward pass (default 16) */
  batchSize?: number;
}

/**
 * The top classes of each image, in eval mode (the model's mode is restored after). The
 * preprocessing's channels (its mean's length) must be the model's input channels.
 */
export function classifyImages(model: RepVGG, images: readonly DecodedImage[], opts: ClassifyOptions): Prediction[][] {
  const inC = model.config.inChannels;
  const pre = checkPreprocessing(opts.preprocessing, inC, 'classifyImages: preprocessing');
  const classes = model.config.numClasses;
  if (opts.classNames && opts.classNames.length !== classes) {
    throw new RangeError(`classifyImages: ${opts.classNames.length} class names for a model of ${classes} classes`);
  }
  const k = Math.min(opts.topk ?? 5, classes);
  const batchSize = opts.batchSize ?? 16;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`classifyImages: batchSize must be a positive integer, got ${String(batchSize)}`);
  const [h, w] = pre.crop;
  const per = inC * h * w;
  const out: Prediction[][] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for (let start = 0; start < images.length; start += batchSize) {
      const batch = images.slice(start, start + batchSize);
      const x = new Float32Array(batch.length * per);
      batch.forEach((img, i) => x.set(preprocess(img, pre), i * per));
      const xt = Tensor.from(model.backend, x, [batch.length, inC, h, w]);
      const y = model.forward(xt);
      xt.dispose();
      const logits = y.toFloat32Array();
      y.dispose();
      for (let i = 0; i < batch.length; i++) out.push(topPredictions(logits.subarray(i * classes, (i + 1) * classes), k, opts.classNames));
    }
  } finally {
    model.train(wasTraining);
  }
  return out;
}
