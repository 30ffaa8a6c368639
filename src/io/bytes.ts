// Raw little-endian element bytes <-> typed arrays, and a bounds-checked byte reader.
//
// Typed-array views need aligned offsets and host byte order; file data has neither guarantee.
// So decoding copies the bytes (`slice` gives a fresh, aligned buffer that no longer pins the
// file), swaps them if the host or the file is big-endian, then views or converts them.
import type { FileTensor, SourceDType } from './types.js';

/** True on every mainstream JS engine; checked so the code stays correct elsewhere. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element of each stored type. */
export const ELEMENT_SIZE: Readonly<Record<SourceDType, number>> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** Reverses the bytes of every `size`-byte element of `b`, in place. */
function swapBytes(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= b.length; i += size) {
    for (let lo = i, hi = i + size - 1; lo < hi; lo++, hi--) {
      const t = b[lo];
      b[lo] = b[hi];
      b[hi] = t;
    }
  }
}

/** IEEE half -> float32 (exact: every half is a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero or subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export type TensorData = FileTensor['data'];

/**
 * Decodes `count` elements of type `type` starting at byte `begin` of `bytes` into the array a
 * FileTensor of that source type holds. The caller has checked the range against `bytes`.
 */
export function decodeElements(
  bytes: Uint8Array, begin: number, count: number, type: SourceDType, littleEndian = true,
): TensorData {
  const size = ELEMENT_SIZE[type];
  // A copy in a buffer of its own: Node's Buffer.slice would return a view into a shared pool.
  const raw = new Uint8Array(bytes.subarray(begin, begin + count * size));
  if (raw.length !== count * size) {
    throw new Error(`internal: ${count} ${type} elements at byte ${begin} run past ${bytes.length} bytes`);
  }
  if (littleEndian !== HOST_LITTLE_ENDIAN) swapBytes(raw, size);
  const buf = raw.buffer;
  switch (type) {
    case 'float32': return new Float32Array(buf);
    case 'float64': return Float32Array.from(new Float64Array(buf));
    case 'float16': {
      const src = new Uint16Array(buf);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(src[i]);
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the upper half of a float32's bits.
      const src = new Uint16Array(buf);
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = src[i] << 16;
      return out;
    }
    case 'int64': return new BigInt64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int16': return Int32Array.from(new Int16Array(buf));
    case 'int8': return Int32Array.from(new Int8Array(buf));
    case 'uint8': return Int32Array.from(raw);
    case 'bool': return Int32Array.from(raw, (v) => (v !== 0 ? 1 : 0));
  }
}

/** The FileTensor for decoded data of a source type. */
export function makeTensor(sourceDtype: SourceDType, shape: number[], data: TensorData): FileTensor {
  if (data instanceof Float32Array) return { dtype: 'float32', sourceDtype, shape, data };
  if (data instanceof BigInt64Array) return { dtype: 'int64', sourceDtype, shape, data };
  return { dtype: 'int32', sourceDtype, shape, data };
}

/** The little-endian bytes of a typed array (a copy). */
export function encodeLE(data: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  const out = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  if (!HOST_LITTLE_ENDIAN) swapBytes(out, data.BYTES_PER_ELEMENT);
  return out;
}

/**
 * Sequential reads over a byte array. Every read checks the remaining length first and throws
 * `${what}: ...` naming the offset, so a truncated or corrupt file fails with a message, not a
 * RangeError or garbage.
 */
export class ByteReader {
  pos: number;
  private readonly dv: DataView;

  constructor(readonly bytes: Uint8Array, readonly what: string, pos = 0) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws unless `n` more bytes are there. */
  need(n: number, reading: string): void {
    if (n < 0 || n > this.remaining) {
      throw new Error(`${this.what}: truncated: ${reading} needs ${n} bytes at offset ${this.pos}, ` +
        `only ${this.remaining} left`);
    }
  }

  u8(reading = 'a byte'): number {
    this.need(1, reading);
    return this.bytes[this.pos++];
  }

  u16(reading = 'a 2-byte integer'): number {
    this.need(2, reading);
    const v = this.dv.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(reading = 'a 4-byte integer'): number {
    this.need(4, reading);
    const v = this.dv.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  i32(reading = 'a 4-byte integer'): number {
    this.need(4, reading);
    const v = this.dv.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A little-endian u64 as a number; throws if it exceeds 2^53 (no file here is that big). */
  u64(reading = 'an 8-byte integer'): number {
    this.need(8, reading);
    const v = this.dv.getBigUint64(this.pos, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`${this.what}: ${reading} at offset ${this.pos} is ${v}, too large to be valid`);
    }
    this.pos += 8;
    return Number(v);
  }

  f64be(reading = 'an 8-byte float'): number {
    this.need(8, reading);
    const v = this.dv.getFloat64(this.pos, false);
    this.pos += 8;
    return v;
  }

  /** `n` bytes as a subarray (no copy). */
  take(n: number, reading: string): Uint8Array {
    this.need(n, reading);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** V8's longest string (2^29 - 24 characters); longer text cannot be decoded at all. */
const MAX_STRING = 2 ** 29 - 24;

function checkStringLength(n: number, what: string): void {
  if (n > MAX_STRING) throw new Error(`${what}: a text of ${n} bytes is longer than JavaScript strings can be`);
}

/** Strict UTF-8 decoding that names what was being decoded on failure. */
export function decodeUtf8(b: Uint8Array, what: string): string {
  checkStringLength(b.length, what);
  try {
    return utf8.decode(b);
  } catch {
    throw new Error(`${what}: invalid UTF-8`);
  }
}

/**
 * One character per byte, code point = byte (ISO-8859-1). Done by hand: TextDecoder's 'latin1'
 * is really windows-1252, which remaps 0x80-0x9f, and Python's latin-1 does not.
 */
export function decodeLatin1(b: Uint8Array, what = 'text'): string {
  checkStringLength(b.length, what);
  let s = '';
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, Math.min(i + 8192, b.length)));
  }
  return s;
}
