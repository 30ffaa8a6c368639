// Shared by the tests of src/data: byte comparison, a synthetic dataset whose pixels encode where
// they come from, and what the loader must make of an image.
import { augmentImage, createDataset, type AugmentParams, type ImageDataset } from '../../src/data/index.js';
import { TOL_PIXEL } from './tolerances.js';

export function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** n images [c, h, w] whose pixels encode (image, channel, position); label = i % 7. */
export function synthetic(n: number, c: number, h: number, w: number): ImageDataset {
  const pixels = new Uint8Array(n * c * h * w);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37 + (i >> 8)) & 255;
  return createDataset({
    name: 'synthetic', shape: [n, c, h, w], pixels, labels: Int32Array.from({ length: n }, (_, i) => i % 7),
    mean: Array.from({ length: c }, (_, k) => 0.25 + 0.1 * k), std: Array.from({ length: c }, (_, k) => 0.5 - 0.1 * k),
    augment: { cropPadding: 4, flip: true },
  });
}

/** What the loader must produce for image i with these crop/flip parameters. */
export function expectedImage(ds: ImageDataset, i: number, padding: number, p: AugmentParams): Float32Array {
  const size = ds.c * ds.h * ds.w;
  const raw = augmentImage(ds.pixels.slice(i * size, (i + 1) * size), ds.c, ds.h, ds.w, padding, p);
  const out = new Float32Array(size);
  for (let j = 0; j < size; j++) {
    const k = Math.floor(j / (ds.h * ds.w));
    out[j] = (raw[j] / 255 - ds.mean[k]) / ds.std[k];
  }
  return out;
}

export function close(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > TOL_PIXEL) return false;
  return true;
}
