// safetensors (src/io/safetensors.ts): a file written by the spec-following writer of
// scripts/make-io-fixtures.py, round trips through our writer, and every header check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileBytes, readSafetensors, writeFileAtomic, writeSafetensors } from '../src/io/index.js';
import { assertThrows, assertTensor, expectedValues, fixtureBytes } from './helpers/io.js';

const expected = expectedValues().safetensors;

/** A safetensors file from a header object and a data section, the header padded as the spec says. */
function build(header: unknown, data: Uint8Array, headerSize?: number): Uint8Array {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerSize ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('fixture: F32, F16, BF16, F64, I64, I32, a 0-d tensor and metadata', () => {
  const r = readSafetensors(fixtureBytes('tiny.safetensors'));
  assert.equal(r.metadata, expected.metadata);
  assert.equal(r.notes, []);
  assert.equal([...r.tensors.keys()], Object.keys(expected.tensors).sort());
  const source: Record<string, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64', I64: 'int64', I32: 'int32' };
  for (const [name, e] of Object.entries(expected.tensors)) {
    const t = r.tensors.get(name);
    assertTensor(t, e, e.dtype === 'I64' ? 'int64' : e.dtype === 'I32' ? 'int32' : 'float32', name);
    assert.is(t!.sourceDtype, source[e.dtype], `${name} source dtype`);
  }
});

test('round trip: float32, int64, int32, 0-d and empty tensors, metadata', () => {
  const tensors = new Map([
    ['z.weight', { shape: [2, 3], data: Float32Array.from([1.5, -2, 3.25, 1e-30, -0, Number.MAX_VALUE > 0 ? 3.4e38 : 0]) }],
    ['a.count', { shape: [], data: BigInt64Array.from([2n ** 62n + 5n]) }],
    ['m.labels', { shape: [3], data: Int32Array.from([7, -1, 2147483647]) }],
    ['e.empty', { shape: [0, 4], data: new Float32Array(0) }],
    ['b.odd', { shape: [1], data: Float32Array.from([0.1]) }],
  ] as const);
  const bytes = writeSafetensors(tensors, { format: 'pt', 'repvgg-wasm': 'test' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is(n % 8, 0, 'header padded to 8 bytes');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; data_offsets: number[] }>;
  assert.equal(Object.keys(header), ['__metadata__', 'a.count', 'b.odd', 'e.empty', 'm.labels', 'z.weight'], 'sorted names');
  assert.is(header['a.count'].dtype, 'I64');
  assert.is(header['a.count'].data_offsets[0] % 8, 0, 'int64 aligned');
  const r = readSafetensors(bytes);
  assert.equal(r.metadata, { format: 'pt', 'repvgg-wasm': 'test' });
  assert.equal(r.notes, []);
  for (const [name, t] of tensors) {
    const got = r.tensors.get(name)!;
    assert.equal(got.shape, [...t.shape], name);
    assert.equal(Array.from(got.data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>), name);
  }
  // A record works as input too, and no metadata means no __metadata__ entry.
  const plain = writeSafetensors({ x: { shape: [1], data: Float32Array.of(1) } });
  assert.not.ok(new TextDecoder().decode(plain).includes('__metadata__'));
});

test('writer input errors', () => {
  assertThrows(() => writeSafetensors({ x: { shape: [2, 2], data: new Float32Array(3) } }), /'x': shape \[2, 2\] holds 4 elements but data has 3/, 'size');
  assertThrows(() => writeSafetensors({ x: { shape: [1], data: new Float64Array(1) as unknown as Float32Array } }), /Float32Array, BigInt64Array or Int32Array/, 'type');
  assertThrows(() => writeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } }), /invalid tensor name/, 'name');
  assertThrows(() => writeSafetensors({}, { a: 1 as unknown as string }), /metadata 'a' is 1, not a string/, 'metadata');
});

test('header size larger than the file, truncated data, too short', () => {
  const ok = fixtureBytes('tiny.safetensors');
  const big = ok.slice();
  new DataView(big.buffer).setBigUint64(0, 1n << 40n, true);
  assertThrows(() => readSafetensors(big), /header size 1099511627776 is larger than the rest of the file/, 'huge header size');
  new DataView(big.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
  assertThrows(() => readSafetensors(big), /header size .* too large/, 'u64 max');
  assertThrows(() => readSafetensors(ok.subarray(0, ok.length - 1)), /out of bounds .*truncated/, 'data cut by one byte');
  assertThrows(() => readSafetensors(ok.subarray(0, 5)), /too short/, '5 bytes');
});

test('header content errors: JSON, dtype, shape, offsets, overlap, metadata', () => {
  const data = new Uint8Array(16);
  const t = (extra: object) => ({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, ...extra });
  assertThrows(() => readSafetensors(build('x', data)), /does not start with "\{"/, 'not an object');
  const bad = build(t({}), data);
  bad[9] = 0x7d; // {"a": -> {}a":
  assertThrows(() => readSafetensors(bad), /header is not valid JSON/, 'bad JSON');
  assertThrows(() => readSafetensors(build(t({ b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }), data)),
    /tensors 'a' \[0, 8\) and 'b' \[4, 12\) overlap/, 'overlap');
  assertThrows(() => readSafetensors(build(t({ b: { dtype: 'F32', shape: [3], data_offsets: [8, 20] } }), data)),
    /'b': data_offsets \[8, 20\] are out of bounds of the 16-byte data section/, 'out of bounds');
  assertThrows(() => readSafetensors(build(t({ b: { dtype: 'F32', shape: [3], data_offsets: [8, 16] } }), data)),
    /'b': data_offsets \[8, 16\] span 8 bytes, but shape \[3\] of F32 needs 12/, 'size mismatch');
  assertThrows(() => readSafetensors(build(t({ b: { dtype: 'F8_E4M3', shape: [8], data_offsets: [8, 16] } }), data)),
    /'b': dtype "F8_E4M3" is not supported/, 'dtype');
  assertThrows(() => readSafetensors(build(t({ b: { dtype: 'F32', shape: [-2], data_offsets: [8, 16] } }), data)),
    /'b': shape \[-2\] has an invalid dimension -2/, 'negative dim');
  assertThrows(() => readSafetensors(build(t({ b: { dtype: 'F32', shape: [2], data_offsets: [16, 8] } }), data)),
    /data_offsets \[16, 8\] are out of bounds/, 'reversed offsets');
  assertThrows(() => readSafetensors(build(t({ __metadata__: { k: 5 } }), data)), /__metadata__ value 'k' is 5/, 'metadata');
  assertThrows(() => readSafetensors(build(t({}), data, 3)), /does not start|not valid JSON/, 'header size inside the JSON');
  // Unused bytes are allowed but noted.
  assert.match(readSafetensors(build(t({}), data)).notes.join(), /8 bytes of the data section belong to no tensor/);
});

test('writeFileAtomic / readFileBytes (Node): write, overwrite, read back, no temporary left', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-io-'));
  try {
    const path = join(dir, 'w.safetensors');
    await writeFileAtomic(path, writeSafetensors({ a: { shape: [1], data: Float32Array.of(1) } }));
    const bytes = writeSafetensors({ b: { shape: [2], data: Float32Array.of(2, 3) } });
    await writeFileAtomic(path, bytes);
    assert.equal(await readFileBytes(path), bytes);
    assert.equal([...readSafetensors(await readFileBytes(path)).tensors.keys()], ['b']);
    assert.equal(readdirSync(dir), ['w.safetensors']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
