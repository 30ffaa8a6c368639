// `repvgg predict --image` (src/cli/predict.ts) through the executable: images decoded and
// preprocessed as the checkpoint says (or ImageNet's eval transform for a file without metadata),
// top-k with class names (ImageNet's, the checkpoint's, or --labels), --json lines, --output
// logits equal to the library's in-process answer, and the failures.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { decodeImage } from '../src/image/decode.js';
import { IMAGENET_CLASSES } from '../src/image/imagenet-classes.js';
import { preprocess } from '../src/image/preprocess.js';
import { readNpy } from '../src/io/npy.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { METADATA_KEY, describeModel, imagenetPreprocessing, metadataEntries } from '../src/models/metadata.js';
import { RepVGG, type RepVGGConfig } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { cli, fails, ok } from './helpers/cli.js';
import { relErr } from './helpers/compare.js';
import { EXPECTED } from './helpers/images.js';
import { TOL_FORWARD } from './helpers/tolerances.js';

const IMAGES = new URL('../../test/fixtures/images/', import.meta.url).pathname;
const files = [EXPECTED.jpeg.large_progressive.file, EXPECTED.png.pal8_trns.file, EXPECTED.jpeg.gray.file].map((f) => join(IMAGES, f));
const TINY = { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5] } as const;
const TINY_ARGS = ['--arch', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5'];

const dir = mkdtempSync(join(tmpdir(), 'repvgg-predict-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const backend = await createBackend('wasm-simd');

/** A tiny model with random weights, its state dict written with `metadata` (none: a file from elsewhere). */
function writeModel(name: string, cfg: RepVGGConfig, metadata?: Record<string, string>): { path: string; model: RepVGG } {
  const model = new RepVGG(backend, { ...TINY, ...cfg, seed: 5 } as RepVGGConfig);
  model.eval();
  const path = join(dir, name);
  writeFileSync(path, writeSafetensors(stateDict(model), metadata));
  return { path, model };
}

/** The model's logits for the files, preprocessed in-process. */
function logitsOf(model: RepVGG, pre: ReturnType<typeof imagenetPreprocessing>): Float32Array {
  const xs = files.map((f) => preprocess(decodeImage(new Uint8Array(readFileSync(f))), pre));
  const [h, w] = pre.crop;
  const c = pre.mean.length;
  const x = new Float32Array(xs.length * c * h * w);
  xs.forEach((v, i) => x.set(v, i * v.length));
  const t = Tensor.from(backend, x, [xs.length, c, h, w]);
  const y = model.forward(t);
  t.dispose();
  const out = y.toFloat32Array();
  y.dispose();
  return out;
}

test('a file without metadata (1000 classes): ImageNet\'s transform and names, --json lines, --output logits', () => {
  const { path, model } = writeModel('imagenet.safetensors', { numClasses: 1000 } as RepVGGConfig);
  const y = join(dir, 'y.npy');
  const r = ok(cli('predict', ...TINY_ARGS, '--weights', path, '--image', ...files, '--json', '--topk', '3', '--output', y), 'predict --json');
  assert.match(r.stderr, /assuming ImageNet's preprocessing/);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.file), files, 'one line per image, in order');
  const expected = logitsOf(model, imagenetPreprocessing());
  const got = readNpy(new Uint8Array(readFileSync(y))).data as Float32Array;
  assert.ok(relErr(got, expected) < TOL_FORWARD, `logits vs in-process: ${relErr(got, expected)}`);
  lines.forEach((l, i) => {
    assert.equal(Object.keys(l), ['file', 'top']);
    assert.is(l.top.length, 3);
    const row = expected.subarray(i * 1000, (i + 1) * 1000);
    const best = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, 3);
    assert.equal(l.top.map((t: { index: number }) => t.index), best, `${files[i]}: best first`);
    for (const t of l.top) {
      assert.equal(Object.keys(t), ['label', 'index', 'probability']);
      assert.is(t.label, IMAGENET_CLASSES[t.index]);
    }
    assert.ok(l.top[0].probability >= l.top[1].probability && l.top[1].probability >= l.top[2].probability);
  });
  model.dispose();
});

test('the checkpoint\'s own preprocessing and names (a 1-channel model), --labels, text output', () => {
  const pre = { resize: 40, crop: [32, 36] as [number, number], mean: [0.4], std: [0.2] };
  const cfg = { ...TINY, numClasses: 3, inChannels: 1 } as RepVGGConfig;
  const meta = describeModel(cfg, { inputSize: [32, 36], classNames: ['ant', 'bee', 'cow'], preprocessing: pre });
  const { path, model } = writeModel('gray.safetensors', cfg, metadataEntries(meta));
  const y = join(dir, 'g.npy');
  const r = ok(cli('predict', '--weights', path, '--image', ...files, '--output', y), 'predict text');
  const expected = logitsOf(model, pre);
  assert.ok(relErr(readNpy(new Uint8Array(readFileSync(y))).data as Float32Array, expected) < TOL_FORWARD, 'logits');
  const out = r.stdout.split('\n');
  assert.is(out[0], files[0]);
  assert.match(out[1], /^ {2}1\. (ant|bee|cow) {2}0\.\d{4} {2}\(class [0-2]\)$/);
  assert.is(out.filter((l) => /^ {2}\d\./.test(l)).length, 9, 'top 3 (all the classes) per image');
  const labels = join(dir, 'labels.txt');
  writeFileSync(labels, 'fourmi\nabeille\nvache\n');
  const j = ok(cli('predict', '--weights', path, '--image', files[0], '--labels', labels, '--json'), '--labels').stdout;
  assert.ok(['fourmi', 'abeille', 'vache'].includes(JSON.parse(j).top[0].label), j);
  writeFileSync(labels, '["a", "b"]');
  fails(cli('predict', '--weights', path, '--image', files[0], '--labels', labels), '--labels count', 'has 2 names, the model 3 classes');
  model.dispose();
});

test('failures: unreadable images are reported and the rest go on; no preprocessing; bad flags', () => {
  const cfg = { ...TINY, numClasses: 2, inChannels: 3 } as RepVGGConfig;
  const { path, model } = writeModel('two.safetensors', cfg, metadataEntries(describeModel(cfg, { inputSize: [32, 32], preprocessing: imagenetPreprocessing(32) })));
  model.dispose();
  const notImage = join(dir, 'notes.txt');
  writeFileSync(notImage, 'hello');
  const gif = join(dir, 'a.gif');
  writeFileSync(gif, 'GIF89a....');
  const truncated = join(dir, 'cut.jpg');
  writeFileSync(truncated, readFileSync(files[0]).subarray(0, 900));
  const r = cli('predict', '--weights', path, '--image', notImage, files[1], gif, truncated, join(dir, 'nope.png'), '--json');
  assert.is(r.status, 1, 'exit 1 when an image failed');
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.is(lines.length, 5);
  assert.match(lines[0].error, /notes\.txt: image: not a PNG or JPEG file/);
  assert.is(lines[1].top.length, 2, 'the good image still gets its answer');
  assert.match(lines[2].error, /looks like GIF, which is not supported/);
  assert.match(lines[3].error, /cut\.jpg: jpeg: .*truncated/);
  assert.match(lines[4].error, /nope\.png: no such file/);
  assert.match(r.stderr, /repvgg: error: cannot decode .*notes\.txt/);
  // An image over --max-image-pixels is refused naming the flag (and the value that reads it).
  const big = cli('predict', '--weights', path, '--image', files[1], '--max-image-pixels', '100', '--json');
  assert.is(big.status, 1, 'exit 1 for an image over the limit');
  assert.match(JSON.parse(big.stdout.trim()).error, /143 pixels\), over the maxImagePixels limit of 100; .*raise it with --max-image-pixels 143/);

  const npyModel = JSON.parse(metadataEntries(describeModel(cfg, { inputSize: [32, 32] }))[METADATA_KEY]);
  const noPre = join(dir, 'nopre.safetensors');
  const m2 = new RepVGG(backend, { ...cfg, seed: 1 });
  writeFileSync(noPre, writeSafetensors(stateDict(m2), { [METADATA_KEY]: JSON.stringify(npyModel) }));
  m2.dispose();
  fails(cli('predict', '--weights', noPre, '--image', files[0]), 'no preprocessing recorded', 'does not record how images become its inputs');
  fails(cli('predict', '--weights', path, '--image', files[0], '--input', 'x.npy'), '--image and --input', 'not both');
  fails(cli('predict', '--weights', path), 'neither', '--image (image files) or --input');
  fails(cli('predict', '--weights', path, '--image'), '--image without files', '--image needs at least one value');
  fails(cli('predict', '--weights', path, '--input', 'x.npy', '--output', 'y.npy', '--topk', '3'), '--topk without --image', '--topk applies to --image');
});

test.run();
