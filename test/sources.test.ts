// The data sources (src/data/sources.ts, with the file formats of src/data/formats.ts): CIFAR-10
// binaries, the `mnist` package, MNIST IDX files and .npy arrays, on files this test writes, read
// through loadSource; their normalization as the loader applies it; and the source strings.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BatchLoader, CIFAR10_MEAN, CIFAR10_STD, MNIST_MEAN, MNIST_STD, classCounts, loadSource, mnistFromPackageDigits,
  parseSourceSpec, subset, type ImageDataset,
} from '../src/data/index.js';
import { writeNpy } from '../src/io/index.js';
import { sameBytes } from './helpers/data.js';
import { rejectsWith, throwsWith } from './helpers/throws.js';
import { TOL_PIXEL, TOL_STATS_F64 } from './helpers/tolerances.js';

const tmp = mkdtempSync(join(tmpdir(), 'repvgg-data-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function dir(name: string): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  return d;
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10

/** Pixel byte j (0..3071) of record i of batch b: a pattern that tells records and planes apart. */
const cifarPixel = (b: number, i: number, j: number): number => (b * 31 + i * 7 + j * 3 + (j >> 10) * 11) & 255;
const cifarLabel = (b: number, i: number): number => (b * 3 + i * 7) % 10;

function cifarBatch(b: number, records: number): Uint8Array {
  const out = new Uint8Array(records * 3073);
  for (let i = 0; i < records; i++) {
    out[i * 3073] = cifarLabel(b, i);
    for (let j = 0; j < 3072; j++) out[i * 3073 + 1 + j] = cifarPixel(b, i, j);
  }
  return out;
}

test('cifar10: official binary layout -> exact labels, pixels (R, G, B planes) and normalization', async () => {
  const d = dir('cifar');
  writeFileSync(join(d, 'data_batch_1.bin'), cifarBatch(1, 10));
  writeFileSync(join(d, 'data_batch_2.bin'), cifarBatch(2, 10));
  writeFileSync(join(d, 'test_batch.bin'), cifarBatch(0, 6));
  const s = await loadSource(`cifar10:${d}`);
  const { train, test: te } = s;
  assert.equal([train.n, train.c, train.h, train.w, train.classes], [20, 3, 32, 32, 10]);
  assert.equal([te.n, te.c, te.h, te.w], [6, 3, 32, 32]);
  assert.ok(train.pixels instanceof Uint8Array);
  assert.equal(train.mean, CIFAR10_MEAN);
  assert.equal(train.std, CIFAR10_STD);
  assert.equal(train.augment, { cropPadding: 4, flip: true });
  assert.equal(te.mean, CIFAR10_MEAN);
  assert.is(train.classNames?.[0], 'airplane');
  for (const [ds, batches] of [[train, [1, 2]], [te, [0]]] as const) {
    let n = 0;
    for (const b of batches) {
      for (let i = 0; i < 10 && n < ds.n; i++, n++) {
        assert.is(ds.labels[n], cifarLabel(b, i), `${ds.name} label ${n}`);
        for (let j = 0; j < 3072; j++) {
          if (ds.pixels[n * 3072 + j] !== cifarPixel(b, i, j)) assert.unreachable(`${ds.name} image ${n} pixel ${j}`);
        }
      }
    }
  }
  assert.match(s.description, /20 train \/ 6 test/);
  assert.match(s.description, /only 2 of the 5 training batches/);
  assert.match(s.description, /augmentation: random crop, padding 4 \+ horizontal flip/);
  // The banner follows --no-augment (issue 12, item 7): it used to name the crop and flip anyway.
  const off = await loadSource(`cifar10:${d}`, { augment: false });
  assert.match(off.description, /augmentation: none \(turned off\)/);
  assert.not.match(off.description, /random crop/);

  // Normalization: (x/255 - mean[c]) / std[c], channel = plane.
  const loader = new BatchLoader(te, { batchSize: 4, shuffle: false, augment: false });
  const batches = [...loader.batches(0)];
  assert.equal(batches.map((b) => b.size), [4, 2]);
  const x = batches[1].x; // images 4 and 5
  for (const [k, j] of [[0, 0], [0, 1023], [1, 1024], [1, 2047], [2, 2048], [2, 3071], [1, 1500]]) {
    const raw = cifarPixel(0, 5, j);
    const want = (raw / 255 - CIFAR10_MEAN[k]) / CIFAR10_STD[k];
    assert.ok(Math.abs(x[3072 + j] - want) < TOL_PIXEL, `pixel ${j}: ${x[3072 + j]} vs ${want}`);
  }
  assert.equal([...batches[1].labels], [cifarLabel(0, 4), cifarLabel(0, 5)]);

  // The directory the official tarball extracts to is found inside the given one.
  const outer = dir('cifar-outer');
  const inner = dir('cifar-outer/cifar-10-batches-bin');
  writeFileSync(join(inner, 'data_batch_1.bin'), cifarBatch(1, 2));
  writeFileSync(join(inner, 'test_batch.bin'), cifarBatch(0, 1));
  const s2 = await loadSource(`cifar10:${outer}`, { limit: 1 });
  assert.is(s2.train.n, 1);
  assert.is(s2.test.n, 1);
});

test('cifar10: a truncated file, a bad label and missing files are errors naming the file', async () => {
  const d = dir('cifar-bad');
  writeFileSync(join(d, 'data_batch_1.bin'), cifarBatch(1, 3));
  writeFileSync(join(d, 'data_batch_2.bin'), cifarBatch(2, 2).subarray(0, 3073 * 2 - 100));
  writeFileSync(join(d, 'test_batch.bin'), cifarBatch(0, 1));
  await rejectsWith(loadSource(`cifar10:${d}`), /data_batch_2\.bin has 6046 bytes, not a positive multiple of the 3073-byte record/,
    'truncated batch');
  writeFileSync(join(d, 'data_batch_2.bin'), cifarBatch(2, 2));
  const bad = cifarBatch(0, 2);
  bad[3073] = 10;
  writeFileSync(join(d, 'test_batch.bin'), bad);
  await rejectsWith(loadSource(`cifar10:${d}`), /test_batch\.bin: record 1 has label 10/, 'label 10');
  rmSync(join(d, 'test_batch.bin'));
  await rejectsWith(loadSource(`cifar10:${d}`), /has no test_batch\.bin/, 'no test batch');
  await rejectsWith(loadSource(`cifar10:${join(tmp, 'nowhere')}`), /nowhere/, 'no directory');
});

// ---------------------------------------------------------------------------------------------
// MNIST

function assertZeroBorder(ds: ImageDataset): void {
  for (let i = 0; i < ds.n; i++) {
    const o = i * 1024;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        if ((y < 2 || y >= 30 || x < 2 || x >= 30) && ds.pixels[o + y * 32 + x] !== 0) {
          assert.unreachable(`${ds.name} image ${i}: border pixel (${y}, ${x}) = ${ds.pixels[o + y * 32 + x]}`);
        }
      }
    }
  }
}

test('mnist package source: 8,000 / 2,000, [1, 32, 32], zero border, every class in both, deterministic', async () => {
  const a = await loadSource('mnist');
  const b = await loadSource('mnist', { seed: 99, limit: 500, testLimit: 100 });
  for (const [ds, n] of [[a.train, 8000], [a.test, 2000]] as const) {
    assert.equal([ds.n, ds.c, ds.h, ds.w, ds.classes], [n, 1, 32, 32, 10], ds.name);
    assert.ok(ds.pixels instanceof Uint8Array);
    assert.equal(ds.mean, MNIST_MEAN);
    assert.equal(ds.std, MNIST_STD);
    assert.equal(ds.augment, { cropPadding: 2, flip: false });
    for (const l of ds.labels) if (l < 0 || l > 9) assert.unreachable(`label ${l}`);
    const counts = classCounts(ds);
    assert.ok(counts.every((c) => c > 0), `${ds.name}: every digit present: ${counts}`);
    assertZeroBorder(ds);
  }
  // The package's per-digit sample counts add up.
  const req = createRequire(import.meta.url);
  const digitsDir = join(req.resolve('mnist/package.json'), '..', 'src', 'digits');
  const tc = classCounts(a.train);
  const ec = classCounts(a.test);
  const json = new Map<number, number[]>();
  for (let d = 0; d < 10; d++) {
    const data = (JSON.parse(readFileSync(join(digitsDir, `${d}.json`), 'utf8')) as { data: number[] }).data;
    assert.is(tc[d] + ec[d], data.length / 784, `digit ${d} count`);
    if (d === a.train.labels[0] || d === a.test.labels[0]) json.set(d, data);
  }
  // Images carry their own label: the first train and test image are samples of their digit's file.
  for (const ds of [a.train, a.test]) {
    const data = json.get(ds.labels[0])!;
    const inner = new Uint8Array(784);
    for (let y = 0; y < 28; y++) inner.set(ds.pixels.subarray((y + 2) * 32 + 2, (y + 2) * 32 + 30) as Uint8Array, y * 28);
    let found = -1;
    for (let k = 0; k < data.length / 784 && found < 0; k++) {
      let ok = true;
      for (let j = 0; j < 784 && ok; j++) ok = Math.round(data[k * 784 + j] * 255) === inner[j];
      if (ok) found = k;
    }
    assert.ok(found >= 0, `${ds.name} image 0 is a sample of digits/${ds.labels[0]}.json`);
  }
  // Deterministic (and independent of the seed); limits keep the first images.
  assert.is(b.train.n, 500);
  assert.is(b.test.n, 100);
  assert.ok(sameBytes(b.train.pixels, a.train.pixels.subarray(0, 500 * 1024)), 'same train images');
  assert.ok(sameBytes(b.train.labels, a.train.labels.subarray(0, 500)), 'same train labels');
  assert.ok(sameBytes(b.test.pixels, a.test.pixels.subarray(0, 100 * 1024)), 'same test images');
  assert.match(b.description, /limited to the first 500 of 8000 training images/);
});

test('mnist from digit arrays: fixed shuffle keeps every (digit, sample) once, with its label', () => {
  const r3 = (v: number): number => Math.round(v * 1000) / 1000;
  const digits: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const count = 1000 + d; // 10,045 in all: 8,000 train, 2,045 test
    const data = new Array<number>(count * 784).fill(0);
    for (let k = 0; k < count; k++) {
      data[k * 784 + 29] = r3((d * 20) / 255);
      data[k * 784 + 30] = r3((k & 255) / 255);
      data[k * 784 + 31] = r3((k >> 8) / 255);
      data[k * 784 + 783] = 1;
    }
    digits.push(data);
  }
  const s = mnistFromPackageDigits(digits);
  assert.is(s.train.n, 8000);
  assert.is(s.test.n, 2045);
  const seen = new Set<number>();
  for (const ds of [s.train, s.test]) {
    for (let i = 0; i < ds.n; i++) {
      const o = i * 1024 + 3 * 32 + 2; // padded row 1 + 2 -> 3, columns 1..3 + 2
      const d = ds.pixels[o + 1] / 20;
      const k = ds.pixels[o + 2] | (ds.pixels[o + 3] << 8);
      assert.is(d, ds.labels[i], 'label matches image');
      assert.is(ds.pixels[i * 1024 + 29 * 32 + 29], 255, 'last pixel lands at (29, 29)');
      seen.add(d * 10000 + k);
    }
  }
  assert.is(seen.size, 10045, 'every sample exactly once');
  // The order is shuffled (not class by class) and the same every time.
  assert.ok(classCounts(subset(s.train, Array.from({ length: 100 }, (_, i) => i))).every((c) => c > 0));
  const again = mnistFromPackageDigits(digits);
  assert.ok(sameBytes(again.train.labels, s.train.labels) && sameBytes(again.test.pixels, s.test.pixels));
});

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const dv = new DataView(out.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

test('mnist:<dir>: IDX files (one gzipped) -> padded 32x32 images and labels; errors', async () => {
  const d = dir('idx');
  const img = (i: number, y: number, x: number): number => (i * 13 + y * 28 + x) % 251;
  const images = (n: number, base: number): Uint8Array => {
    const px = new Uint8Array(n * 784);
    for (let i = 0; i < n; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) px[i * 784 + y * 28 + x] = img(base + i, y, x);
    return px;
  };
  writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(idx([5, 28, 28], images(5, 0))));
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([5], Uint8Array.from([3, 1, 4, 1, 5])));
  writeFileSync(join(d, 't10k-images.idx3-ubyte'), idx([3, 28, 28], images(3, 100)));
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.from([9, 2, 6])));
  const s = await loadSource(`mnist:${d}`);
  assert.equal([s.train.n, s.train.c, s.train.h, s.train.w], [5, 1, 32, 32]);
  assert.equal([s.test.n, s.test.h, s.test.w], [3, 32, 32]);
  assert.equal([...s.train.labels], [3, 1, 4, 1, 5]);
  assert.equal([...s.test.labels], [9, 2, 6]);
  assert.is(s.train.classes, 10);
  for (const [ds, base] of [[s.train, 0], [s.test, 100]] as const) {
    for (let i = 0; i < ds.n; i++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          const want = inside ? img(base + i, y - 2, x - 2) : 0;
          if (ds.pixels[i * 1024 + y * 32 + x] !== want) assert.unreachable(`${ds.name} ${i} (${y}, ${x})`);
        }
      }
    }
  }
  // Errors: truncated data, count mismatch, missing file.
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([3], Uint8Array.from([9, 2, 6])).subarray(0, 10));
  await rejectsWith(loadSource(`mnist:${d}`), /t10k-labels-idx1-ubyte: dimensions \[3\] need 3 bytes of data, the file has 2 \(truncated\)/, 'truncated');
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([2], Uint8Array.from([9, 2])));
  await rejectsWith(loadSource(`mnist:${d}`), /has 3 images but .*t10k-labels-idx1-ubyte has 2 labels/, 'mismatch');
  rmSync(join(d, 't10k-labels-idx1-ubyte'));
  await rejectsWith(loadSource(`mnist:${d}`), /has none of t10k-labels-idx1-ubyte/, 'missing');
});

// ---------------------------------------------------------------------------------------------
// npy

/** An .npy file of float64 values, written by hand (writeNpy writes float32/int64/int32). */
function npyF64(shape: number[], values: number[]): Uint8Array {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - 10 - dict.length - 1) + '\n';
  const out = new Uint8Array(total + values.length * 8);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  values.forEach((v, i) => dv.setFloat64(total + 8 * i, v, true));
  return out;
}

test('npy: float32 NCHW + int64 labels; last 20% held out; mean/std from the training images', async () => {
  const d = dir('npy');
  const n = 10, c = 2, hw = 4 * 3;
  const x = new Float32Array(n * c * hw);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.sin(i) * 3 + (Math.floor(i / hw) % 2) * 5);
  const labels = BigInt64Array.from([0, 1, 2, 3, 4, 0, 1, 2, 3, 4].map(BigInt));
  writeFileSync(join(d, 'x.npy'), writeNpy({ shape: [n, c, 4, 3], data: x }));
  writeFileSync(join(d, 'y.npy'), writeNpy({ shape: [n], data: labels }));
  const s = await loadSource(`npy:${join(d, 'x.npy')},${join(d, 'y.npy')}`);
  assert.equal([s.train.n, s.train.c, s.train.h, s.train.w, s.train.classes], [8, 2, 4, 3, 5]);
  assert.equal([s.test.n, s.test.classes], [2, 5]);
  assert.ok(s.train.pixels instanceof Float32Array);
  assert.equal([...s.train.pixels], [...x.subarray(0, 8 * c * hw)]);
  assert.equal([...s.test.pixels], [...x.subarray(8 * c * hw)]);
  assert.equal([...s.test.labels], [3, 4]);
  assert.equal(s.train.augment, { cropPadding: 0, flip: false });
  for (let k = 0; k < c; k++) {
    const vals: number[] = [];
    for (let i = 0; i < 8; i++) for (let j = 0; j < hw; j++) vals.push(x[(i * c + k) * hw + j]);
    const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
    const std = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
    assert.ok(Math.abs(s.train.mean[k] - mean) < TOL_STATS_F64 && Math.abs(s.train.std[k] - std) < TOL_STATS_F64, `channel ${k} stats`);
    assert.is(s.test.mean[k], s.train.mean[k], 'the test set uses the training statistics');
  }
  // Float pixels are normalized as they are: (x - mean) / std.
  const [first] = new BatchLoader(s.test, { batchSize: 2, shuffle: false }).batches(0);
  const v = x[8 * c * hw + hw + 5]; // test image 0, channel 1, pixel 5
  assert.ok(Math.abs(first.x[hw + 5] - (v - s.train.mean[1]) / s.train.std[1]) < TOL_PIXEL, 'normalized');
  assert.match(s.description, /last 20% held out/);

  // Explicit test files, float64 images (converted), int32 labels.
  writeFileSync(join(d, 'tx.npy'), npyF64([3, c, 4, 3], Array.from({ length: 3 * c * hw }, (_, i) => i / 8)));
  writeFileSync(join(d, 'ty.npy'), writeNpy({ shape: [3], data: Int32Array.from([6, 0, 1]) }));
  const t = await loadSource(`npy:${join(d, 'x.npy')},${join(d, 'y.npy')},${join(d, 'tx.npy')},${join(d, 'ty.npy')}`);
  assert.equal([t.train.n, t.test.n, t.train.classes, t.test.classes], [10, 3, 7, 7]);
  assert.is(t.test.pixels[9], 9 / 8);
  assert.match(t.description, /no training images of class 5, 6/);

  // Errors name the file, shape and dtype.
  writeFileSync(join(d, 'x3.npy'), writeNpy({ shape: [n, c, hw], data: x }));
  await rejectsWith(loadSource(`npy:${join(d, 'x3.npy')},${join(d, 'y.npy')}`),
    /images .*x3\.npy have shape \[10, 2, 12\] \(float32\); expected 4-D NCHW/, '3-D images');
  writeFileSync(join(d, 'xi.npy'), writeNpy({ shape: [n, c, 4, 3], data: new Int32Array(n * c * hw) }));
  await rejectsWith(loadSource(`npy:${join(d, 'xi.npy')},${join(d, 'y.npy')}`),
    /images .*xi\.npy have dtype int32 and shape \[10, 2, 4, 3\]; expected float32/, 'int images');
  writeFileSync(join(d, 'y9.npy'), writeNpy({ shape: [9], data: labels.subarray(0, 9) }));
  await rejectsWith(loadSource(`npy:${join(d, 'x.npy')},${join(d, 'y9.npy')}`),
    /labels .*y9\.npy have shape \[9\] \(int64\); expected \[10\]/, 'label count');
  writeFileSync(join(d, 'yf.npy'), writeNpy({ shape: [n], data: new Float32Array(n) }));
  await rejectsWith(loadSource(`npy:${join(d, 'x.npy')},${join(d, 'yf.npy')}`),
    /labels .*yf\.npy have dtype float32 and shape \[10\]; expected int64/, 'float labels');
  writeFileSync(join(d, 'yn.npy'), writeNpy({ shape: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i - 1)) }));
  await rejectsWith(loadSource(`npy:${join(d, 'x.npy')},${join(d, 'yn.npy')}`), /label -1 of image 0/, 'negative label');
});

test('source strings', async () => {
  assert.equal(parseSourceSpec('mnist'), { kind: 'mnist' });
  assert.equal(parseSourceSpec('mnist:/data/m'), { kind: 'mnist-idx', dir: '/data/m' });
  assert.equal(parseSourceSpec('cifar10:C:\\data'), { kind: 'cifar10', dir: 'C:\\data' });
  assert.equal(parseSourceSpec('npy:a.npy,b.npy'), { kind: 'npy', x: 'a.npy', labels: 'b.npy' });
  throwsWith(() => parseSourceSpec('npy:a.npy,b.npy,c.npy'), [/2 or 4 files/], Error, 'three files');
  throwsWith(() => parseSourceSpec('imagenet:/x'), [/unknown data source "imagenet:\/x"; expected one of: mnist, /], Error, 'unknown');
  throwsWith(() => parseSourceSpec('cifar10'), [/needs a directory/], Error, 'cifar10 without dir');
});

test.run();
