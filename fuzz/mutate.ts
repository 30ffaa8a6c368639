// Seeded mutations of a seed file. Each case applies one to three of them, so a case is
// reproducible from (seed, case index) alone.
//
// Besides blind byte edits (flips, truncations, boundary integers, deleted and repeated ranges),
// four know the formats well enough to get past the first checks: text tokens swapped in .npy
// and safetensors headers, pickle opcode snippets inserted into pickles (floods, deep nesting,
// huge calls, memo games), edits inside a ZIP entry followed by re-zipping with correct CRCs,
// so that a change to data.pkl reaches the unpickler instead of failing the checksum, and edits
// of a PNG's chunks or inflated pixels with the CRCs fixed and the pixels deflated again.
import { deflateSync, inflateSync } from 'node:zlib';
import { ZipArchive } from '../src/io/zip.js';
import { pngChunk } from '../src/image/png-write.js';
import { concat, makeZipArchive, type ZipEntrySpec } from './craft.js';

/** Mulberry32: a small seeded PRNG. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)];

/** Values at the edges of integer and float ranges, where size checks go wrong. */
const BOUNDARY_INTS = [
  0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xffffffff, 2 ** 24, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 53 - 1, 2 ** 53 + 1, -1, -2,
];

/** Header tokens that break lazy parsers: prototype names, huge and fractional numbers, quotes. */
const TOKENS = [
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '', ' ',
  '-1', '0', '1.5', '2.5', 'NaN', 'nan', 'Infinity', '1e308', '-0', '4294967296', '9007199254740993',
  '18446744073709551616', 'True', 'False', 'None', 'null', '"', "'", '{', '}', '[', ']', '(', ')', ',', ':',
  '\\u0000', '\\ud800', 'x'.repeat(300), '1,'.repeat(100), '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  '<f4', '<f8', '<i8', '|b1', '>f4', '<c8', 'F32', 'F16', 'BF16', 'I64', 'BOOL', 'F8_E4M3',
  'descr', 'fortran_order', 'shape', 'dtype', 'data_offsets', '__metadata__',
];

/** Pickle snippets: each is valid opcode bytes that does something a parser must survive. */
const PICKLE_SNIPPETS: readonly (() => Uint8Array)[] = [
  () => Uint8Array.of(0x28), // MARK
  () => Uint8Array.of(0x4e), // NONE
  () => Uint8Array.of(0x30), // POP
  () => Uint8Array.of(0x31), // POP_MARK
  () => Uint8Array.of(0x32), // DUP
  () => Uint8Array.of(0x29), // EMPTY_TUPLE
  () => Uint8Array.of(0x5d), // EMPTY_LIST
  () => Uint8Array.of(0x7d), // EMPTY_DICT
  () => Uint8Array.of(0x8f), // EMPTY_SET
  () => Uint8Array.of(0x74), // TUPLE
  () => Uint8Array.of(0x52), // REDUCE
  () => Uint8Array.of(0x81), // NEWOBJ
  () => Uint8Array.of(0x62), // BUILD
  () => Uint8Array.of(0x65), // APPENDS
  () => Uint8Array.of(0x75), // SETITEMS
  () => Uint8Array.of(0x51), // BINPERSID
  () => Uint8Array.of(0x93), // STACK_GLOBAL
  () => Uint8Array.of(0x2e), // STOP
  () => Uint8Array.of(0x71, 0), // BINPUT 0
  () => Uint8Array.of(0x68, 0), // BINGET 0
  () => Uint8Array.of(0x94), // MEMOIZE
  () => Uint8Array.of(0x4b, 0xff), // BININT1 255
  () => Uint8Array.of(0x4a, 0xff, 0xff, 0xff, 0xff), // BININT -1
  () => Uint8Array.of(0x47, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0), // BINFLOAT NaN
  () => Uint8Array.of(0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), // BINFLOAT 1.5
  () => Uint8Array.of(0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80), // LONG1 -2^63
  () => Uint8Array.of(0x58, 0xff, 0xff, 0xff, 0x7f), // BINUNICODE with a huge length
  () => new TextEncoder().encode('ctorch\nconstructor\n'),
  () => new TextEncoder().encode('c__builtin__\n__proto__\n'),
  () => new TextEncoder().encode('ccollections\nOrderedDict\n'),
  () => new TextEncoder().encode('ctorch._utils\n_rebuild_tensor_v2\n'),
  () => new TextEncoder().encode('p99\n'), // PUT
  () => new TextEncoder().encode('gnan\n'), // GET with a bad key
  () => Uint8Array.of(...new Array(64).fill(0x28)), // 64 MARKs
  () => Uint8Array.of(...new Array(64).fill(0x32)), // 64 DUPs
  () => Uint8Array.of(0x28, ...new Array(200).fill(0x4e), 0x74), // a 200-tuple
];

function flip(b: Uint8Array, r: Rand): Uint8Array {
  const out = b.slice();
  for (let k = 1 + int(r, 8); k > 0 && out.length; k--) out[int(r, out.length)] = int(r, 256);
  return out;
}

function bitFlip(b: Uint8Array, r: Rand): Uint8Array {
  const out = b.slice();
  if (out.length) out[int(r, out.length)] ^= 1 << int(r, 8);
  return out;
}

function truncate(b: Uint8Array, r: Rand): Uint8Array {
  return b.slice(0, int(r, b.length));
}

function boundary(b: Uint8Array, r: Rand): Uint8Array {
  const out = b.slice();
  const width = pick(r, [1, 2, 4, 8]);
  if (out.length < width) return out;
  const at = int(r, out.length - width + 1);
  const dv = new DataView(out.buffer);
  const v = pick(r, BOUNDARY_INTS);
  const le = r() < 0.7;
  if (width === 1) out[at] = v & 0xff;
  else if (width === 2) dv.setUint16(at, v & 0xffff, le);
  else if (width === 4) dv.setUint32(at, v >>> 0, le);
  else dv.setBigInt64(at, BigInt(v), le);
  return out;
}

function remove(b: Uint8Array, r: Rand): Uint8Array {
  if (b.length < 2) return b.slice();
  const at = int(r, b.length);
  const n = 1 + int(r, Math.min(64, b.length - at));
  const out = new Uint8Array(b.length - n);
  out.set(b.subarray(0, at));
  out.set(b.subarray(at + n), at);
  return out;
}

function insertAt(b: Uint8Array, at: number, ins: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + ins.length);
  out.set(b.subarray(0, at));
  out.set(ins, at);
  out.set(b.subarray(at), at + ins.length);
  return out;
}

/** Repeats a short range of the file up to 4,096 times in place: floods of whatever is there. */
function repeat(b: Uint8Array, r: Rand): Uint8Array {
  if (b.length === 0) return b.slice();
  const at = int(r, b.length);
  const n = 1 + int(r, Math.min(16, b.length - at));
  const times = 1 + int(r, pick(r, [4, 64, 4096]));
  const chunk = b.subarray(at, at + n);
  const ins = new Uint8Array(n * times);
  for (let i = 0; i < times; i++) ins.set(chunk, i * n);
  return insertAt(b, at, ins);
}

/** Replaces a quoted string or a number in the (Latin-1 view of the) file by a token. */
function token(b: Uint8Array, r: Rand): Uint8Array {
  const text = Array.from(b.subarray(0, 1 << 16), (c) => String.fromCharCode(c)).join('');
  const spots: [number, number][] = [];
  const re = /'[^'\n]{0,40}'|"[^"\n]{0,40}"|-?\d+(\.\d+)?/g;
  for (let m = re.exec(text); m && spots.length < 400; m = re.exec(text)) spots.push([m.index, m[0].length]);
  if (spots.length === 0) return flip(b, r);
  const [at, len] = pick(r, spots);
  let t = pick(r, TOKENS);
  const quoteChar = text[at] === '"' || text[at] === "'" ? text[at] : '';
  if (quoteChar && r() < 0.7) t = quoteChar + t + quoteChar;
  const ins = Uint8Array.from(t, (c) => c.charCodeAt(0) & 0xff);
  const out = new Uint8Array(b.length - len + ins.length);
  out.set(b.subarray(0, at));
  out.set(ins, at);
  out.set(b.subarray(at + len), at + ins.length);
  // Keep a header length field in step (npy: u16 at 8; safetensors: u64 at 0), half the time.
  if (r() < 0.5) fixHeaderLength(out, ins.length - len);
  return out;
}

function fixHeaderLength(b: Uint8Array, delta: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length >= 10 && b[0] === 0x93 && b[1] === 0x4e && b[6] === 1) dv.setUint16(8, (dv.getUint16(8, true) + delta) & 0xffff, true);
  else if (b.length >= 9 && b[8] === 0x7b) dv.setBigUint64(0, dv.getBigUint64(0, true) + BigInt(delta), true);
}

/** Inserts pickle opcode snippets (once or repeated) at a random point. */
function pickleSnippet(b: Uint8Array, r: Rand): Uint8Array {
  const s = pick(r, PICKLE_SNIPPETS)();
  const times = r() < 0.7 ? 1 : 1 + int(r, 2000);
  const ins = new Uint8Array(s.length * times);
  for (let i = 0; i < times; i++) ins.set(s, i * s.length);
  return insertAt(b, int(r, b.length + 1), ins);
}

export type Mutator = (b: Uint8Array, r: Rand) => Uint8Array;

const BLIND: readonly Mutator[] = [flip, flip, bitFlip, truncate, boundary, boundary, remove, repeat];
const TEXT: readonly Mutator[] = [...BLIND, token, token, token];
const PICKLE: readonly Mutator[] = [...BLIND, pickleSnippet, pickleSnippet, pickleSnippet, boundary];

export type SeedKind = 'binary' | 'text-header' | 'pickle' | 'zip' | 'png';

/** One to three mutations from the kind's set. */
function mutateFlat(b: Uint8Array, kind: Exclude<SeedKind, 'zip' | 'png'>, r: Rand): { bytes: Uint8Array; how: string[] } {
  const set = kind === 'text-header' ? TEXT : kind === 'pickle' ? PICKLE : BLIND;
  let out = b;
  const how: string[] = [];
  // Mostly one edit (the file stays close to valid and reaches deep), sometimes two or three.
  const u = r();
  for (let k = u < 0.6 ? 1 : u < 0.85 ? 2 : 3; k > 0; k--) {
    const m = pick(r, set);
    out = m(out, r);
    how.push(m.name);
  }
  return { bytes: out, how };
}

const zipCache = new WeakMap<Uint8Array, ZipEntrySpec[] | null>();

function zipEntries(seed: Uint8Array): ZipEntrySpec[] | null {
  if (!zipCache.has(seed)) {
    try {
      const z = new ZipArchive(seed, 'seed');
      zipCache.set(seed, [...z.entries.values()].map((e) => ({ name: e.name, data: z.read(e.name).slice(), deflate: e.method === 8 })));
    } catch {
      zipCache.set(seed, null);
    }
  }
  return zipCache.get(seed)!;
}

/**
 * A mutated copy of `seed`. For a ZIP seed: half the time blind edits of the archive, half the
 * time edits of one entry (data.pkl most often) and a re-zip with correct sizes and CRCs.
 */
export function mutate(seed: Uint8Array, kind: SeedKind, r: Rand): { bytes: Uint8Array; how: string } {
  if (kind === 'png') return mutatePng(seed, r);
  if (kind !== 'zip') {
    const m = mutateFlat(seed, kind, r);
    return { bytes: m.bytes, how: m.how.join('+') };
  }
  const entries = zipEntries(seed);
  if (!entries || r() < 0.4) {
    const m = mutateFlat(seed, 'binary', r);
    return { bytes: m.bytes, how: `archive:${m.how.join('+')}` };
  }
  const pkl = entries.findIndex((e) => e.name.endsWith('data.pkl'));
  const i = pkl >= 0 && r() < 0.6 ? pkl : int(r, entries.length);
  const target = entries[i];
  const m = mutateFlat(target.data, target.name.endsWith('.pkl') ? 'pickle' : 'binary', r);
  const rebuilt = entries.map((e, j) => (j === i ? { ...e, data: m.bytes } : e));
  // Sometimes deflate the edited entry (bombs from repeated opcodes compress well).
  if (r() < 0.2) rebuilt[i] = { ...rebuilt[i], deflate: true };
  return { bytes: makeZipArchive(rebuilt), how: `entry ${target.name}:${m.how.join('+')}` };
}

/** The chunks of a PNG (type and data), or null if the seed is not one. */
function pngChunks(b: Uint8Array): { type: string; data: Uint8Array }[] | null {
  const out: { type: string; data: Uint8Array }[] = [];
  let p = 8;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  while (p + 12 <= b.length) {
    const len = dv.getUint32(p);
    if (p + 12 + len > b.length) return null;
    out.push({ type: String.fromCharCode(...b.subarray(p + 4, p + 8)), data: b.slice(p + 8, p + 8 + len) });
    p += 12 + len;
  }
  return out;
}

/** A PNG from chunks, with correct CRCs. */
function pngFrom(chunks: { type: string; data: Uint8Array }[]): Uint8Array {
  return concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), ...chunks.map((c) => pngChunk(c.type, c.data))]);
}

/**
 * A mutated PNG: a third of the time blind edits (most fail the CRC check); a third edits of one
 * chunk's data with the CRCs fixed (corrupt headers and zlib streams reach the decoder); a third
 * edits of the inflated image data, deflated again (filter bytes and samples reach the unfilter).
 */
function mutatePng(seed: Uint8Array, r: Rand): { bytes: Uint8Array; how: string } {
  const chunks = pngChunks(seed);
  const u = r();
  if (!chunks || u < 0.33) {
    const m = mutateFlat(seed, 'binary', r);
    return { bytes: m.bytes, how: m.how.join('+') };
  }
  if (u < 0.66) {
    const i = int(r, chunks.length);
    const m = mutateFlat(chunks[i].data, 'binary', r);
    const edited = chunks.map((c, j) => (j === i ? { ...c, data: m.bytes } : c));
    return { bytes: pngFrom(edited), how: `chunk ${chunks[i].type}:${m.how.join('+')}` };
  }
  const idat = chunks.filter((c) => c.type === 'IDAT');
  const z = new Uint8Array(idat.reduce((s, c) => s + c.data.length, 0));
  let o = 0;
  for (const c of idat) {
    z.set(c.data, o);
    o += c.data.length;
  }
  const raw = new Uint8Array(inflateSync(z));
  const m = mutateFlat(raw, 'binary', r);
  const first = chunks.findIndex((c) => c.type === 'IDAT');
  const rebuilt = [...chunks.slice(0, first).filter((c) => c.type !== 'IDAT'), { type: 'IDAT', data: new Uint8Array(deflateSync(m.bytes)) },
    ...chunks.slice(first).filter((c) => c.type !== 'IDAT')];
  return { bytes: pngFrom(rebuilt), how: `pixels:${m.how.join('+')}` };
}
