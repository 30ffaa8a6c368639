// A folder of image files as training data, torchvision's ImageFolder way: one subfolder per
// class (sorted names -> labels 0, 1, ...), images decoded and resized batch by batch while
// training (never all in memory), with the official RepVGG augmentation:
//   training   RandomResizedCrop(size) (scale 0.08..1, aspect 3/4..4/3, bilinear) + RandomHorizontalFlip
//   evaluation Resize(size * 256 / 224 at 224, else size) + CenterCrop(size)
// then ToTensor + Normalize(ImageNet mean, std). Each image is converted to RGB as PIL's
// convert('RGB') does. Randomness comes from the loader's seeded streams (random.ts): epoch e of
// seed s draws the same crops and flips every time, in visiting order, crop before flip as
// torchvision draws them.
//
// This module reads files through a function it is given (`read`), so it runs wherever that
// function does; the Node listing of a folder is in files.ts.
import { decodeImage, toChannels } from '../image/decode.js';
import type { ImageLimits } from '../image/image.js';
import { centerCrop, cropBox, normalize, resizeShorter, type Pixels } from '../image/preprocess.js';
import { resizeBilinear } from '../image/resize.js';
import { IMAGENET_MEAN, IMAGENET_STD, imagenetPreprocessing, type Preprocessing } from '../models/metadata.js';
import type { Batch, BatchSource } from './loader.js';
import { STREAM, checkInteger, permutation, streamRng, type Mulberry32 } from './random.js';

/** One image file and its class. */
export interface FolderEntry {
  path: string;
  label: number;
}

/** Python's round(): half to even (torchvision rounds the crop sides with it). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A crop window: rows [top, top + height), columns [left, left + width). */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

const LOG_RATIO: readonly [number, number] = [Math.log(3 / 4), Math.log(4 / 3)];

/**
 * RandomResizedCrop.get_params of torchvision (scale 0.08..1, ratio 3/4..4/3) for a width x
 * height image: up to 10 tries of a random area and log-uniform aspect ratio, the window placed
 * uniformly at random; if none fits, the largest centred window within the ratio limits.
 */
export function sampleResizedCrop(rng: Mulberry32, width: number, height: number): CropBox {
  const area = width * height;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (0.08 + rng.next() * (1 - 0.08));
    const aspect = Math.exp(LOG_RATIO[0] + rng.next() * (LOG_RATIO[1] - LOG_RATIO[0]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < 3 / 4) h = roundHalfEven(w / (3 / 4));
  else if (inRatio > 4 / 3) w = roundHalfEven(h * (4 / 3));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Splits each class's files into training and held-out ones: a seeded shuffle per class, then
 * floor(n / 5) held out (none for a class of one image). `files[k]` are class k's paths.
 */
export function splitByClass(files: readonly (readonly string[])[], seed: number): { train: FolderEntry[]; val: FolderEntry[] } {
  const train: FolderEntry[] = [];
  const val: FolderEntry[] = [];
  files.forEach((list, label) => {
    const order = permutation(list.length, streamRng(seed, label, STREAM.split));
    const held = Math.floor(list.length / 5);
    for (let j = 0; j < list.length; j++) (j < held ? val : train).push({ path: list[order[j]], label });
  });
  return { train, val };
}

export interface ImageFolderLoaderOptions {
  /** side of the square inputs (default 224) */
  size?: number;
  batchSize: number;
  /** a new random order every epoch */
  shuffle: boolean;
  seed?: number;
  /** RandomResizedCrop + flip (training); false: the eval transform */
  augment: boolean;
  /** drop the last, smaller batch */
  dropLast?: boolean;
  /** the bytes of a file (Node: readFileSync) */
  read: (path: string) => Uint8Array;
  /** bounds each decoded image (default maxImagePixels: PIL's) */
  limits?: ImageLimits;
}

/** The eval transform of a folder loader of side `size` (the metadata of models trained on it). */
export function folderPreprocessing(size: number): Preprocessing {
  return imagenetPreprocessing(size);
}

/** Batches of image files, decoded, augmented and normalized as they are visited. */
export class ImageFolderLoader implements BatchSource {
  readonly entries: readonly FolderEntry[];
  readonly size: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly augment: boolean;
  readonly dropLast: boolean;
  private readonly read: (path: string) => Uint8Array;
  private readonly limits: ImageLimits;
  private readonly eval: Preprocessing;

  constructor(entries: readonly FolderEntry[], opts: ImageFolderLoaderOptions) {
    this.entries = entries;
    this.size = checkInteger(opts.size ?? 224, 'ImageFolderLoader: size', 1);
    this.batchSize = checkInteger(opts.batchSize, 'ImageFolderLoader: batchSize', 1);
    this.shuffle = !!opts.shuffle;
    this.seed = checkInteger(opts.seed ?? 0, 'ImageFolderLoader: seed');
    this.augment = !!opts.augment;
    this.dropLast = !!opts.dropLast;
    if (typeof opts.read !== 'function') throw new TypeError('ImageFolderLoader: read must be a function (path) => bytes');
    this.read = opts.read;
    this.limits = opts.limits ?? {};
    this.eval = folderPreprocessing(this.size);
  }

  get imageShape(): readonly [number, number, number] {
    return [3, this.size, this.size];
  }

  get batchesPerEpoch(): number {
    const n = this.entries.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** One image as the model sees it, written into `out` at `offset`. */
  private load(entry: FolderEntry, rng: Mulberry32, out: Float32Array, offset: number): void {
    let px: Pixels;
    try {
      const img = decodeImage(this.read(entry.path), this.limits);
      px = { data: toChannels(img, 3), width: img.width, height: img.height, channels: 3 };
    } catch (e) {
      throw new Error(`image folder: ${entry.path}: ${(e as Error).message}`);
    }
    const s = this.size;
    if (this.augment) {
      const box = sampleResizedCrop(rng, px.width, px.height);
      const flip = rng.next() < 0.5;
      const crop = cropBox(px, box.top, box.left, box.height, box.width);
      const resized = { data: resizeBilinear(crop.data, crop.width, crop.height, 3, s, s), width: s, height: s, channels: 3 };
      normalize(resized, IMAGENET_MEAN, IMAGENET_STD, flip, out, offset);
    } else {
      normalize(centerCrop(resizeShorter(px, this.eval.resize!), s, s), IMAGENET_MEAN, IMAGENET_STD, false, out, offset);
    }
  }

  /** The batches of epoch `epoch`, each decoded when it is asked for. */
  *batches(epoch: number): Generator<Batch, void, undefined> {
    const n = this.entries.length;
    let order: Int32Array;
    if (this.shuffle) {
      order = permutation(n, streamRng(this.seed, epoch, STREAM.shuffle));
    } else {
      checkInteger(epoch, 'epoch', 0);
      order = Int32Array.from({ length: n }, (_, i) => i);
    }
    const rng = streamRng(this.seed, epoch, STREAM.augment);
    const per = 3 * this.size * this.size;
    for (let b = 0; b < this.batchesPerEpoch; b++) {
      const start = b * this.batchSize;
      const m = Math.min(this.batchSize, n - start);
      const x = new Float32Array(m * per);
      const labels = new Int32Array(m);
      const indices = order.slice(start, start + m);
      for (let j = 0; j < m; j++) {
        const e = this.entries[indices[j]];
        labels[j] = e.label;
        this.load(e, rng, x, j * per);
      }
      yield { x, labels, size: m, index: b, indices };
    }
  }
}
