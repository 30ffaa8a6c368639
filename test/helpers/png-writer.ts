// A minimal PNG writer for tests that need image files: 8-bit gray, RGB or RGBA, filter 0,
// deflated by Node's zlib.
import { deflateSync } from 'node:zlib';
import { crc32 } from '../../src/io/inflate.js';

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** A PNG of `channels` (1, 3 or 4) 8-bit samples per pixel, interleaved, row-major. */
export function encodePng(width: number, height: number, channels: 1 | 3 | 4, data: Uint8Array): Uint8Array {
  if (data.length !== width * height * channels) throw new Error('encodePng: wrong data length');
  const header = new Uint8Array(13);
  const dv = new DataView(header.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  header.set([8, channels === 1 ? 0 : channels === 3 ? 2 : 6, 0, 0, 0], 8);
  const raw = new Uint8Array(height * (1 + width * channels));
  for (let y = 0; y < height; y++) raw.set(data.subarray(y * width * channels, (y + 1) * width * channels), y * (1 + width * channels) + 1);
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', header),
    chunk('IDAT', new Uint8Array(deflateSync(raw))), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
