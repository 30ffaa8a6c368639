// NumPy .npy files (format versions 1.0, 2.0, 3.0), read and write.
//
// Layout: "\x93NUMPY", major, minor, header length (u16 in 1.0, u32 in 2.0/3.0), then a Python
// dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and a newline, then the raw data. We parse the literal with a tiny parser for the few
// Python constants it can hold (never eval), and only accept little-endian C-order arrays. Like
// NumPy (max_header_size), we refuse headers over 10,000 bytes unless the caller raises the limit.
import { ByteReader, ELEMENT_SIZE, decodeElements, decodeLatin1, decodeUtf8, encodeLE, makeTensor } from './bytes.js';
import { DEFAULT_LIMITS, checkLimitOptions, checkTensorBytes, exceeded, type ReadLimits } from './limits.js';
import { checkShape, inputDtype, type FileTensor, type SourceDType, type TensorInput } from './types.js';
import { describeFileValue as describe, quote } from '../format.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** descr strings we read, and their source types. A Map: a descr from the file must never find
 * Object.prototype's members ('__proto__', 'toString'). */
const DESCRS: ReadonlyMap<string, SourceDType> = new Map([
  ['<f4', 'float32'], ['<f8', 'float64'], ['<f2', 'float16'],
  ['<i8', 'int64'], ['<i4', 'int32'], ['<i2', 'int16'], ['|i1', 'int8'], ['|u1', 'uint8'], ['|b1', 'bool'],
]);

/** A descr as Python shows it in a message, cut short. */
function cut(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

/** True if `bytes` starts with the .npy magic string. */
export function looksLikeNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

/** A dict is a Map, so that no key ('__proto__') can reach an object's prototype. */
type PyLiteral = string | number | boolean | null | PyLiteral[] | Map<string, PyLiteral>;

/** Parses the Python literal of an .npy header (dicts, tuples, lists, strings, ints, bools, None). */
function parseLiteral(text: string): PyLiteral {
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`npy: cannot parse the header ${quote(text.trim())}: ${why} at character ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const value = (depth: number): PyLiteral => {
    if (depth > 16) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: PyLiteral[] = [];
      const dict = new Map<string, PyLiteral>();
      for (;;) {
        ws();
        if (text[i] === close) { i++; break; }
        const v = value(depth + 1);
        if (c === '{') {
          ws();
          if (text[i++] !== ':' || typeof v !== 'string') fail('expected a string key and ":"');
          dict.set(v as string, value(depth + 1));
        } else {
          items.push(v);
        }
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`expected "," or "${close}"`);
      }
      return c === '{' ? dict : items;
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail('unterminated string');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i, i + 32));
    if (!m) return fail('unexpected character');
    i += m[0].length;
    if (m[0] === 'True' || m[0] === 'False') return m[0] === 'True';
    if (m[0] === 'None') return null;
    return Number(m[0].replace('L', ''));
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

/**
 * Reads an .npy array (little-endian, C order). Floating types become float32, <i8 stays int64.
 * `limits`: maxHeaderBytes (default 10,000, NumPy's) and maxTensorBytes.
 */
export function readNpy(bytes: Uint8Array, limits: ReadLimits = {}): FileTensor {
  checkLimitOptions(limits);
  if (!looksLikeNpy(bytes)) {
    throw new Error('npy: wrong magic: the file does not start with "\\x93NUMPY" (not an .npy file)');
  }
  const r = new ByteReader(bytes, 'npy', 6);
  const major = r.u8('the format version');
  r.u8('the format version');
  if (major < 1 || major > 3) throw new Error(`npy: format version ${major}.x is not supported (1.0, 2.0, 3.0)`);
  const n = major === 1 ? r.u16('the header length') : r.u32('the header length');
  if (n > r.remaining) {
    throw new Error(`npy: header length ${n} is larger than the rest of the file (${r.remaining} bytes): truncated`);
  }
  const maxHeader = limits.maxHeaderBytes ?? DEFAULT_LIMITS.npyHeaderBytes;
  if (n > maxHeader) exceeded('maxHeaderBytes', 'npy', `the header is ${n} bytes`, maxHeader, n);
  const raw = r.take(n, 'the header');
  // Version 3.0 allows UTF-8 in the header (field names); 1.0 and 2.0 are latin-1.
  const header = parseLiteral(major === 3 ? decodeUtf8(raw, 'npy header') : decodeLatin1(raw));
  if (!(header instanceof Map)) throw new Error('npy: header is not a dict');
  for (const key of ['descr', 'fortran_order', 'shape']) {
    if (!header.has(key)) throw new Error(`npy: the header has no '${key}' key`);
  }
  const descr = header.get('descr');
  const fortran = header.get('fortran_order');
  const shape = header.get('shape');
  if (typeof descr !== 'string') {
    throw new Error(`npy: descr ${describe(descr)} is not supported (structured arrays are not; plain numeric dtypes are)`);
  }
  if (descr[0] === '>') {
    throw new Error(`npy: big-endian dtype '${cut(descr)}' is not supported; save a.astype(a.dtype.newbyteorder('<'))`);
  }
  const type = DESCRS.get(descr);
  if (type === undefined) {
    throw new Error(`npy: dtype '${cut(descr)}' is not supported (supported: ${[...DESCRS.keys()].join(', ')})`);
  }
  if (fortran !== false) {
    const shown = fortran === true ? 'True' : describe(fortran); // as Python writes it
    throw new Error(`npy: fortran_order ${shown} (column-major data) is not supported; ` +
      'save np.ascontiguousarray(a) instead');
  }
  const numel = checkShape(shape, 'npy');
  const size = ELEMENT_SIZE[type];
  if (numel > r.remaining / size) {
    throw new Error(`npy: shape [${(shape as number[]).join(', ')}] of '${descr}' needs ${numel * size} bytes of data, ` +
      `the file has ${r.remaining}: truncated`);
  }
  checkTensorBytes(numel * (type === 'int64' ? 8 : 4), 'npy', limits);
  return makeTensor(type, [...(shape as number[])], decodeElements(bytes, r.pos, numel, type));
}

const WRITE_DESCRS = { float32: '<f4', int64: '<i8', int32: '<i4' } as const;

/** Writes a float32, int64 or int32 tensor as an .npy file (version 1.0, or 2.0 for a huge header). */
export function writeNpy(tensor: TensorInput): Uint8Array {
  const dtype = inputDtype(tensor, 'writeNpy');
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  const dict = `{'descr': '${WRITE_DESCRS[dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  // numpy pads with spaces and ends with a newline so that the data starts 64-byte aligned.
  let version = 1;
  let prelude = 10;
  if (dict.length + 1 + prelude > 0xffff) {
    version = 2;
    prelude = 12;
  }
  const total = Math.ceil((prelude + dict.length + 1) / 64) * 64;
  const text = dict + ' '.repeat(total - prelude - dict.length - 1) + '\n';
  const data = encodeLE(tensor.data);
  const out = new Uint8Array(total + data.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, text.length, true);
  else dv.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[prelude + i] = text.charCodeAt(i);
  out.set(data, total);
  return out;
}
