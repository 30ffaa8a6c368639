// Training checkpoints (src/train/checkpoint.ts): a non-finite state is never written, leftovers
// of an interrupted write are removed on start, and a resume refuses changes that would make it
// another run while recording the changes it allows.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { BatchLoader, loadSource } from '../src/data/index.js';
import { readSafetensors } from '../src/io/index.js';
import { METADATA_FORMAT, describeModel, readModelMetadata } from '../src/models/metadata.js';
import { RepVGG, type RepVGGConfig } from '../src/models/repvgg.js';
import { NonFiniteStateError, saveCheckpoint } from '../src/train/checkpoint.js';
import { Optimizer, officialNoDecay } from '../src/train/optimizer.js';
import { train, type TrainOptions } from '../src/train/train.js';

const MODEL: RepVGGConfig = { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5], numClasses: 10, inChannels: 1 };
const BASE: TrainOptions = { model: MODEL, epochs: 2, batchSize: 32, lr: 0.05, optimizer: 'sgd', weightDecay: 1e-4, seed: 3, data: 'mnist; limit 128' };
const backend = await createBackend('wasm-simd');
const source = await loadSource('mnist', { limit: 128, testLimit: 100 });
const loaders = () => ({
  train: new BatchLoader(source.train, { batchSize: BASE.batchSize, shuffle: true, seed: BASE.seed }),
  test: new BatchLoader(source.test, { batchSize: 100, shuffle: false, augment: false }),
});
const root = await mkdtemp(join(tmpdir(), 'repvgg-checkpoint-'));

test('a state with a NaN is refused, naming the tensor and the count, and nothing is written', async () => {
  const model = new RepVGG(backend, { ...MODEL, seed: 1 });
  const optimizer = new Optimizer(model.namedParameters(), { kind: 'sgd', weightDecay: 0, noDecay: officialNoDecay });
  const w = model.linear.weight.value.data;
  w[3] = NaN;
  w[5] = Infinity;
  const path = join(root, 'nan.safetensors');
  const err = await saveCheckpoint(path, model, optimizer, { epoch: 1, steps: 4, history: [], options: BASE, changes: [] },
    describeModel(MODEL, { inputSize: [32, 32] }))
    .then(() => null, (e: unknown) => e);
  assert.ok(err instanceof NonFiniteStateError, `expected NonFiniteStateError, got ${String(err)}`);
  assert.match(err.message, /model\.linear\.weight holds 2 NaN\/Inf values/);
  assert.not.ok((await readdir(root)).includes('nan.safetensors'), 'no checkpoint was written');
  model.dispose();
  optimizer.dispose();
});

test('stale temporary files of a killed write are removed when a run starts; a live writer\'s are kept', async () => {
  const d = join(root, 'stale');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(d);
  // pid 2^22 + 1 is above Linux's default pid_max, so no process has it.
  const dead = `checkpoint.safetensors.tmp-${2 ** 22 + 1}-abc123`;
  const live = `checkpoint.safetensors.tmp-${process.pid}-abc123`;
  await writeFile(join(d, dead), new Uint8Array(1000));
  await writeFile(join(d, live), new Uint8Array(10));
  const r = await train(backend, loaders(), { ...BASE, epochs: 1, outDir: d });
  const left = await readdir(d);
  assert.not.ok(left.includes(dead), 'the dead writer\'s file is gone');
  assert.ok(left.includes(live), 'the file of a running process is kept');
  r.model.dispose();
  r.deployModel.dispose();
});

test('resume: other data or batch size is refused; a new learning rate is taken and recorded in metrics.json', async () => {
  const d = join(root, 'resume');
  const first = await train(backend, loaders(), { ...BASE, epochs: 2, outDir: d }, {
    onCheckpoint: () => { throw new Error('stop after epoch 1'); },
  }).then(() => null, (e: unknown) => e);
  assert.match(String(first), /stop after epoch 1/);
  const refusedData = await train(backend, loaders(), { ...BASE, data: 'mnist; limit 256', outDir: d, resume: true })
    .then(() => null, (e: unknown) => e);
  assert.match(String(refusedData), /cannot resume .*data was "mnist; limit 128", now "mnist; limit 256"/);
  const refusedBatch = await train(backend, loaders(), { ...BASE, batchSize: 16, outDir: d, resume: true })
    .then(() => null, (e: unknown) => e);
  assert.match(String(refusedBatch), /batchSize was 32, now 16/);
  const seen: unknown[] = [];
  const r = await train(backend, loaders(), { ...BASE, lr: 0.01, outDir: d, resume: true }, {
    onOptionsChanged: (c) => seen.push(...c),
  });
  assert.equal(seen, [{ epoch: 1, option: 'lr', was: 0.05, now: 0.01 }]);
  const m = JSON.parse(await readFile(join(d, 'metrics.json'), 'utf8'));
  assert.is(m.options.lr, 0.01, 'metrics.json states the learning rate in force');
  assert.equal(m.optionChanges, [{ epoch: 1, option: 'lr', was: 0.05, now: 0.01 }]);
  assert.is(r.history.length, 2);
  r.model.dispose();
  r.deployModel.dispose();
});

test('the checkpoint and the deploy file say what model they hold (models/metadata.ts), the trainer\'s progress apart', async () => {
  const d = join(root, 'meta');
  const r = await train(backend, loaders(), {
    ...BASE, epochs: 1, outDir: d, modelInfo: { classNames: source.train.classNames, preprocessing: source.preprocessing },
  });
  r.model.dispose();
  r.deployModel.dispose();
  const want = {
    format: METADATA_FORMAT, arch: 'custom', numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5],
    overrideGroupsMap: {}, useSE: false, inChannels: 1, inputSize: [32, 32], numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    preprocessing: { resize: 28, crop: [32, 32], mean: [0.1307], std: [0.3081] },
  };
  for (const file of ['checkpoint.safetensors', 'deploy.safetensors']) {
    const st = readSafetensors(new Uint8Array(await readFile(join(d, file))));
    assert.equal(readModelMetadata(st.metadata, file), want, file);
    assert.is(st.metadata.arch, 'custom', `${file}: the plain arch key`);
    assert.is(st.metadata.num_classes, '10', `${file}: the plain num_classes key`);
    assert.is('trainer' in st.metadata, file === 'checkpoint.safetensors', `${file}: trainer progress only in the checkpoint`);
  }
  // The options recorded for resume (and in metrics.json) leave the class names out.
  const m = JSON.parse(await readFile(join(d, 'metrics.json'), 'utf8'));
  assert.not.ok('modelInfo' in m.options, 'metrics.json options');
  // A model that does not take the data's images is refused before anything runs.
  const bad = await train(backend, loaders(), { ...BASE, model: { ...MODEL, inChannels: 3 } }).then(() => null, (e: unknown) => e);
  assert.match(String(bad), /the model takes 3 input channels but the training images have 1/);
});

test.run();
