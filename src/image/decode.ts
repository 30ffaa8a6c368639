// Image files in: PNG or JPEG told from the first bytes, and the conversion to the 8-bit gray or
// RGB pixels a model's preprocessing starts from (what PIL's convert('L') / convert('RGB') give).
import { checkImage, type DecodedImage, type ImageLimits } from './image.js';
import { decodeJpeg, isJpeg } from './jpeg.js';
import { decodePng, isPng } from './png.js';

export type ImageFormat = 'png' | 'jpeg';

/** The format of an image file from its first bytes, or null if neither PNG nor JPEG. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (isPng(bytes)) return 'png';
  if (isJpeg(bytes)) return 'jpeg';
  return null;
}

/** What other common formats look like, for a helpful error. */
function otherFormat(b: Uint8Array): string | null {
  const ascii = (o: number, s: string) => [...s].every((ch, i) => b[o + i] === ch.charCodeAt(0));
  if (ascii(0, 'GIF8')) return 'GIF';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'WebP';
  if (ascii(0, 'BM')) return 'BMP';
  if ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) || (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a)) return 'TIFF';
  if (ascii(4, 'ftypavif') || ascii(4, 'ftypheic') || ascii(4, 'ftypmif1')) return 'AVIF/HEIF';
  return null;
}

/**
 * Decodes a PNG or JPEG file (told from its content, not its name). `limits.maxImagePixels`
 * bounds the image (default 89,478,485, PIL's). Throws an Error saying what the file is when it
 * is neither, and what is wrong when it is broken.
 */
export function decodeImage(bytes: Uint8Array, limits: ImageLimits = {}): DecodedImage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeImage: expected the bytes of a file (Uint8Array)');
  const format = detectImageFormat(bytes);
  if (format === 'png') return decodePng(bytes, limits);
  if (format === 'jpeg') return decodeJpeg(bytes, limits);
  const other = otherFormat(bytes);
  throw new Error(bytes.length === 0 ? 'image: the file is empty'
    : `image: not a PNG or JPEG file${other ? ` (it looks like ${other}, which is not supported: convert it to PNG)` : ''}`);
}

/**
 * The image as 8-bit samples with `channels` 1 (gray) or 3 (RGB), as PIL's convert('L') and
 * convert('RGB') make them: alpha is dropped (not composited), gray is repeated into R, G and B,
 * RGB becomes L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16 (ITU-R 601-2 luma in PIL's fixed
 * point), and 16-bit samples keep their high byte (as PIL reads 16-bit colour PNGs; PIL clips
 * 16-bit gray to 255 instead, which is not worth copying).
 */
export function toChannels(img: DecodedImage, channels: 1 | 3): Uint8Array {
  checkImage(img, 'toChannels');
  if (channels !== 1 && channels !== 3) throw new RangeError(`toChannels: channels must be 1 or 3, got ${String(channels)}`);
  const n = img.width * img.height;
  const src = img.data;
  const c = img.channels;
  const shift = img.bitDepth === 16 ? 8 : 0;
  const out = new Uint8Array(n * channels);
  const color = c >= 3;
  for (let i = 0; i < n; i++) {
    const o = i * c;
    if (channels === 3) {
      const r = src[o] >> shift;
      out[i * 3] = r;
      out[i * 3 + 1] = color ? src[o + 1] >> shift : r;
      out[i * 3 + 2] = color ? src[o + 2] >> shift : r;
    } else {
      out[i] = color ? ((src[o] >> shift) * 19595 + (src[o + 1] >> shift) * 38470 + (src[o + 2] >> shift) * 7471 + 0x8000) >> 16
        : src[o] >> shift;
    }
  }
  return out;
}
