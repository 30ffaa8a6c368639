// safetensors (https://github.com/huggingface/safetensors), read and write.
//
// Layout: an 8-byte little-endian header size N, N bytes of UTF-8 JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// (padded with spaces to a multiple of 8), then the data section; offsets are relative to it.
// Everything the header claims is checked against the file before any allocation.
import { ByteReader, ELEMENT_SIZE, decodeElements, decodeUtf8, encodeLE, makeTensor } from './bytes.js';
import {
  checkShape, describe, entriesOf, inputDtype, type NamedTensor, type SourceDType, type TensorFile, type TensorsInput,
} from './types.js';

/** The reference implementation refuses headers over 100 MB; so do we (a bogus size is caught
 * by the file-length check anyway, this bounds the JSON parse). */
const MAX_HEADER = 100_000_000;

/** safetensors dtype names and the source types they read as. */
const DTYPES: Record<string, SourceDType> = {
  F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

export interface SafetensorsFile extends TensorFile {
  /** The header's __metadata__ (string to string), {} when absent. */
  metadata: Record<string, string>;
}

interface HeaderEntry { name: string; type: SourceDType; shape: number[]; begin: number; end: number }

function parseEntry(name: string, v: unknown, dataLength: number): HeaderEntry {
  const where = `safetensors: tensor '${name}'`;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: header entry is ${describe(v)}, not an object`);
  const { dtype, shape, data_offsets: offsets } = v as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPES)) {
    throw new Error(`${where}: dtype ${describe(dtype)} is not supported (supported: ${Object.keys(DTYPES).join(', ')})`);
  }
  const type = DTYPES[dtype];
  const numel = checkShape(shape, where);
  if (!Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
    throw new Error(`${where}: data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
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

/** Reads a .safetensors file. Floating types come back as float32, I64 exact, small ints as int32. */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  const r = new ByteReader(bytes, 'safetensors');
  if (bytes.length < 8) throw new Error(`safetensors: file of ${bytes.length} bytes is too short for the 8-byte header size`);
  const n = r.u64('the header size');
  if (n > bytes.length - 8) {
    throw new Error(`safetensors: header size ${n} is larger than the rest of the file (${bytes.length - 8} bytes): ` +
      'truncated or not a safetensors file');
  }
  if (n > MAX_HEADER) throw new Error(`safetensors: header size ${n} exceeds the ${MAX_HEADER}-byte limit`);
  const text = decodeUtf8(r.take(n, 'the header'), 'safetensors: header');
  if (!text.startsWith('{')) throw new Error('safetensors: header does not start with "{": not a safetensors file');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`safetensors: header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new Error('safetensors: header is not a JSON object');
  }
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('safetensors: __metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new Error(`safetensors: __metadata__ value '${k}' is ${describe(s)}, not a string`);
        metadata[k] = s;
      }
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
  const tensors = new Map<string, NamedTensor>();
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
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`writeSafetensors: metadata '${k}' is ${describe(v)}, not a string`);
    }
    header.__metadata__ = metadata;
  }
  for (const it of [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    header[it.name] = { dtype: WRITE_DTYPES[it.dtype], shape: [...it.t.shape], data_offsets: offsets.get(it.name) };
  }
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
