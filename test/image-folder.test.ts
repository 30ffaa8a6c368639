// The image folder loader (src/data/image-folder.ts): RandomResizedCrop's parameters, the seeded
// per-class split, the eval transform equal to preprocess(), augmentation that is reproducible per
// (seed, epoch), and streaming: a batch reads only its own files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImageFolderLoader, folderPreprocessing, sampleResizedCrop, splitByClass, type FolderEntry } from '../src/data/image-folder.js';
import { Mulberry32 } from '../src/data/random.js';
import { decodeImage } from '../src/image/decode.js';
import { preprocess } from '../src/image/preprocess.js';
import { encodePng } from '../src/image/png-write.js';
import { throwsWith } from './helpers/throws.js';

/** In-memory "files": path -> PNG bytes, with a log of what was read. */
function memoryFiles(n: number): { entries: FolderEntry[]; read: (p: string) => Uint8Array; reads: string[] } {
  const files = new Map<string, Uint8Array>();
  const entries: FolderEntry[] = [];
  for (let i = 0; i < n; i++) {
    const w = 40 + (i % 3) * 7;
    const h = 30 + (i % 4) * 5;
    const data = Uint8Array.from({ length: w * h * 3 }, (_, j) => (j * (i + 3) + (j % 3) * 50) & 255);
    files.set(`img${i}.png`, encodePng(data, w, h));
    entries.push({ path: `img${i}.png`, label: i % 2 });
  }
  const reads: string[] = [];
  return {
    entries, reads,
    read: (p) => {
      reads.push(p);
      const b = files.get(p);
      if (!b) throw new Error(`cannot read ${p}: no such file`);
      return b;
    },
  };
}

test('sampleResizedCrop: windows inside the image, areas 8%..100%, aspect 3/4..4/3 (or the fallback)', () => {
  const rng = new Mulberry32(7);
  for (let i = 0; i < 2000; i++) {
    const w = 1 + ((i * 37) % 300);
    const h = 1 + ((i * 53) % 200);
    const b = sampleResizedCrop(rng, w, h);
    assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= h && b.left + b.width <= w && b.width > 0 && b.height > 0,
      `${w}x${h}: ${JSON.stringify(b)}`);
  }
  // A 1000x10 strip: no random window fits in 10 tries' worth of ratios, so the centred fallback
  // (height 10, width round(10 * 4 / 3) = 13).
  assert.equal(sampleResizedCrop(new Mulberry32(1), 1000, 10), { top: 0, left: 493, height: 10, width: 13 });
});

test('splitByClass: a fifth of each class held out, seeded, every file once', () => {
  const files = [['a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8', 'a9'], ['b0'], ['c0', 'c1', 'c2', 'c3', 'c4']];
  const s = splitByClass(files, 3);
  assert.equal(s.val.map((e) => e.label), [0, 0, 2]);
  assert.equal([...s.train, ...s.val].map((e) => e.path).sort(), files.flat().sort());
  assert.equal(splitByClass(files, 3), s, 'same seed, same split');
  assert.not.equal(splitByClass(files, 4).val.map((e) => e.path), s.val.map((e) => e.path), 'another seed, another split');
});

test('eval batches are preprocess() with the official transform; a batch reads only its files', () => {
  const f = memoryFiles(7);
  const loader = new ImageFolderLoader(f.entries, { size: 32, batchSize: 3, shuffle: false, augment: false, read: f.read });
  assert.equal(loader.imageShape, [3, 32, 32]);
  assert.is(loader.batchesPerEpoch, 3);
  assert.is(f.reads.length, 0, 'nothing read when the loader is made');
  const it = loader.batches(0);
  const first = it.next().value!;
  assert.equal(f.reads, ['img0.png', 'img1.png', 'img2.png'], 'the first batch read its three files only');
  assert.equal([...first.labels], [0, 1, 0]);
  const pre = folderPreprocessing(32);
  assert.equal(pre, { resize: 32, crop: [32, 32], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  for (let j = 0; j < 3; j++) {
    const want = preprocess(decodeImage(f.read(`img${j}.png`)), pre);
    assert.equal(first.x.subarray(j * 3072, (j + 1) * 3072), want, `image ${j}`);
  }
  assert.equal([...it].map((b) => b.size), [3, 1]);
  assert.equal(folderPreprocessing(224).resize, 256, '224: Resize(256) as the official transform');
});

test('augmented batches: reproducible per (seed, epoch), different across epochs and seeds; errors name the file', () => {
  const f = memoryFiles(6);
  const make = (seed: number) => new ImageFolderLoader(f.entries, { size: 32, batchSize: 4, shuffle: true, seed, augment: true, dropLast: true, read: f.read });
  const a = [...make(5).batches(1)];
  assert.is(a.length, 1, 'dropLast: one whole batch of 4');
  assert.equal([...make(5).batches(1)][0].x, a[0].x, 'same seed and epoch: the same crops, flips and order');
  assert.not.equal([...make(5).batches(2)][0].x, a[0].x, 'another epoch');
  assert.not.equal([...make(6).batches(1)][0].x, a[0].x, 'another seed');
  for (const v of a[0].x) assert.ok(Number.isFinite(v) && Math.abs(v) < 3, 'normalized values');
  const broken = [...f.entries, { path: 'missing.png', label: 0 }];
  const l = new ImageFolderLoader(broken, { size: 32, batchSize: 7, shuffle: false, augment: false, read: f.read });
  throwsWith(() => [...l.batches(0)], [/image folder: missing\.png: cannot read missing\.png: no such file/]);
  throwsWith(() => new ImageFolderLoader(f.entries, { size: 0, batchSize: 1, shuffle: false, augment: false, read: f.read }),
    [/size must be an integer >= 1, got 0/]);
});

test.run();
