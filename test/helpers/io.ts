// Shared by test/io-*.test.ts: the fixtures of scripts/make-io-fixtures.py, comparisons against
// expected.json, a minimal ZIP writer (to build corrupt-but-consistent archives) and a seeded PRNG.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import type { FileTensor } from '../../src/io/index.js';
import { makeZipArchive } from '../../fuzz/craft.js';

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

/** A ZIP archive of stored entries with correct CRCs (the fuzz harness's writer): archives with
 *  chosen contents. */
export function makeZip(entries: [string, Uint8Array][]): Uint8Array {
  return makeZipArchive(entries.map(([name, data]) => ({ name, data })));
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
