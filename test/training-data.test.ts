// Training data of any source (src/data/training-data.ts), above all folder:<dir>: the two
// layouts, the listing rules and errors, the description; then issue 12's end-to-end check: one
// epoch of `repvgg train` on a small generated folder of PNGs, then predict --image (class names),
// convert, export and features with nothing but the run's files.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadImageFolder, loadTrainingData } from '../src/data/training-data.js';
import { loadSource } from '../src/data/sources.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { readModelMetadata } from '../src/models/metadata.js';
import { cli, fails, ok } from './helpers/cli.js';
import { encodePng } from '../src/image/png-write.js';
import { rejectsWith } from './helpers/throws.js';

const root = mkdtempSync(join(tmpdir(), 'repvgg-folder-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

const CLASSES = ['circle', 'square', 'stripes'];

/** A 40x36 image of class k: a red circle, a green square or blue stripes, placed by i, with noise. */
function picture(k: number, i: number): Uint8Array {
  const w = 40 + (i % 3) * 4;
  const h = 36;
  const data = new Uint8Array(w * h * 3);
  const cx = 14 + (i % 5) * 3;
  const cy = 14 + (i % 4) * 2;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const inside = k === 0 ? (x - cx) ** 2 + (y - cy) ** 2 < 100 : k === 1 ? Math.abs(x - cx) < 9 && Math.abs(y - cy) < 9 : (x + i) % 8 < 4;
      const noise = ((x * 31 + y * 17 + i * 7) % 23) * 2;
      const o = (y * w + x) * 3;
      data[o] = (inside && k === 0 ? 220 : 40) + noise;
      data[o + 1] = (inside && k === 1 ? 200 : 50) + noise;
      data[o + 2] = (inside && k === 2 ? 230 : 60) + noise;
    }
  }
  return encodePng(data, w, h);
}

/** `perClass` images of each class in `dir/<class>/`. */
function makeFolder(dir: string, perClass: number, first = 0): void {
  CLASSES.forEach((c, k) => {
    mkdirSync(join(dir, c), { recursive: true });
    for (let i = first; i < first + perClass; i++) writeFileSync(join(dir, c, `${c}-${i}.png`), picture(k, i));
  });
}

test('folder listing: sorted classes, a seeded fifth held out, train/ + val/, limits, skipped files', async () => {
  const flat = join(root, 'flat');
  makeFolder(flat, 10);
  writeFileSync(join(flat, 'circle', 'notes.txt'), 'not an image');
  writeFileSync(join(flat, 'circle', '.DS_Store'), 'hidden');
  mkdirSync(join(flat, 'square', 'nested'));
  writeFileSync(join(flat, 'square', 'nested', 'deep.PNG'), picture(1, 99));
  const a = await loadImageFolder(flat, { seed: 1 });
  assert.equal(a.classes, CLASSES);
  assert.is(a.layout, 'split');
  assert.equal([a.train.length, a.test.length], [25, 6], '31 images, floor(n / 5) of each class held out (2 + 2 + 2)');
  assert.ok(a.train.some((e) => e.path.endsWith('deep.PNG') && e.label === 1) || a.test.some((e) => e.path.endsWith('deep.PNG')),
    'images in nested folders, any case of extension');
  assert.equal([...a.skipped], [['.txt', 1]], 'other files counted, hidden ones ignored');
  assert.equal(await loadImageFolder(flat, { seed: 1 }), a, 'deterministic');
  const limited = await loadImageFolder(flat, { seed: 1, limit: 7 });
  assert.is(limited.train.length, 7);
  assert.ok(new Set(limited.train.map((e) => e.label)).size > 1, 'a limited set spans the classes (drawn with the seed)');

  const split = join(root, 'split');
  makeFolder(join(split, 'train'), 4);
  mkdirSync(join(split, 'val', 'square'), { recursive: true });
  writeFileSync(join(split, 'val', 'square', 'v.png'), picture(1, 50));
  const b = await loadImageFolder(split);
  assert.is(b.layout, 'folders');
  assert.equal([b.train.length, b.test.length], [12, 1]);
  assert.equal(b.test[0].label, 1, 'val labels by class name');

  const data = await loadTrainingData(`folder:${split}`, { imageSize: 48, augment: false });
  assert.equal([data.classes, data.imageShape, data.trainCount, data.testCount], [3, [3, 48, 48], 12, 1]);
  assert.match(data.description, /12 train \/ 1 val images in 3 classes \(circle, square, stripes\); from train\/ and val\//);
  assert.match(data.description, /augmentation: none \(turned off\); evaluation: resize 48, center crop 48/);
  assert.equal(data.preprocessing, { resize: 48, crop: [48, 48], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });

  const bad = join(root, 'bad');
  mkdirSync(join(bad, 'one'), { recursive: true });
  await rejectsWith(loadImageFolder(bad), /has 1 class folder; expected one subfolder of images per class, at least two/, 'one class');
  mkdirSync(join(bad, 'two'));
  writeFileSync(join(bad, 'one', 'a.png'), picture(0, 0));
  await rejectsWith(loadImageFolder(bad), /no PNG or JPEG images in class folder two/, 'empty class');
  await rejectsWith(loadImageFolder(join(root, 'nope')), /is not a folder/, 'missing folder');
  mkdirSync(join(split, 'val', 'zebra'));
  await rejectsWith(loadImageFolder(split), /has class folder\(s\) zebra that .* does not/, 'unknown val class');
  await rejectsWith(loadSource(`folder:${flat}`), /use loadTrainingData/, 'loadSource points to the streamed loader');
  await rejectsWith(loadTrainingData('mnist', { imageSize: 64 }), /applies to folder data only/, '--size on mnist');
});

test('the whole loop: a folder of PNGs -> train -> predict --image -> convert -> export -> features, no --arch after train', () => {
  const data = join(root, 'shapes');
  makeFolder(data, 14);
  const run = join(root, 'run');
  const t = ok(cli('train', '--arch', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5', '--data', `folder:${data}`,
    '--size', '32', '--epochs', '1', '--batch-size', '8', '--lr', '0.05', '--seed', '3', '--out', run), 'train on the folder');
  assert.match(t.stderr, /data: folder:.*36 train \/ 6 held-out images in 3 classes/);
  assert.match(t.stderr, /augmentation: RandomResizedCrop\(32\) \+ horizontal flip/);
  assert.match(t.stderr, /model: RepVGG custom \(3 classes, 3x32x32 input\)/);
  const deploy = join(run, 'deploy.safetensors');
  const meta = readModelMetadata(readSafetensors(new Uint8Array(readFileSync(deploy))).metadata)!;
  assert.equal(meta.classNames, CLASSES, 'class names kept in the checkpoint');
  assert.equal(meta.preprocessing, { resize: 32, crop: [32, 32], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
  assert.equal(meta.inputSize, [32, 32]);

  const images = CLASSES.map((c, k) => join(data, c, `${c}-${k + 2}.png`));
  const p = ok(cli('predict', '--weights', deploy, '--image', ...images, '--json'), 'predict with the deploy file alone');
  const lines = p.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.file), images);
  for (const l of lines) {
    assert.is(l.top.length, 3, 'all three classes ranked');
    assert.equal(l.top.map((x: { label: string }) => x.label).sort(), [...CLASSES].sort());
    const sum = l.top.reduce((s: number, x: { probability: number }) => s + x.probability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-6, 'probabilities of all classes sum to 1');
  }

  // The rest of the loop with nothing but the run's files: convert the training checkpoint, export
  // both forms, draw the feature maps of an image; no --arch, --classes or --size anywhere.
  const checkpoint = join(run, 'checkpoint.safetensors');
  const converted = join(root, 'converted.safetensors');
  const c = ok(cli('convert', '--in', checkpoint, '--out', converted), 'convert the checkpoint alone');
  assert.match(c.stdout + c.stderr, /custom/);
  const convertedMeta = readModelMetadata(readSafetensors(new Uint8Array(readFileSync(converted))).metadata)!;
  assert.equal(convertedMeta.classNames, CLASSES, 'convert keeps the class names');
  assert.equal(convertedMeta.preprocessing, meta.preprocessing, 'and the preprocessing');
  const p2 = ok(cli('predict', '--weights', converted, '--image', images[0], '--json'), 'predict with the converted file');
  assert.equal(JSON.parse(p2.stdout.trim()).top, lines[0].top, 'the converted file answers as the deploy file');
  for (const form of ['train', 'deploy']) {
    const onnx = join(root, `loop-${form}.onnx`);
    ok(cli('export', '--weights', checkpoint, '--format', 'onnx', '--form', form, '--out', onnx), `export --form ${form}`);
    const bytes = readFileSync(onnx);
    assert.ok(bytes.length > 1000 && bytes.includes(Buffer.from(form === 'train' ? 'rbr_1x1' : 'rbr_reparam')),
      `the ${form} form's ONNX names its layers`);
  }
  const maps = join(root, 'maps');
  const f = ok(cli('features', '--weights', checkpoint, '--image', images[2], '--out', maps), 'features of an image');
  assert.match(f.stdout, /the two forms give the same feature maps within float32 rounding/);
  assert.equal(readdirSync(maps).sort(), ['stage0', 'stage1', 'stage2', 'stage3', 'stage4']
    .flatMap((n) => [`${n}-deploy.png`, `${n}-train.png`]));

  fails(cli('train', '--arch', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5', '--data', 'mnist', '--size', '64', '--out', join(root, 'x')),
    '--size with mnist', '--size applies to folder:<dir> data only');
});

test.run();
