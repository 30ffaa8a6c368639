// Training data for `repvgg train`, whatever the source: the in-memory sources of sources.ts
// (mnist, cifar10, npy) and folders of image files (folder:<dir>), streamed from disk. Node only
// (it reads files); the loaders themselves are in loader.ts and image-folder.ts.
import type { Preprocessing } from '../models/metadata.js';
import { checkClassName, ModelMetadataError } from '../models/metadata.js';
import { ImageFolderLoader, folderPreprocessing, splitByClass, type FolderEntry } from './image-folder.js';
import { BatchLoader, type BatchSource } from './loader.js';
import { STREAM, checkInteger, permutation, streamRng } from './random.js';
import { loadSource, parseSourceSpec, type LoadSourceOptions } from './sources.js';

/** The image files a folder source reads (matched in any case). */
export const IMAGE_EXTENSIONS: readonly string[] = Object.freeze(['.png', '.jpg', '.jpeg']);
/** More image files than this in one folder source is refused (the listing is held in memory). */
export const MAX_FOLDER_FILES = 10_000_000;

export interface TrainingDataOptions extends LoadSourceOptions {
  /** folder sources: the side of the square inputs (default 224) */
  imageSize?: number;
}

export interface TrainingData {
  /** One line: what was loaded, the split, normalization and augmentation. */
  description: string;
  /** the eval transform that makes an image file an input (null when unknown; see LoadedSource) */
  preprocessing: Preprocessing | null;
  classes: number;
  classNames?: readonly string[];
  /** [c, h, w] of the inputs */
  imageShape: [number, number, number];
  trainCount: number;
  testCount: number;
  /** The training loader (shuffled, last partial batch dropped, augmented unless `augment` is
   *  false) and the test loader (in order, not augmented). */
  loaders(o: { batchSize: number; seed: number; augment: boolean }): { train: BatchSource; test: BatchSource };
}

/** A folder source, listed and split (nothing decoded yet). */
export interface ImageFolderSource {
  root: string;
  classes: string[];
  train: FolderEntry[];
  test: FolderEntry[];
  /** 'folders': <dir>/train and <dir>/val; 'split': a seeded fifth of each class held out */
  layout: 'folders' | 'split';
  /** files of other types, by extension */
  skipped: Map<string, number>;
  /** images before `limit` and `testLimit` */
  found: { train: number; test: number };
}

/**
 * Lists a folder of images: `<dir>/train/<class>/...` and `<dir>/val/<class>/...` when there is a
 * train folder (val classes must be among train's), else `<dir>/<class>/...` with floor(n / 5) of
 * each class held out by a seeded shuffle. Classes are the sorted subfolder names (labels 0, 1,
 * ...); images are PNG and JPEG files at any depth below them; hidden files and folders are left
 * out. `limit` / `testLimit` keep a seeded random subset of that many images.
 */
export async function loadImageFolder(dir: string, opts: LoadSourceOptions = {}): Promise<ImageFolderSource> {
  const files = await import('./files.js');
  const seed = checkInteger(opts.seed ?? 0, 'seed');
  if (!files.isDirectory(dir)) throw new Error(`folder: ${dir} is not a folder (folder:<dir> with one subfolder of images per class)`);
  const skipped = new Map<string, number>();
  const list = (d: string) => {
    const r = files.listFiles(d, IMAGE_EXTENSIONS, MAX_FOLDER_FILES);
    for (const [ext, n] of r.skipped) skipped.set(ext, (skipped.get(ext) ?? 0) + n);
    return r.files;
  };
  const classNamesIn = (d: string): string[] => {
    const names = files.subfolders(d);
    try {
      names.forEach((n) => checkClassName(n, `folder: class folder in ${d}`));
    } catch (e) {
      throw new Error((e as ModelMetadataError).message);
    }
    return names;
  };
  const hasTrain = files.isDirectory(files.join(dir, 'train'));
  const trainDir = hasTrain ? files.join(dir, 'train') : dir;
  const classes = classNamesIn(trainDir);
  if (classes.length < 2) {
    throw new Error(`folder: ${trainDir} has ${classes.length} class folder${classes.length === 1 ? '' : 's'}; ` +
      'expected one subfolder of images per class, at least two');
  }
  const byClass = classes.map((c) => list(files.join(trainDir, c)));
  const empty = classes.filter((_, k) => byClass[k].length === 0);
  if (empty.length > 0) {
    throw new Error(`folder: no PNG or JPEG images in class folder${empty.length > 1 ? 's' : ''} ${empty.slice(0, 10).join(', ')} of ${trainDir}`);
  }
  let train: FolderEntry[];
  let test: FolderEntry[];
  let layout: ImageFolderSource['layout'];
  const valDir = files.join(dir, 'val');
  if (hasTrain && files.isDirectory(valDir)) {
    layout = 'folders';
    train = byClass.flatMap((paths, label) => paths.map((path) => ({ path, label })));
    const valClasses = classNamesIn(valDir);
    const unknown = valClasses.filter((c) => !classes.includes(c));
    if (unknown.length > 0) throw new Error(`folder: ${valDir} has class folder(s) ${unknown.slice(0, 10).join(', ')} that ${trainDir} does not`);
    test = valClasses.flatMap((c) => list(files.join(valDir, c)).map((path) => ({ path, label: classes.indexOf(c) })));
    if (test.length === 0) throw new Error(`folder: no PNG or JPEG images in ${valDir}`);
  } else {
    layout = 'split';
    ({ train, val: test } = splitByClass(byClass, seed));
    if (test.length === 0) throw new Error(`folder: too few images in ${trainDir} to hold a fifth of a class out; add images or a val folder`);
  }
  const subset = (entries: FolderEntry[], n: number | undefined, what: string, salt: number) => {
    if (n === undefined || checkInteger(n, what, 1) >= entries.length) return entries;
    const order = permutation(entries.length, streamRng(seed, salt, STREAM.subset));
    return Array.from(order.subarray(0, n)).sort((a, b) => a - b).map((i) => entries[i]);
  };
  return {
    root: dir, classes, layout, skipped, found: { train: train.length, test: test.length },
    train: subset(train, opts.limit, 'limit', 0),
    test: subset(test, opts.testLimit, 'testLimit', 1),
  };
}

function describeFolder(src: ImageFolderSource, size: number, augment: boolean, seed: number): string {
  const full = src.found;
  const pre = folderPreprocessing(size);
  const parts = [
    `folder:${src.root}: ${src.train.length} train / ${src.test.length} ${src.layout === 'folders' ? 'val' : 'held-out'} images in ` +
      `${src.classes.length} classes (${src.classes.slice(0, 5).join(', ')}${src.classes.length > 5 ? ', ...' : ''})`,
    src.layout === 'folders' ? 'from train/ and val/' : `a fifth of each class held out (seed ${seed})`,
    `decoded as they are used, ${size}x${size} RGB inputs normalized with ImageNet mean/std`,
    `augmentation: ${augment ? `RandomResizedCrop(${size}) + horizontal flip` : 'none (turned off)'}`,
    `evaluation: resize ${pre.resize}, center crop ${size}`,
  ];
  if (src.train.length < full.train) parts.push(`limited to ${src.train.length} of ${full.train} training images`);
  if (src.test.length < full.test) parts.push(`limited to ${src.test.length} of ${full.test} test images`);
  if (src.skipped.size > 0) {
    parts.push(`skipped ${[...src.skipped].map(([ext, n]) => `${n} ${ext}`).join(', ')} file(s) (PNG and JPEG only)`);
  }
  return parts.join('; ');
}

/**
 * The training data a source string names (SOURCE_FORMS, and folder:<dir>), with loaders for it.
 * In-memory sources are loaded whole; a folder is listed now and its images read batch by batch.
 */
export async function loadTrainingData(spec: string, opts: TrainingDataOptions = {}): Promise<TrainingData> {
  const src = parseSourceSpec(spec);
  if (src.kind !== 'folder') {
    if (opts.imageSize !== undefined) throw new Error(`the image size (--size) applies to folder data only, not ${src.kind}`);
    const data = await loadSource(spec, opts);
    const { train, test } = data;
    return {
      description: data.description, preprocessing: data.preprocessing, classes: train.classes, classNames: train.classNames,
      imageShape: [train.c, train.h, train.w], trainCount: train.n, testCount: test.n,
      loaders: ({ batchSize, seed, augment }) => ({
        train: new BatchLoader(train, { batchSize, shuffle: true, seed, dropLast: true, augment: augment ? undefined : false }),
        test: new BatchLoader(test, { batchSize: Math.max(batchSize, 128), shuffle: false, augment: false }),
      }),
    };
  }
  const size = checkInteger(opts.imageSize ?? 224, 'image size', 32);
  const seed = checkInteger(opts.seed ?? 0, 'seed');
  const folder = await loadImageFolder(src.dir, opts);
  const files = await import('./files.js');
  const limits = { maxImagePixels: opts.maxImagePixels };
  return {
    description: describeFolder(folder, size, opts.augment ?? true, seed),
    preprocessing: folderPreprocessing(size),
    classes: folder.classes.length,
    classNames: folder.classes,
    imageShape: [3, size, size],
    trainCount: folder.train.length,
    testCount: folder.test.length,
    loaders: ({ batchSize, seed: s, augment }) => ({
      train: new ImageFolderLoader(folder.train, { size, batchSize, shuffle: true, seed: s, augment, dropLast: true, read: files.readBytesSync, limits }),
      // Evaluation batches as large as the training ones: at 224x224 a batch of 128 would hold
      // 77 MB of input and a few GB of activations.
      test: new ImageFolderLoader(folder.test, { size, batchSize, shuffle: false, augment: false, read: files.readBytesSync, limits }),
    }),
  };
}
