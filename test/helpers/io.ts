// Shared by test/io-*.test.ts: the fixtures of scripts/make-io-fixtures.py, comparisons against
// expected.json, a minimal ZIP writer (to build corrupt-but-consistent archives) and a seeded PRNG.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import type { FileTensor } from '../../src/io/index.js';
import { crc32 } from '../../src/io/inflate.js';

/** test/fixtures/io/ (this file runs from dist/test/helpers/). */
export const IO_FIXTURES = new URL('../../../test/fixtures/io/', import.meta.url);

export function fixtureBytes(name: string): Uint8Array {
  const url = new URL(name, IO_FIXTURES);
  if (!existsSync(url)) {
    throw new Error(`io fixture missing: ${fileURLToPath(url)}; regenerate with /usr/bin/python3 scripts/make-io-fixtures.py`);
  }
  const b = readFileSync(url);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  /** Floats as exact float32 values; int64 as decimal strings. */
  values: (number | string)[];
}

export interface Expected {
  generator: string;
  torch_sd: Record<string, ExpectedTensor>;
  torch_sd_order: string[];
  torch_module_names: string[];
  torch_sd_entries: string[];
  safetensors: { metadata: Record<string, string>; tensors: Record<string, ExpectedTensor> };
  npy: Record<string, { descr: string; shape: number[]; values: (number | string)[] }>;
}

let expected: Expected | null = null;
export function expectedValues(): Expected {
  expected ??= JSON.parse(new TextDecoder().decode(fixtureBytes('expected.json'))) as Expected;
  return expected;
}

/** Exact comparison of a tensor read by us with the fixture's expected dtype, shape and values. */
export function assertTensor(t: FileTensor | undefined, e: { shape: number[]; values: (number | string)[] },
  inMemory: 'float32' | 'int64' | 'int32', what: string): void {
  assert.ok(t, `${what}: missing`);
  assert.is(t!.dtype, inMemory, `${what}: dtype`);
  assert.equal(t!.shape, e.shape, `${what}: shape`);
  assert.is(t!.data.length, e.values.length, `${what}: element count`);
  for (let i = 0; i < e.values.length; i++) {
    const want = inMemory === 'int64' ? BigInt(e.values[i]) : Number(e.values[i]);
    if (t!.data[i] !== want) assert.unreachable(`${what}[${i}] = ${t!.data[i]}, expected ${want}`);
  }
}

/** Runs `f`, which must throw an Error whose message matches `re`. */
export function assertThrows(f: () => unknown, re: RegExp, what: string): Error {
  try {
    f();
  } catch (e) {
    assert.instance(e, Error, `${what}: threw a non-Error`);
    assert.match((e as Error).message, re, `${what}: message "${(e as Error).message}" does not match ${re}`);
    return e as Error;
  }
  assert.unreachable(`${what}: did not throw`);
  throw new Error('unreachable');
}

/** A minimal ZIP writer (stored entries, correct CRCs): builds archives with chosen contents. */
export function makeZip(entries: [string, Uint8Array][]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = enc.encode(name);
    const crc = crc32(data);
    const local = new Uint8Array(30 + n.length);
    const dv = new DataView(local.buffer);
    dv.setUint32(0, 0x04034b50, true);
    dv.setUint16(4, 20, true);
    dv.setUint32(14, crc, true);
    dv.setUint32(18, data.length, true);
    dv.setUint32(22, data.length, true);
    dv.setUint16(26, n.length, true);
    local.set(n, 30);
    const c = new Uint8Array(46 + n.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, offset, true);
    c.set(n, 46);
    parts.push(local, data);
    central.push(c);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, eocd];
  const out = new Uint8Array(all.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Mulberry32: a small seeded PRNG, so random tests are reproducible. */
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
