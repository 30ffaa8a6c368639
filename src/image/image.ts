// Decoded images: interleaved samples, row-major, and the size checks every decoder makes before
// it allocates anything for an image.
import { DEFAULT_LIMITS, checkLimitOptions, exceeded, type ReadLimits } from '../io/limits.js';

/** Pixels of a decoded image. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA */
  channels: 1 | 2 | 3 | 4;
  /** bits per sample: 16 only for 16-bit PNGs (Uint16Array), else 8 (Uint8Array) */
  bitDepth: 8 | 16;
  /** width * height * channels samples, interleaved: row y, pixel x, channel c at (y * width + x) * channels + c */
  data: Uint8Array | Uint16Array;
}

/** The image limits a decoder uses (ReadLimits.maxImagePixels). */
export type ImageLimits = Pick<ReadLimits, 'maxImagePixels'>;

/** Largest width or height accepted: JPEG's own limit (16-bit fields), applied to PNG as well. */
export const MAX_IMAGE_SIDE = 65_535;

/** Throws unless width x height is a size the caller allows; `what` names the decoder. */
export function checkImageSize(width: number, height: number, limits: ImageLimits, what: string): void {
  checkLimitOptions(limits);
  if (width < 1 || height < 1) throw new Error(`${what}: the image is ${width}x${height}: it has no pixels`);
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE) {
    throw new Error(`${what}: the image is ${width}x${height}, a side larger than ${MAX_IMAGE_SIDE} pixels is not supported`);
  }
  const max = limits.maxImagePixels ?? DEFAULT_LIMITS.maxImagePixels;
  if (width * height > max) {
    exceeded('maxImagePixels', what, `the image is ${width}x${height} (${width * height} pixels)`, max, width * height);
  }
}

/** Checks a DecodedImage a caller hands in (sizes, channels, depth, data length). */
export function checkImage(img: DecodedImage, where: string): DecodedImage {
  if (typeof img !== 'object' || img === null) throw new TypeError(`${where}: expected a decoded image`);
  const { width, height, channels, bitDepth, data } = img;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`${where}: width and height must be positive integers, got ${String(width)}x${String(height)}`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw new RangeError(`${where}: channels must be 1, 2, 3 or 4, got ${String(channels)}`);
  if (bitDepth === 8 ? !(data instanceof Uint8Array) : bitDepth === 16 ? !(data instanceof Uint16Array) : true) {
    throw new TypeError(`${where}: bitDepth ${String(bitDepth)} needs ${bitDepth === 16 ? 'a Uint16Array' : 'a Uint8Array (bitDepth 8)'} of samples`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`${where}: ${data.length} samples for a ${width}x${height} image of ${channels} channels (needs ${width * height * channels})`);
  }
  return img;
}
