// A PNG decoder (ISO/IEC 15948, the W3C PNG specification): every colour type and bit depth
// (gray 1/2/4/8/16, RGB 8/16, palette 1/2/4/8, gray + alpha 8/16, RGBA 8/16), tRNS, Adam7
// interlacing, on the library's own inflate (src/io/inflate.ts), without dependencies.
//
// What it returns, and how that relates to PIL (the reference of the tests):
// - gray below 8 bits is scaled to 0..255 (v * 255 / (2^depth - 1)), as PIL's L;1/L;2/L;4;
// - a palette is expanded to RGB, or RGBA when tRNS gives alphas (PIL: mode P, then convert);
// - tRNS on gray or RGB becomes an alpha channel (0 where the pixel equals the key, else opaque);
// - 16-bit samples are kept (a Uint16Array); PIL keeps them for gray (mode I) and truncates RGB(A)
//   and gray + alpha to their high byte.
//
// Safety: every chunk's length is checked against the file and its CRC-32 verified; the pixel
// count against maxImagePixels; the compressed size against what deflate can possibly produce
// (1032:1 at most), so a small file cannot claim a huge image and make us allocate it; the
// inflater writes into a buffer of exactly the expected size and stops at its end.
import { crc32, inflateZlib } from '../io/inflate.js';
import { checkImageSize, type DecodedImage, type ImageLimits } from './image.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Deflate's best ratio: a 258-byte match in under 2 bits. A bound, not an estimate. */
const MAX_DEFLATE_RATIO = 1032;

/** (x start, y start, x step, y step) of the 7 Adam7 passes. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** Samples per pixel of each colour type, and the bit depths it allows. */
const COLOR_TYPES: ReadonlyMap<number, { samples: number; depths: number[]; name: string }> = new Map([
  [0, { samples: 1, depths: [1, 2, 4, 8, 16], name: 'gray' }],
  [2, { samples: 3, depths: [8, 16], name: 'RGB' }],
  [3, { samples: 1, depths: [1, 2, 4, 8], name: 'palette' }],
  [4, { samples: 2, depths: [8, 16], name: 'gray + alpha' }],
  [6, { samples: 4, depths: [8, 16], name: 'RGBA' }],
]);

/** True if the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  samples: number;
  interlaced: boolean;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** Printable chunk type for messages (the file chose it: non-letters are shown as codes). */
function chunkName(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = b[o + i];
    s += (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}

function parseHeader(d: Uint8Array, limits: ImageLimits): Header {
  if (d.length !== 13) throw new Error(`png: IHDR has ${d.length} bytes, expected 13`);
  const width = u32(d, 0);
  const height = u32(d, 4);
  const depth = d[8];
  const colorType = d[9];
  const ct = COLOR_TYPES.get(colorType);
  if (!ct) throw new Error(`png: colour type ${colorType} does not exist (0, 2, 3, 4 or 6)`);
  if (!ct.depths.includes(depth)) {
    throw new Error(`png: bit depth ${depth} is not allowed for ${ct.name} images (allowed: ${ct.depths.join(', ')})`);
  }
  if (d[10] !== 0) throw new Error(`png: compression method ${d[10]} is not deflate (0)`);
  if (d[11] !== 0) throw new Error(`png: filter method ${d[11]} does not exist (0)`);
  if (d[12] > 1) throw new Error(`png: interlace method ${d[12]} does not exist (0 none, 1 Adam7)`);
  checkImageSize(width, height, limits, 'png');
  return { width, height, depth, colorType, samples: ct.samples, interlaced: d[12] === 1 };
}

/** The passes the image is stored in: one, or Adam7's seven (empty ones left out). */
function passesOf(h: Header): { index: number; x0: number; y0: number; dx: number; dy: number; w: number; rows: number }[] {
  const list = h.interlaced ? ADAM7 : [[0, 0, 1, 1]];
  return list.map(([x0, y0, dx, dy], i) => ({
    index: h.interlaced ? i : -1, x0, y0, dx, dy, w: Math.ceil((h.width - x0) / dx), rows: Math.ceil((h.height - y0) / dy),
  })).filter((p) => p.w > 0 && p.rows > 0);
}

/** Undoes the row filters of one pass in place (`data` holds its rows, each a filter byte and
 *  `stride` bytes); `bpp` is the bytes per complete pixel (at least 1). */
function unfilter(data: Uint8Array, start: number, rows: number, stride: number, bpp: number, pass: number): void {
  for (let y = 0; y < rows; y++) {
    const f = start + y * (stride + 1);
    const type = data[f];
    const row = f + 1;
    const prev = y === 0 ? -1 : row - stride - 1; // -1: the row above is all zeros
    switch (type) {
      case 0:
        break;
      case 1:
        for (let i = bpp; i < stride; i++) data[row + i] = (data[row + i] + data[row + i - bpp]) & 255;
        break;
      case 2:
        if (prev >= 0) for (let i = 0; i < stride; i++) data[row + i] = (data[row + i] + data[prev + i]) & 255;
        break;
      case 3:
        for (let i = 0; i < stride; i++) {
          const left = i >= bpp ? data[row + i - bpp] : 0;
          const up = prev >= 0 ? data[prev + i] : 0;
          data[row + i] = (data[row + i] + ((left + up) >> 1)) & 255;
        }
        break;
      case 4:
        for (let i = 0; i < stride; i++) {
          const a = i >= bpp ? data[row + i - bpp] : 0;
          const b = prev >= 0 ? data[prev + i] : 0;
          const c = i >= bpp && prev >= 0 ? data[prev + i - bpp] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          data[row + i] = (data[row + i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
        }
        break;
      default:
        throw new Error(`png: row ${y}${pass >= 0 ? ` of Adam7 pass ${pass + 1}` : ''} has filter type ${type} (0 to 4 exist): corrupt data`);
    }
  }
}

/**
 * Decodes a PNG file. `limits.maxImagePixels` bounds the image (default: PIL's 89,478,485).
 * Throws an Error saying what is wrong (and where) for a truncated or corrupt file.
 */
export function decodePng(bytes: Uint8Array, limits: ImageLimits = {}): DecodedImage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodePng: expected the bytes of a file (Uint8Array)');
  if (!isPng(bytes)) throw new Error('png: not a PNG file (no PNG signature)');
  let pos = 8;
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  let trns: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let idatBytes = 0;
  let idatDone = false;
  let ended = false;
  while (pos < bytes.length) {
    if (pos + 12 > bytes.length) throw new Error(`png: chunk at byte ${pos} is cut short: truncated file`);
    const length = u32(bytes, pos);
    const name = chunkName(bytes, pos + 4);
    if (length > 0x7fffffff) throw new Error(`png: chunk ${name} at byte ${pos} claims ${length} bytes (at most 2^31 - 1)`);
    if (pos + 12 + length > bytes.length) {
      throw new Error(`png: chunk ${name} at byte ${pos} needs ${length} bytes, the file has ${bytes.length - pos - 12} left: truncated file`);
    }
    const typeAndData = bytes.subarray(pos + 4, pos + 8 + length);
    const data = typeAndData.subarray(4);
    if (crc32(typeAndData) !== u32(bytes, pos + 8 + length)) throw new Error(`png: chunk ${name} at byte ${pos} fails its CRC check: corrupt file`);
    const at = pos;
    pos += 12 + length;
    if (header === null && name !== 'IHDR') throw new Error(`png: the first chunk is ${name}, not IHDR`);
    if (name !== 'IDAT' && idat.length > 0) idatDone = true;
    switch (name) {
      case 'IHDR':
        if (header !== null) throw new Error(`png: a second IHDR at byte ${at}`);
        header = parseHeader(data, limits);
        break;
      case 'PLTE':
        if (palette !== null) throw new Error('png: a second PLTE chunk');
        if (idat.length > 0) throw new Error('png: PLTE comes after the image data');
        if (length % 3 !== 0 || length === 0 || length > 768) {
          throw new Error(`png: PLTE has ${length} bytes, not 3 per entry for 1 to 256 entries`);
        }
        palette = data;
        break;
      case 'tRNS':
        if (idat.length > 0) throw new Error('png: tRNS comes after the image data');
        trns = data;
        break;
      case 'IDAT':
        if (idatDone) throw new Error(`png: IDAT chunks are not consecutive (another at byte ${at})`);
        idat.push(data);
        idatBytes += length;
        break;
      case 'IEND':
        ended = true;
        break;
      default:
        // Ancillary chunks (lowercase first letter: text, gamma, ...) change no pixel we return.
        if ((typeAndData[0] & 0x20) === 0) throw new Error(`png: unknown critical chunk ${name} at byte ${at}`);
    }
    if (ended) break;
  }
  if (header === null) throw new Error('png: no IHDR chunk: truncated file');
  if (!ended) throw new Error('png: the file ends without an IEND chunk: truncated file');
  if (idat.length === 0) throw new Error('png: no image data (IDAT)');
  const h = header;
  if (h.colorType === 3 && palette === null) throw new Error('png: a palette image without a PLTE chunk');

  const bitsPerPixel = h.depth * h.samples;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const passes = passesOf(h);
  let expected = 0;
  for (const p of passes) expected += p.rows * (1 + Math.ceil((p.w * bitsPerPixel) / 8));
  if (idatBytes * MAX_DEFLATE_RATIO + 64 < expected) {
    throw new Error(`png: ${idatBytes} bytes of compressed data cannot hold a ${h.width}x${h.height} image ` +
      `(${expected} bytes): truncated or corrupt file`);
  }
  const z = new Uint8Array(idatBytes);
  let o = 0;
  for (const c of idat) {
    z.set(c, o);
    o += c.length;
  }
  const raw = inflateZlib(z, expected, 'png: image data', 'the image size says');

  // Unfiltered samples at their stored depth, placed at their pixels (Adam7 scatters them).
  const sampleCount = h.width * h.height * h.samples;
  const samples = h.depth === 16 ? new Uint16Array(sampleCount) : new Uint8Array(sampleCount);
  let start = 0;
  for (const p of passes) {
    const stride = Math.ceil((p.w * bitsPerPixel) / 8);
    unfilter(raw, start, p.rows, stride, bpp, p.index);
    for (let y = 0; y < p.rows; y++) {
      const row = start + y * (stride + 1) + 1;
      const outRow = (p.y0 + y * p.dy) * h.width;
      for (let x = 0; x < p.w; x++) {
        const px = (outRow + p.x0 + x * p.dx) * h.samples;
        if (h.depth === 8) {
          for (let c = 0; c < h.samples; c++) samples[px + c] = raw[row + x * h.samples + c];
        } else if (h.depth === 16) {
          for (let c = 0; c < h.samples; c++) {
            const b = row + (x * h.samples + c) * 2;
            samples[px + c] = (raw[b] << 8) | raw[b + 1];
          }
        } else {
          // 1, 2 or 4 bits, one sample per pixel, most significant bits first.
          const bit = x * h.depth;
          samples[px] = (raw[row + (bit >> 3)] >> (8 - h.depth - (bit & 7))) & ((1 << h.depth) - 1);
        }
      }
    }
    start += p.rows * (stride + 1);
  }
  return expand(h, samples, palette, trns);
}

/** From stored samples to what decodePng returns (see the top of the file). */
function expand(h: Header, s: Uint8Array | Uint16Array, palette: Uint8Array | null, trns: Uint8Array | null): DecodedImage {
  const n = h.width * h.height;
  const { width, height } = h;
  if (h.colorType === 3) {
    const entries = palette!.length / 3;
    if (trns && trns.length > entries) throw new Error(`png: tRNS has ${trns.length} alphas for a palette of ${entries} entries`);
    const channels = trns ? 4 : 3;
    const out = new Uint8Array(n * channels);
    for (let i = 0; i < n; i++) {
      const v = s[i];
      if (v >= entries) {
        throw new Error(`png: pixel (${i % width}, ${Math.floor(i / width)}) has palette index ${v}, but the palette has ${entries} entries`);
      }
      out[i * channels] = palette![v * 3];
      out[i * channels + 1] = palette![v * 3 + 1];
      out[i * channels + 2] = palette![v * 3 + 2];
      if (trns) out[i * channels + 3] = v < trns.length ? trns[v] : 255;
    }
    return { width, height, channels, bitDepth: 8, data: out };
  }
  const sixteen = h.depth === 16;
  const scale = h.depth < 8 ? 255 / ((1 << h.depth) - 1) : 1;
  // tRNS on gray (2 bytes) or RGB (6 bytes): the key colour, at the stored depth. PNG forbids it
  // with an alpha channel; libpng ignores it there, and so do we.
  let key: number[] | null = null;
  if (trns && (h.colorType === 0 || h.colorType === 2)) {
    const need = h.colorType === 0 ? 2 : 6;
    if (trns.length !== need) throw new Error(`png: tRNS of a ${h.colorType === 0 ? 'gray' : 'RGB'} image has ${trns.length} bytes, expected ${need}`);
    key = [];
    // Only the low `depth` bits count (libpng masks the key the same way).
    for (let c = 0; c < need; c += 2) key.push(((trns[c] << 8) | trns[c + 1]) & ((1 << h.depth) - 1));
  }
  const inC = h.samples;
  const channels = (inC + (key ? 1 : 0)) as 1 | 2 | 3 | 4;
  if (!key && scale === 1) return { width, height, channels, bitDepth: sixteen ? 16 : 8, data: s };
  const out = sixteen ? new Uint16Array(n * channels) : new Uint8Array(n * channels);
  const opaque = sixteen ? 65535 : 255;
  for (let i = 0; i < n; i++) {
    let match = key !== null;
    for (let c = 0; c < inC; c++) {
      const v = s[i * inC + c];
      if (key && v !== key[c]) match = false;
      out[i * channels + c] = scale === 1 ? v : Math.round(v * scale);
    }
    if (key) out[i * channels + inC] = match ? 0 : opaque;
  }
  return { width, height, channels, bitDepth: sixteen ? 16 : 8, data: out };
}
