// The image fixtures written by scripts/make-image-fixtures.py (test/fixtures/images/): files,
// and what PIL and torchvision made of them, base64 in expected.json.
import { readFileSync } from 'node:fs';

const DIR = new URL('../../../test/fixtures/images/', import.meta.url);

export interface PngCase {
  file: string; width: number; height: number; pilMode: string;
  pil: string; pilDepth: 8 | 16; pilChannels: number; pilHighByte: boolean; source16?: string;
}
export interface JpegCase {
  file: string; width: number; height: number; pilMode: string; channels: 1 | 3; pil: string; note: string; progressive: boolean;
}
export interface PreprocessCase {
  file: string; resize: number; crop: [number, number]; mean: number[]; std: number[];
  resizedWidth: number; resizedHeight: number; resized: string; tensor: string; shape: number[];
}
export interface Expected {
  png: Record<string, PngCase>;
  jpeg: Record<string, JpegCase>;
  preprocess: Record<string, PreprocessCase>;
  preprocess_box: { file: string; top: number; left: number; height: number; width: number; size: number; resized: string };
  convert: Record<string, { file: string; L: string; RGB: string }>;
}

export const EXPECTED = JSON.parse(readFileSync(new URL('expected.json', DIR), 'utf8')) as Expected;

/** A fixture file's bytes. */
export function imageFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, DIR)));
}

function raw(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

export const u8 = (b64: string): Uint8Array => raw(b64);
export function u16(b64: string): Uint16Array {
  const b = raw(b64);
  return new Uint16Array(b.buffer, b.byteOffset, b.length / 2);
}
export function f32(b64: string): Float32Array {
  const b = raw(b64);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** Largest |a - b| over two equally long arrays, and how many elements differ. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; count: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > 0) count++;
    if (d > max) max = d;
  }
  return { max, count };
}
