// Training-time augmentation, as torchvision does it for CIFAR:
//   RandomCrop(size = the image's own size, padding = p)  then  RandomHorizontalFlip(0.5).
// The crop pads every side with p zero pixels (raw zeros, i.e. black, *before* normalization, as
// torchvision pads the PIL image before ToTensor/Normalize) and cuts a window of the original
// size at a uniformly random offset: top, left in 0..2p inclusive. Output pixel (y, x) is input
// pixel (y + top - p, x + left - p), zero outside the image; flip mirrors the cropped window:
// out(y, x) = crop(y, w - 1 - x).
import type { Mulberry32 } from './random.js';

export interface AugmentOptions {
  /** Zero padding on every side for the random crop; 0 = no crop. */
  readonly cropPadding: number;
  /** Random horizontal flip with probability 0.5. */
  readonly flip: boolean;
}

/** No augmentation. */
export const NO_AUGMENT: AugmentOptions = Object.freeze({ cropPadding: 0, flip: false });

/** What one image gets: crop offsets in the padded image (0..2p) and whether it is mirrored. */
export interface AugmentParams {
  top: number;
  left: number;
  flip: boolean;
}

/** Validates augmentation options (the padding must be an integer >= 0). */
export function checkAugment(a: AugmentOptions, where: string): AugmentOptions {
  if (typeof a !== 'object' || a === null) throw new Error(`${where}: augment options must be an object or false`);
  if (!Number.isSafeInteger(a.cropPadding) || a.cropPadding < 0) {
    throw new Error(`${where}: cropPadding must be an integer >= 0, got ${String(a.cropPadding)}`);
  }
  if (typeof a.flip !== 'boolean') throw new Error(`${where}: flip must be a boolean, got ${String(a.flip)}`);
  return a;
}

/**
 * Draws the parameters for one image, in torchvision's order: the crop's top then left offset
 * (each `rng.int(2p + 1)`, only when p > 0), then the flip (`rng.next() < 0.5`, only when
 * flipping is on). Nothing is drawn for a disabled step.
 */
export function sampleAugment(rng: Mulberry32, a: AugmentOptions): AugmentParams {
  const p = a.cropPadding;
  let top = 0;
  let left = 0;
  if (p > 0) {
    top = rng.int(2 * p + 1);
    left = rng.int(2 * p + 1);
  }
  const flip = a.flip ? rng.next() < 0.5 : false;
  return { top, left, flip };
}

/**
 * Writes one augmented, normalized image: for channel k, out = raw * scale[k] + shift[k], where
 * `raw` is the source pixel, or 0 where the crop reaches into the padding. `src` holds the image
 * at `srcOffset` ([c, h, w]), `out` receives it at `outOffset`. With top = left = padding = 0 and
 * no flip this is plain normalization.
 */
export function writeAugmented(
  src: Uint8Array | Float32Array, srcOffset: number, c: number, h: number, w: number,
  padding: number, params: AugmentParams, scale: ArrayLike<number>, shift: ArrayLike<number>,
  out: Float32Array, outOffset: number,
): void {
  const dy = params.top - padding;
  const dx = params.left - padding;
  const hw = h * w;
  for (let k = 0; k < c; k++) {
    const a = scale[k];
    const b = shift[k];
    const plane = srcOffset + k * hw;
    for (let y = 0; y < h; y++) {
      const o = outOffset + k * hw + y * w;
      const sy = y + dy;
      if (sy < 0 || sy >= h) {
        out.fill(b, o, o + w);
        continue;
      }
      const row = plane + sy * w;
      if (params.flip) {
        for (let x = 0; x < w; x++) {
          const sx = w - 1 - x + dx;
          out[o + x] = sx < 0 || sx >= w ? b : src[row + sx] * a + b;
        }
      } else {
        for (let x = 0; x < w; x++) {
          const sx = x + dx;
          out[o + x] = sx < 0 || sx >= w ? b : src[row + sx] * a + b;
        }
      }
    }
  }
}

/**
 * One image [c, h, w], cropped and flipped in raw pixel space (no normalization): a reference for
 * tests and for looking at what the loader feeds the network.
 */
export function augmentImage<T extends Uint8Array | Float32Array>(
  image: T, c: number, h: number, w: number, padding: number, params: AugmentParams,
): T {
  if (image.length !== c * h * w) throw new Error(`augmentImage: ${image.length} values for [${c}, ${h}, ${w}]`);
  const tmp = new Float32Array(c * h * w);
  writeAugmented(image, 0, c, h, w, padding, params, new Float32Array(c).fill(1), new Float32Array(c), tmp, 0);
  const out = (image instanceof Uint8Array ? new Uint8Array(tmp.length) : new Float32Array(tmp.length)) as T;
  out.set(tmp);
  return out;
}
