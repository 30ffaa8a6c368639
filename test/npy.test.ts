// .npy (src/io/npy.ts): files written by numpy (scripts/make-io-fixtures.py), round trips, errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readNpy, writeNpy } from '../src/io/index.js';
import { assertTensor, assertThrows, expectedValues, fixtureBytes } from './helpers/io.js';

const expected = expectedValues().npy;

test('numpy files: <f4, <f8 (as float32), <i8, <i4, 0-d', () => {
  const kinds = { f4: ['float32', 'float32'], f8: ['float32', 'float64'], i8: ['int64', 'int64'], i4: ['int32', 'int32'], scalar: ['float32', 'float32'] } as const;
  for (const [name, [mem, src]] of Object.entries(kinds)) {
    const t = readNpy(fixtureBytes(`${name}.npy`));
    assertTensor(t, expected[name], mem, `${name}.npy`);
    assert.is(t.sourceDtype, src, `${name}.npy source dtype`);
  }
});

test('format versions 2.0 and 3.0', () => {
  for (const v of ['v2', 'v3']) {
    const bytes = fixtureBytes(`f4_${v}.npy`);
    assert.is(bytes[6], Number(v[1]), `${v}: the fixture has that version`);
    assertTensor(readNpy(bytes), expected.f4, 'float32', `f4_${v}.npy`);
  }
});

test('fortran order and big-endian are refused by name', () => {
  assertThrows(() => readNpy(fixtureBytes('fortran.npy')), /fortran_order True .*not supported.*ascontiguousarray/, 'fortran');
  assertThrows(() => readNpy(fixtureBytes('bigendian.npy')), /big-endian dtype '>f4' is not supported/, 'big-endian');
});

test('round trips: float32, int64, int32; 0-d, 1-d, 3-d; header as numpy writes it', () => {
  const cases = [
    { shape: [2, 3, 1], data: Float32Array.from([1, -2.5, 3e-8, 4, 5, -0]) },
    { shape: [], data: Float32Array.from([7.25]) },
    { shape: [3], data: BigInt64Array.from([-(2n ** 63n), 0n, 2n ** 63n - 1n]) },
    { shape: [2, 2], data: Int32Array.from([1, -2, 3, -4]) },
    { shape: [0], data: new Float32Array(0) },
  ];
  for (const c of cases) {
    const bytes = writeNpy(c);
    const headerLen = new DataView(bytes.buffer).getUint16(8, true);
    assert.is((10 + headerLen) % 64, 0, 'data 64-byte aligned');
    assert.is(bytes[10 + headerLen - 1], 0x0a, 'header ends with a newline');
    const t = readNpy(bytes);
    assert.equal(t.shape, c.shape);
    assert.equal(Array.from(t.data as ArrayLike<unknown>), Array.from(c.data as ArrayLike<unknown>));
  }
  const five = writeNpy({ shape: [5], data: new Int32Array(5) });
  const header = new TextDecoder().decode(five.subarray(10, 10 + new DataView(five.buffer).getUint16(8, true))).trim();
  assert.is(header, "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }");
});

test('wrong magic, truncated data, bad headers, unsupported dtypes', () => {
  assertThrows(() => readNpy(new TextEncoder().encode('NUMPY not really')), /wrong magic/, 'magic');
  const f4 = fixtureBytes('f4.npy');
  assertThrows(() => readNpy(f4.subarray(0, f4.length - 1)), /needs 96 bytes of data, the file has 95: truncated/, 'truncated data');
  assertThrows(() => readNpy(f4.subarray(0, 50)), /header length 118 is larger than the rest of the file/, 'truncated header');
  assertThrows(() => readNpy(f4.subarray(0, 8)), /truncated/, 'truncated prelude');
  const withHeader = (h: string) => {
    const pad = h + ' '.repeat(Math.ceil((10 + h.length + 1) / 64) * 64 - 10 - h.length - 1) + '\n';
    return Uint8Array.from([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, pad.length, 0, ...new TextEncoder().encode(pad), 0, 0, 0, 0]);
  };
  assertThrows(() => readNpy(withHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }")), /dtype '<c8' is not supported/, 'complex');
  assertThrows(() => readNpy(withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")), /structured/, 'structured');
  assertThrows(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }")), /invalid dimension -1/, 'negative');
  assertThrows(() => readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ")), /cannot parse the header/, 'unclosed');
  assertThrows(() => readNpy(withHeader("__import__('os')")), /cannot parse the header/, 'code');
  assert.equal(Array.from(readNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }")).data as Float32Array), [0]);
});

test('a Node Buffer from the shared pool (a view, not a copy) reads as its own bytes', () => {
  const bytes = writeNpy({ dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) });
  // Buffer.from(...) of a small array lands in Node's 8 KiB pool, at a non-zero offset.
  const pooled = Buffer.from(bytes);
  const t = readNpy(pooled);
  assert.equal(t.shape, [3]);
  assert.equal(Array.from(t.data as Float32Array), [1, 2, 3]);
});

test.run();
