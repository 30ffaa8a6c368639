// In-memory image classification datasets: NCHW pixels, labels, the normalization constants
// the loader applies, and the augmentation that suits the images.
import { checkAugment, type AugmentOptions } from './augment.js';

export type { AugmentOptions } from './augment.js';

export interface ImageDataset {
  /** e.g. 'mnist:train', 'cifar10:test'. */
  readonly name: string;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly classes: number;
  /**
   * n*c*h*w values, NCHW. A Uint8Array holds raw 0..255 pixels (normalized as x/255); a
   * Float32Array holds already-scaled floats (normalized as they are).
   */
  readonly pixels: Uint8Array | Float32Array;
  /** n labels, each in [0, classes). */
  readonly labels: Int32Array;
  /**
   * Per-channel normalization the loader applies: x' = (v - mean[k]) / std[k], where v = x/255
   * for Uint8Array pixels and v = x for Float32Array pixels.
   */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** The augmentation that suits these images ({cropPadding: 0, flip: false} for none). */
  readonly augment: AugmentOptions;
  /** Optional names of the classes, `classes` of them. */
  readonly classNames?: readonly string[];
}

export interface TrainTestSplit {
  train: ImageDataset;
  test: ImageDataset;
}

export interface ImageDatasetInit {
  name: string;
  /** [n, c, h, w] */
  shape: readonly [number, number, number, number];
  pixels: Uint8Array | Float32Array;
  labels: Int32Array;
  /** Default: max label + 1. */
  classes?: number;
  mean: readonly number[];
  std: readonly number[];
  augment?: AugmentOptions;
  classNames?: readonly string[];
}

/** What a value is, for a message about a field that is not what it should be: "missing" rather
 *  than "undefined", and the type and length of an array of the wrong kind. */
function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v) || Array.isArray(v)) {
    const kind = v.constructor.name;
    const length = (v as ArrayLike<unknown>).length;
    return `${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind} of ${length} ${length === 1 ? 'entry' : 'entries'}`;
  }
  return `a ${typeof v}`;
}

/** Builds an ImageDataset after checking sizes, labels and constants; frozen, arrays not copied. */
export function createDataset(init: ImageDatasetInit): ImageDataset {
  const where = `dataset ${JSON.stringify(init.name)}`;
  // The fields read below without a check of their own: a missing one is named, not a TypeError.
  if (!Array.isArray(init.shape) || init.shape.length !== 4) {
    throw new Error(`${where}: shape must be [n, c, h, w], got ${describeValue(init.shape)}`);
  }
  for (const field of ['mean', 'std'] as const) {
    if (!Array.isArray(init[field])) throw new Error(`${where}: ${field} must be an array (one value per channel), got ${describeValue(init[field])}`);
  }
  const [n, c, h, w] = init.shape;
  for (const [d, what] of [[n, 'n'], [c, 'c'], [h, 'h'], [w, 'w']] as const) {
    if (!Number.isSafeInteger(d) || d < (what === 'n' ? 0 : 1)) {
      throw new Error(`${where}: shape [${init.shape.join(', ')}]: ${what} must be an integer >= ${what === 'n' ? 0 : 1}`);
    }
  }
  if (!(init.pixels instanceof Uint8Array || init.pixels instanceof Float32Array)) {
    throw new Error(`${where}: pixels must be a Uint8Array (0..255) or a Float32Array, got ${describeValue(init.pixels)}`);
  }
  if (init.pixels.length !== n * c * h * w) {
    throw new Error(`${where}: ${init.pixels.length} pixel values for shape [${n}, ${c}, ${h}, ${w}] ` +
      `(needs ${n * c * h * w})`);
  }
  if (!(init.labels instanceof Int32Array) || init.labels.length !== n) {
    throw new Error(`${where}: labels must be an Int32Array of ${n} entries (one per image), got ${describeValue(init.labels)}`);
  }
  let max = -1;
  for (let i = 0; i < n; i++) {
    const l = init.labels[i];
    if (l < 0) throw new Error(`${where}: label ${l} of image ${i} is negative`);
    if (l > max) max = l;
  }
  const classes = init.classes ?? max + 1;
  if (!Number.isSafeInteger(classes) || classes < 1) throw new Error(`${where}: classes must be an integer >= 1, got ${classes}`);
  if (max >= classes) throw new Error(`${where}: label ${max} is out of range for ${classes} classes`);
  if (init.mean.length !== c || init.std.length !== c) {
    throw new Error(`${where}: mean and std need ${c} values (one per channel), got ${init.mean.length} and ${init.std.length}`);
  }
  for (let k = 0; k < c; k++) {
    if (!Number.isFinite(init.mean[k])) throw new Error(`${where}: mean[${k}] = ${init.mean[k]} is not finite`);
    if (!(init.std[k] > 0) || !Number.isFinite(init.std[k])) {
      throw new Error(`${where}: std[${k}] = ${init.std[k]} must be finite and > 0`);
    }
  }
  if (init.classNames !== undefined && init.classNames.length !== classes) {
    throw new Error(`${where}: ${init.classNames.length} class names for ${classes} classes`);
  }
  const augment = checkAugment(init.augment ?? { cropPadding: 0, flip: false }, where);
  return Object.freeze({
    name: init.name, n, c, h, w, classes,
    pixels: init.pixels, labels: init.labels,
    mean: Object.freeze([...init.mean]), std: Object.freeze([...init.std]),
    augment: Object.freeze({ cropPadding: augment.cropPadding, flip: augment.flip }),
    ...(init.classNames ? { classNames: Object.freeze([...init.classNames]) } : {}),
  });
}

/**
 * The images at `indices`, in that order (repeats allowed), copied; same classes, constants and
 * augmentation. `name` defaults to the parent's.
 */
export function subset(ds: ImageDataset, indices: Int32Array | readonly number[], name = ds.name): ImageDataset {
  const size = ds.c * ds.h * ds.w;
  const m = indices.length;
  const pixels = ds.pixels instanceof Uint8Array ? new Uint8Array(m * size) : new Float32Array(m * size);
  const labels = new Int32Array(m);
  for (let j = 0; j < m; j++) {
    const i = indices[j];
    if (!Number.isSafeInteger(i) || i < 0 || i >= ds.n) {
      throw new Error(`subset of ${ds.name}: index ${i} (at ${j}) is out of range for ${ds.n} images`);
    }
    pixels.set(ds.pixels.subarray(i * size, (i + 1) * size), j * size);
    labels[j] = ds.labels[i];
  }
  return createDataset({
    name, shape: [m, ds.c, ds.h, ds.w], pixels, labels, classes: ds.classes,
    mean: ds.mean, std: ds.std, augment: ds.augment, classNames: ds.classNames,
  });
}

/** The images [start, end) as a subset (copied). */
export function slice(ds: ImageDataset, start: number, end = ds.n, name = ds.name): ImageDataset {
  const s = Math.max(0, Math.min(ds.n, start));
  const e = Math.max(s, Math.min(ds.n, end));
  const idx = new Int32Array(e - s);
  for (let j = 0; j < idx.length; j++) idx[j] = s + j;
  return subset(ds, idx, name);
}

/** How many images of each class (length `classes`). */
export function classCounts(ds: ImageDataset): Int32Array {
  const counts = new Int32Array(ds.classes);
  for (let i = 0; i < ds.n; i++) counts[ds.labels[i]]++;
  return counts;
}

/**
 * The affine map the loader applies per channel, out = x * scale[k] + shift[k]: scale =
 * 1/(255 std) for Uint8Array pixels, 1/std for Float32Array ones; shift = -mean/std.
 */
export function normalization(ds: ImageDataset): { scale: Float64Array; shift: Float64Array } {
  const scale = new Float64Array(ds.c);
  const shift = new Float64Array(ds.c);
  const unit = ds.pixels instanceof Uint8Array ? 255 : 1;
  for (let k = 0; k < ds.c; k++) {
    scale[k] = 1 / (unit * ds.std[k]);
    shift[k] = -ds.mean[k] / ds.std[k];
  }
  return { scale, shift };
}

/**
 * Per-channel mean and (population) standard deviation of the images, in the units the loader
 * normalizes (x/255 for Uint8Array pixels). A channel with zero spread gets std 1.
 */
export function channelStats(pixels: Uint8Array | Float32Array, n: number, c: number, hw: number):
  { mean: number[]; std: number[] } {
  const unit = pixels instanceof Uint8Array ? 1 / 255 : 1;
  const mean: number[] = [];
  const std: number[] = [];
  const count = n * hw;
  for (let k = 0; k < c; k++) {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const o = (i * c + k) * hw;
      for (let j = 0; j < hw; j++) sum += pixels[o + j];
    }
    const m = count > 0 ? sum / count : 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const o = (i * c + k) * hw;
      for (let j = 0; j < hw; j++) {
        const d = pixels[o + j] - m;
        sq += d * d;
      }
    }
    const s = count > 0 ? Math.sqrt(sq / count) : 0;
    mean.push(m * unit);
    std.push(s > 0 && Number.isFinite(s) ? s * unit : 1);
  }
  return { mean, std };
}
