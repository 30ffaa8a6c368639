// From a decoded image to a model input, as torchvision 0.14 does it on PIL images:
//   Resize(resize)        the shorter side to `resize`, the longer int(resize * long / short),
//                         bilinear with PIL's antialiasing (resize.ts); skipped when null
//   CenterCrop(h, w)      offsets round((size - crop) / 2) with Python's round (half to even);
//                         zero padding where the crop is larger than the image
//   ToTensor, Normalize   x / 255, then (x - mean) / std per channel, in float32
// Every step but the last works on 8-bit samples the way PIL does, so the bytes before
// normalization equal torchvision's; the float32 steps are done in torch's order.
import type { Preprocessing } from '../models/metadata.js';
import { checkPreprocessing } from '../models/metadata.js';
import { toChannels } from './decode.js';
import { checkImage, type DecodedImage } from './image.js';
import { resizeBilinear } from './resize.js';

/** 8-bit interleaved pixels and their size. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Python's round(): half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The size torchvision's Resize(size) gives an image (shorter side to `size`). */
export function resizedSize(width: number, height: number, size: number): [number, number] {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`resizedSize: size must be a positive integer, got ${String(size)}`);
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? [size, newLong] : [newLong, size];
}

/** torchvision's Resize(size) on 8-bit pixels: the shorter side to `size` (unchanged if it is already). */
export function resizeShorter(p: Pixels, size: number): Pixels {
  const [w, h] = resizedSize(p.width, p.height, size);
  if (w === p.width && h === p.height) return p;
  return { data: resizeBilinear(p.data, p.width, p.height, p.channels, w, h), width: w, height: h, channels: p.channels };
}

/** torchvision's CenterCrop([cropH, cropW]) on 8-bit pixels, zero-padded where the image is smaller. */
export function centerCrop(p: Pixels, cropH: number, cropW: number): Pixels {
  for (const [v, name] of [[cropH, 'crop height'], [cropW, 'crop width']] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`centerCrop: ${name} must be a positive integer, got ${String(v)}`);
  }
  const offset = (size: number, crop: number) => (crop > size ? -Math.floor((crop - size) / 2) : roundHalfEven((size - crop) / 2));
  return cropBox(p, offset(p.height, cropH), offset(p.width, cropW), cropH, cropW);
}

/** The window [top, top + h) x [left, left + w) of the image (zeros outside it), as PIL's crop. */
export function cropBox(p: Pixels, top: number, left: number, h: number, w: number): Pixels {
  const c = p.channels;
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= p.height) continue;
    const x0 = Math.max(0, -left);
    const x1 = Math.min(w, p.width - left);
    if (x1 > x0) out.set(p.data.subarray((sy * p.width + left + x0) * c, (sy * p.width + left + x1) * c), (y * w + x0) * c);
  }
  return { data: out, width: w, height: h, channels: c };
}

/**
 * ToTensor + Normalize: CHW float32, (x / 255 - mean[k]) / std[k], each step rounded to float32 in
 * torch's order. `flip` mirrors the image left to right (RandomHorizontalFlip). Writes into `out`
 * at `offset` when given.
 */
export function normalize(p: Pixels, mean: readonly number[], std: readonly number[], flip = false,
  out?: Float32Array, offset = 0): Float32Array {
  const { width: w, height: h, channels: c } = p;
  if (mean.length !== c || std.length !== c) throw new RangeError(`normalize: mean and std need ${c} values (one per channel), got ${mean.length} and ${std.length}`);
  const dst = out ?? new Float32Array(c * h * w);
  if (dst.length < offset + c * h * w) throw new RangeError(`normalize: the output has room for ${dst.length - offset} values, needs ${c * h * w}`);
  const f = Math.fround;
  for (let k = 0; k < c; k++) {
    const m = f(mean[k]);
    const s = f(std[k]);
    const plane = offset + k * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = p.data[(y * w + (flip ? w - 1 - x : x)) * c + k];
        dst[plane + y * w + x] = f(f(f(v / 255) - m) / s);
      }
    }
  }
  return dst;
}

/**
 * The eval transform of `p` on a decoded image: the model input [channels, crop h, crop w] as
 * float32 CHW, with channels = p.mean.length (1: PIL's convert('L'), 3: convert('RGB')).
 */
export function preprocess(img: DecodedImage, p: Preprocessing): Float32Array {
  checkImage(img, 'preprocess');
  const pre = checkPreprocessing(p, p?.mean?.length ?? 0, 'preprocess: preprocessing');
  const channels = pre.mean.length;
  if (channels !== 1 && channels !== 3) throw new RangeError(`preprocess: images give 1 or 3 channels, the preprocessing has ${channels}`);
  let px: Pixels = { data: toChannels(img, channels), width: img.width, height: img.height, channels };
  if (pre.resize !== null) px = resizeShorter(px, pre.resize);
  px = centerCrop(px, pre.crop[0], pre.crop[1]);
  return normalize(px, pre.mean, pre.std);
}
