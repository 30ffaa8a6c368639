// safetensors (https://github.com/huggingface/safetensors), read and write.
//
// Layout: an 8-byte little-endian header size N, N bytes of UTF-8 JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// (padded with spaces to a multiple of 8), then the data section; offsets are relative to it.
// Everything the header claims is checked against the file before any allocation. The header
// comes from JSON.parse, so names such as "__proto__" are own properties; lookups by a name from
// the file go through Maps, and objects built from file names are built with Object.fromEntries.
import { ByteReader, ELEMENT_SIZE, decodeElements, decodeUtf8, encodeLE, makeTensor } from './bytes.js';
import { DEFAULT_LIMITS, checkLimitOptions, checkTensorBytes, exceeded, type ReadLimits } from './limits.js';
import { checkShape, entriesOf, inputDtype, type FileTensor, type SourceDType, type TensorFile, type TensorsInput } from './types.js';
import { describeFileValue as describe, quote } from '../format.js';

/** safetensors dtype names and the source types they read as. */
const DTYPES: ReadonlyMap<string, SourceDType> = new Map([
  ['F32', 'float32'], ['F16', 'float16'], ['BF16', 'bfloat16'], ['F64', 'float64'],
  ['I64', 'int64'], ['I32', 'int32'], ['I16', 'int16'], ['I8', 'int8'], ['U8', 'uint8'], ['BOOL', 'bool'],
]);

export interface SafetensorsFile extends TensorFile {
  /** The header's __metadata__ (string to string), {} when absent. */
  metadata: Record<string, string>;
}

interface HeaderEntry { name: string; type: SourceDType; shape: number[]; begin: number; end: number }

/** An own property of a parsed JSON object (never one inherited from Object.prototype). */
function own(o: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

function parseEntry(name: string, v: unknown, dataLength: number): HeaderEntry {
  const where = `safetensors: tensor '${name.length > 80 ? `${name.slice(0, 80)}...` : name}'`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: header entry is ${describe(v)}, not an object`);
  for (const key of ['dtype', 'shape', 'data_offsets']) {
    if (own(v, key) === undefined) throw new Error(`${where}: the header entry has no '${key}'`);
  }
  const dtype = own(v, 'dtype');
  const shape = own(v, 'shape');
  const offsets = own(v, 'data_offsets');
  const type = typeof dtype === 'string' ? DTYPES.get(dtype) : undefined;
  if (type === undefined) {
    throw new Error(`${where}: dtype ${describe(dtype)} is not supported (supported: ${[...DTYPES.keys()].join(', ')})`);
  }
  const numel = checkShape(shape, where);
  if (!Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    const shown = Array.isArray(offsets) ? `[${offsets.slice(0, 4).map(describe).join(', ')}${offsets.length > 4 ? ', ...' : ''}]`
      : describe(offsets);
    throw new Error(`${where}: data_offsets ${shown} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as number[];
  if (begin > end || end > dataLength) {
    throw new Error(`${where}: data_offsets [${begin}, ${end}] are out of bounds of the ${dataLength}-byte data section` +
      (end > dataLength ? ' (truncated file?)' : ''));
  }
  if (end - begin !== numel * ELEMENT_SIZE[type]) {
    throw new Error(`${where}: data_offsets [${begin}, ${end}] span ${end - begin} bytes, but shape ` +
      `[${(shape as number[]).join(', ')}] of ${dtype} needs ${numel * ELEMENT_SIZE[type]}`);
  }
  return { name, type, shape: [...(shape as number[])], begin, end };
}

/**
 * Reads a .safetensors file. Floating types come back as float32, I64 exact, small ints as int32.
 * `limits`: maxHeaderBytes (default 100,000,000, the reference's) and maxTensorBytes.
 */
export function readSafetensors(bytes: Uint8Array, limits: ReadLimits = {}): SafetensorsFile {
  checkLimitOptions(limits);
  const r = new ByteReader(bytes, 'safetensors');
  if (bytes.length < 8) throw new Error(`safetensors: file of ${bytes.length} bytes is too short for the 8-byte header size`);
  const n = r.u64('the header size');
  if (n > bytes.length - 8) {
    throw new Error(`safetensors: header size ${n} is larger than the rest of the file (${bytes.length - 8} bytes): ` +
      'truncated or not a safetensors file');
  }
  const maxHeader = limits.maxHeaderBytes ?? DEFAULT_LIMITS.safetensorsHeaderBytes;
  if (n > maxHeader) exceeded('maxHeaderBytes', 'safetensors', `the header is ${n} bytes`, maxHeader, n);
  const text = decodeUtf8(r.take(n, 'the header'), 'safetensors: header');
  if (!text.startsWith('{')) throw new Error('safetensors: header does not start with "{": not a safetensors file');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    // JSON.parse's message quotes the file; quoted (and cut short) it reads as the file's text.
    throw new Error(`safetensors: header is not valid JSON: ${quote((e as Error).message, 200)}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error('safetensors: header is not a JSON object');
  }
  const data = bytes.subarray(8 + n);
  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('safetensors: __metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new Error(`safetensors: __metadata__ value '${k.length > 80 ? `${k.slice(0, 80)}...` : k}' is ${describe(s)}, not a string`);
      }
      metadata = Object.fromEntries(Object.entries(v as Record<string, string>));
    } else {
      entries.push(parseEntry(name, v, data.length));
    }
  }
  // No two tensors may share bytes (empty tensors occupy none).
  const byOffset = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  let used = 0;
  for (let i = 1; i < byOffset.length; i++) {
    const [a, b] = [byOffset[i - 1], byOffset[i]];
    if (b.begin < a.end) {
      throw new Error(`safetensors: tensors '${a.name}' [${a.begin}, ${a.end}) and '${b.name}' [${b.begin}, ${b.end}) overlap`);
    }
  }
  for (const e of byOffset) used += e.end - e.begin;
  const notes: string[] = [];
  if (used !== data.length) notes.push(`${data.length - used} bytes of the data section belong to no tensor`);
  let total = 0;
  for (const e of entries) total += (e.end - e.begin) / ELEMENT_SIZE[e.type] * (e.type === 'int64' ? 8 : 4);
  checkTensorBytes(total, 'safetensors', limits);
  const tensors = new Map<string, FileTensor>();
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const numel = (e.end - e.begin) / ELEMENT_SIZE[e.type];
    tensors.set(e.name, makeTensor(e.type, e.shape, decodeElements(data, e.begin, numel, e.type)));
  }
  return { tensors, metadata, notes };
}

const WRITE_DTYPES = { float32: 'F32', int64: 'I64', int32: 'I32' } as const;

/**
 * Writes tensors (float32, int64 or int32) as a .safetensors file. The header lists names in
 * sorted order; the data is laid out by decreasing element size, then name, so every tensor is
 * aligned to its element size (as the reference implementation does).
 */
export function writeSafetensors(tensors: TensorsInput, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const items = entriesOf(tensors).map(([name, t]) => {
    if (typeof name !== 'string' || name === '' || name === '__metadata__') {
      throw new Error(`writeSafetensors: invalid tensor name ${describe(name)}`);
    }
    const dtype = inputDtype(t, `writeSafetensors: tensor '${name}'`);
    return { name, t, dtype, size: t.data.BYTES_PER_ELEMENT };
  });
  const order = [...items].sort((a, b) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const offsets = new Map<string, [number, number]>();
  let offset = 0;
  for (const it of order) {
    offsets.set(it.name, [offset, offset + it.t.data.byteLength]);
    offset += it.t.data.byteLength;
  }
  // Built from entries: assigning header['__proto__'] would set the prototype, not a tensor.
  const fields: [string, unknown][] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`writeSafetensors: metadata '${k}' is ${describe(v)}, not a string`);
    }
    fields.push(['__metadata__', Object.fromEntries(Object.entries(metadata))]);
  }
  for (const it of [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    fields.push([it.name, { dtype: WRITE_DTYPES[it.dtype], shape: [...it.t.shape], data_offsets: offsets.get(it.name) }]);
  }
  const header = Object.fromEntries(fields);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  for (const it of order) out.set(encodeLE(it.t.data), 8 + padded + offsets.get(it.name)![0]);
  return out;
}

/** True if `bytes` plausibly is a safetensors file (a header size that fits, then "{"). */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 10) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return n >= 2n && n <= BigInt(bytes.length - 8) && bytes[8] === 0x7b;
}
