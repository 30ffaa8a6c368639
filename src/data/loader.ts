// Mini-batches for training and evaluation: normalized float32 NCHW batches, shuffled and
// augmented reproducibly. Epoch e of a loader with seed s always yields the same batches, the same
// crops and the same flips, whatever ran before (each epoch draws from its own streams: one for
// the order, one for the augmentation; see random.ts).
import { NO_AUGMENT, checkAugment, sampleAugment, writeAugmented, type AugmentOptions, type AugmentParams } from './augment.js';
import { normalization, type ImageDataset } from './dataset.js';
import { STREAM, checkInteger, permutation, streamRng } from './random.js';

export interface BatchLoaderOptions {
  batchSize: number;
  /** Visit the images in a new random order every epoch (else in dataset order). */
  shuffle: boolean;
  /** Any safe integer; default 0. */
  seed?: number;
  /**
   * Augmentation: omitted or `true` = the dataset's own `ds.augment`; `false` = none (use this
   * for evaluation); or explicit options.
   */
  augment?: AugmentOptions | boolean;
  /** Drop the last, smaller batch (default false: every image is visited once per epoch). */
  dropLast?: boolean;
}

export interface Batch {
  /** [size, c, h, w], normalized (and augmented); a fresh array per batch. */
  x: Float32Array;
  /** [size] */
  labels: Int32Array;
  /** Images in this batch (batchSize, or fewer for the last one). */
  size: number;
  /** The batch's position in the epoch, from 0. */
  index: number;
  /** The dataset indices of the images, in batch order. */
  indices: Int32Array;
}

/**
 * What the trainer and evaluate() read batches from: a BatchLoader (images in memory) or an
 * ImageFolderLoader (image files decoded batch by batch). Epoch e gives the same batches every time.
 */
export interface BatchSource {
  /** [c, h, w] of every image of every batch */
  readonly imageShape: readonly [number, number, number];
  readonly batchesPerEpoch: number;
  batches(epoch: number): Generator<Batch, void, undefined>;
}

export class BatchLoader implements BatchSource {
  readonly dataset: ImageDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly augment: AugmentOptions;
  readonly dropLast: boolean;
  private readonly scale: Float64Array;
  private readonly shift: Float64Array;

  constructor(ds: ImageDataset, opts: BatchLoaderOptions) {
    this.dataset = ds;
    this.batchSize = checkInteger(opts.batchSize, 'BatchLoader: batchSize', 1);
    this.shuffle = !!opts.shuffle;
    this.seed = checkInteger(opts.seed ?? 0, 'BatchLoader: seed');
    const a = opts.augment;
    this.augment = a === undefined || a === true ? ds.augment : a === false ? NO_AUGMENT : checkAugment(a, 'BatchLoader');
    this.dropLast = !!opts.dropLast;
    ({ scale: this.scale, shift: this.shift } = normalization(ds));
  }

  get imageShape(): readonly [number, number, number] {
    return [this.dataset.c, this.dataset.h, this.dataset.w];
  }

  /** Images per epoch: n, or n rounded down to whole batches with dropLast. */
  get imagesPerEpoch(): number {
    return this.dropLast ? this.batchesPerEpoch * this.batchSize : this.dataset.n;
  }

  get batchesPerEpoch(): number {
    const n = this.dataset.n;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order in which epoch `epoch` visits the images (all n of them, also with dropLast). */
  order(epoch: number): Int32Array {
    const n = this.dataset.n;
    if (!this.shuffle) {
      checkInteger(epoch, 'epoch', 0);
      const o = new Int32Array(n);
      for (let i = 0; i < n; i++) o[i] = i;
      return o;
    }
    return permutation(n, streamRng(this.seed, epoch, STREAM.shuffle));
  }

  /**
   * The batches of epoch `epoch` (an integer >= 0), generated lazily; the same for the same
   * (seed, epoch) every time. The augmentation stream advances image by image in visiting order.
   */
  *batches(epoch: number): Generator<Batch, void, undefined> {
    const ds = this.dataset;
    const order = this.order(epoch);
    const rng = streamRng(this.seed, epoch, STREAM.augment);
    const aug = this.augment;
    const augmenting = aug.cropPadding > 0 || aug.flip;
    const plain: AugmentParams = { top: 0, left: 0, flip: false };
    const { c, h, w } = ds;
    const size = c * h * w;
    const total = this.batchesPerEpoch;
    for (let b = 0; b < total; b++) {
      const start = b * this.batchSize;
      const m = Math.min(this.batchSize, ds.n - start);
      const x = new Float32Array(m * size);
      const labels = new Int32Array(m);
      const indices = order.slice(start, start + m);
      for (let j = 0; j < m; j++) {
        const i = indices[j];
        labels[j] = ds.labels[i];
        const p = augmenting ? sampleAugment(rng, aug) : plain;
        writeAugmented(ds.pixels, i * size, c, h, w, augmenting ? aug.cropPadding : 0, p,
          this.scale, this.shift, x, j * size);
      }
      yield { x, labels, size: m, index: b, indices };
    }
  }
}
