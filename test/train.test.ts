// The training loop (src/train/trainer.ts) end to end, on real digits (the `mnist` source: 512
// training and 500 test images) with a narrow RepVGG: it learns, it is deterministic, it resumes
// exactly after a kill, it stops on a non-finite loss without touching the last good checkpoint,
// gradient checkpointing changes memory and nothing else, and metrics.json says what happened.
// Kept small (a few seconds of training in all) so the whole file stays fast on a busy machine.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { BatchLoader, loadSource } from '../src/data/index.js';
import { readSafetensors } from '../src/io/index.js';
import { RepVGG, type RepVGGConfig } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { NonFiniteLossError, train, type EpochRecord, type TrainEvents, type TrainOptions, type TrainResult } from '../src/train/train.js';

const MODEL: RepVGGConfig = { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5], numClasses: 10, inChannels: 1 };
const BASE: TrainOptions = { model: MODEL, epochs: 3, batchSize: 32, lr: 0.1, optimizer: 'sgd', weightDecay: 1e-4, seed: 1 };

const source = await loadSource('mnist', { limit: 512, testLimit: 500 });
const data = {
  train: new BatchLoader(source.train, { batchSize: BASE.batchSize, shuffle: true, seed: BASE.seed }),
  test: new BatchLoader(source.test, { batchSize: 100, shuffle: false, augment: false }),
};
const backend = await createBackend('wasm-simd') as WasmBackend;
const root = await mkdtemp(join(tmpdir(), 'repvgg-trainer-'));
const dir = (name: string) => join(root, name);
const CHECKPOINT = 'checkpoint.safetensors';

/** Thrown from an event to stop a run the way a kill would: nothing after it gets written. */
class Killed extends Error {}

/** train() on the shared backend and data with BASE's options, overridden by `opts`. */
async function run(opts: Partial<TrainOptions>, events: TrainEvents = {}): Promise<TrainResult> {
  return train(backend, data, { ...BASE, ...opts }, events);
}

/** A run killed by one of its events (which throws Killed); resolves once it has died. */
async function killedRun(opts: Partial<TrainOptions>, events: TrainEvents): Promise<void> {
  try {
    await run(opts, events);
  } catch (e) {
    if (e instanceof Killed) return;
    throw e;
  }
  throw new Error('the run was supposed to be killed');
}

/** Everything of a history except wall-clock times. */
function historyNumbers(h: EpochRecord[]) {
  return h.map(({ epoch, trainLoss, trainAccuracy, test, lr }) => ({ epoch, trainLoss, trainAccuracy, test, lr }));
}

/** Every parameter and buffer's bytes, for bitwise comparison. */
function weights(model: RepVGG): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, t] of stateDict(model)) out.set(k, new Uint8Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength)));
  return out;
}

function assertSameWeights(a: RepVGG, b: RepVGG, what: string): void {
  const wa = weights(a);
  const wb = weights(b);
  assert.equal([...wa.keys()], [...wb.keys()], `${what}: state dict keys`);
  const differ = [...wa].filter(([k, bytes]) => Buffer.compare(bytes, wb.get(k)!) !== 0).map(([k]) => k);
  assert.ok(differ.length === 0, `${what}: ${differ.length} tensor(s) differ bitwise: ${differ.slice(0, 10).join(', ')}`);
}

function disposeResult(r: TrainResult): void {
  r.model.dispose();
  r.deployModel.dispose();
}

// The straight run every other one is compared with: 3 epochs, checkpoints and metrics in dir A.
let straight: { result: TrainResult; firstBatchLoss: number; seconds: number } | null = null;
async function straightRun() {
  if (!straight) {
    let firstBatchLoss = NaN;
    const t0 = performance.now();
    const result = await run({ outDir: dir('A') }, {
      onBatch: (i) => { if (i.epoch === 0 && i.batch === 0) firstBatchLoss = i.loss; },
    });
    straight = { result, firstBatchLoss, seconds: (performance.now() - t0) / 1000 };
  }
  return straight;
}

test('mnist, 3 epochs of SGD: the loss falls, the test accuracy is far above chance, the deploy form agrees', async () => {
  const { result: r, firstBatchLoss, seconds } = await straightRun();
  const last = r.history[r.history.length - 1];
  console.log(`trainer: ${source.train.n} train / ${source.test.n} test digits, 3 epochs in ${seconds.toFixed(1)} s: ` +
    `first batch loss ${firstBatchLoss.toFixed(3)}, last epoch's train loss ${last.trainLoss.toFixed(3)}, ` +
    `test accuracy ${r.history.map((h) => h.test.top1).join(' -> ')}, deploy ${r.deployTestAccuracy}`);
  assert.is(r.history.length, 3);
  assert.ok(firstBatchLoss > 2 && firstBatchLoss < 3, `first batch loss ${firstBatchLoss} (about ln 10 expected)`);
  assert.ok(last.trainLoss < 0.6 * firstBatchLoss, `final train loss ${last.trainLoss} is not below 60% of the first batch's ${firstBatchLoss}`);
  assert.ok(r.testAccuracy > 0.5, `test accuracy ${r.testAccuracy} (chance is 0.1)`);
  assert.ok(last.test.count === 500 && last.test.top1 === r.testAccuracy);
  assert.is(r.deployTestAccuracy, r.testAccuracy);
});

test('metrics.json holds epochs, test and deploy accuracy (fractions), images per second and peak memory', async () => {
  const { result: r } = await straightRun();
  const m = JSON.parse(await readFile(join(dir('A'), 'metrics.json'), 'utf8')) as Record<string, unknown>;
  assert.is(m.epochs, 3);
  for (const k of ['testAccuracy', 'deployTestAccuracy']) {
    const v = m[k] as number;
    assert.ok(typeof v === 'number' && v >= 0 && v <= 1, `${k} = ${String(v)} is not a fraction`);
  }
  assert.is(m.testAccuracy, r.testAccuracy);
  assert.is(m.deployTestAccuracy, r.deployTestAccuracy);
  // The same counts, not merely close fractions.
  assert.is(m.testCorrect, m.deployTestCorrect);
  assert.is(m.testCount, 500);
  assert.ok(typeof m.imagesPerSecond === 'number' && m.imagesPerSecond > 0, `imagesPerSecond ${String(m.imagesPerSecond)}`);
  assert.ok(Number.isInteger(m.memoryBytes) && (m.memoryBytes as number) > 0, `memoryBytes ${String(m.memoryBytes)}`);
  assert.is((m.history as unknown[]).length, 3);
  assert.equal((await readdir(dir('A'))).sort(), [CHECKPOINT, 'deploy.safetensors', 'metrics.json']);
  const deploy = readSafetensors(new Uint8Array(await readFile(join(dir('A'), 'deploy.safetensors'))));
  assert.ok(deploy.tensors.has('stage0.rbr_reparam.weight') && !deploy.tensors.has('stage0.rbr_dense.conv.weight'));
});

test('determinism: the same options twice give the same history and bitwise the same weights', async () => {
  const { result: a } = await straightRun();
  const b = await run({});
  assert.equal(historyNumbers(b.history), historyNumbers(a.history));
  assertSameWeights(b.model, a.model, 'second run vs first');
  assertSameWeights(b.deployModel, a.deployModel, 'second run vs first (deploy form)');
  disposeResult(b);
});

/** The checkpoint a run leaves when it is killed right after writing its first one (memoized). */
let afterEpoch1: Buffer | null = null;
async function checkpointAfterEpoch1(): Promise<Buffer> {
  if (!afterEpoch1) {
    await killedRun({ outDir: dir('K') }, { onCheckpoint: () => { throw new Killed(); } });
    assert.equal(await readdir(dir('K')), [CHECKPOINT], 'a killed run leaves only its last checkpoint');
    afterEpoch1 = await readFile(join(dir('K'), CHECKPOINT));
  }
  return afterEpoch1;
}

/** A fresh directory holding only `checkpoint`. */
async function dirWithCheckpoint(name: string, checkpoint: Buffer): Promise<string> {
  const d = dir(name);
  await mkdir(d);
  await writeFile(join(d, CHECKPOINT), checkpoint);
  return d;
}

test('resume after a kill right after the first checkpoint: bitwise the straight run', async () => {
  const { result: a } = await straightRun();
  const d = await dirWithCheckpoint('B', await checkpointAfterEpoch1());
  let startEpoch = -1;
  const r = await run({ outDir: d, resume: true }, { onStart: (i) => { startEpoch = i.startEpoch; } });
  assert.is(startEpoch, 1, 'the resumed run starts at the second epoch');
  assert.equal(historyNumbers(r.history), historyNumbers(a.history));
  assertSameWeights(r.model, a.model, 'resumed vs straight');
  assert.is(r.deployTestAccuracy, a.deployTestAccuracy);
  // The final checkpoints hold the same tensors (weights, BN statistics, momentum buffers) bit for
  // bit; their metadata differ only in wall-clock times. The deploy weights are the same file.
  const [ca, cb] = await Promise.all([dir('A'), d].map(async (p) => readSafetensors(new Uint8Array(await readFile(join(p, CHECKPOINT))))));
  assert.equal([...cb.tensors.keys()], [...ca.tensors.keys()]);
  assert.ok([...ca.tensors.keys()].some((k) => k.endsWith('.momentum_buffer')));
  for (const [k, t] of ca.tensors) {
    assert.equal(Array.from(cb.tensors.get(k)!.data as ArrayLike<number | bigint>), Array.from(t.data as ArrayLike<number | bigint>), k);
  }
  const [da, db] = await Promise.all([dir('A'), d].map((p) => readFile(join(p, 'deploy.safetensors'))));
  assert.ok(Buffer.compare(da, db) === 0, 'deploy.safetensors differs');
  disposeResult(r);
});

/** A checkpoint with its trainer metadata edited (the header rewritten, the tensors' bytes kept). */
function withTrainerEdit(bytes: Buffer, edit: (trainer: { history: EpochRecord[] }) => void): Buffer {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const trainer = JSON.parse(header.__metadata__.trainer);
  edit(trainer);
  header.__metadata__.trainer = JSON.stringify(trainer);
  let text = JSON.stringify(header);
  while (Buffer.byteLength(text) % 8 !== 0) text += ' ';
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(Buffer.byteLength(text)));
  return Buffer.concat([size, Buffer.from(text), bytes.subarray(8 + n)]);
}

test('peak memory of a resumed run covers the earlier processes (each epoch records its memory)', async () => {
  const earlier = 5 * 2 ** 40;
  const ck = withTrainerEdit(await checkpointAfterEpoch1(), (t) => {
    assert.ok(Number.isInteger(t.history[0].memoryBytes) && t.history[0].memoryBytes! > 0, 'the first epoch recorded its memory');
    t.history[0].memoryBytes = earlier;
  });
  const d = await dirWithCheckpoint('M', ck);
  const r = await run({ outDir: d, resume: true });
  assert.is(r.memoryBytes, earlier, 'the earlier process held more');
  const m = JSON.parse(await readFile(join(d, 'metrics.json'), 'utf8')) as { memoryBytes: number; history: EpochRecord[] };
  assert.is(m.memoryBytes, earlier);
  assert.ok(m.history.slice(1).every((h) => Number.isInteger(h.memoryBytes) && h.memoryBytes! > 0 && h.memoryBytes! < earlier),
    'this process recorded its own');
  disposeResult(r);
});

test('resume after a kill in the middle of the third epoch (only the checkpoint exists): bitwise the straight run', async () => {
  const { result: a } = await straightRun();
  await killedRun({ outDir: dir('C') }, { onBatch: (i) => { if (i.epoch === 2 && i.batch === 5) throw new Killed(); } });
  assert.equal(await readdir(dir('C')), [CHECKPOINT], 'a killed run leaves only its last checkpoint');
  let startEpoch = -1;
  const r = await run({ outDir: dir('C'), resume: true }, { onStart: (i) => { startEpoch = i.startEpoch; } });
  assert.is(startEpoch, 2);
  assert.equal(historyNumbers(r.history), historyNumbers(a.history));
  assertSameWeights(r.model, a.model, 'resumed vs straight');
  disposeResult(r);
});

test('NaN guard: lr 1e6 stops with NonFiniteLossError naming the epoch and batch; the last good checkpoint is intact', async () => {
  // A fresh run (nothing on disk): no checkpoint to point to.
  const live = backend.liveBytes();
  const fresh = await run({ lr: 1e6, epochs: 1 }).then(() => null, (e: unknown) => e);
  assert.is(backend.liveBytes(), live, 'the failed run freed its model and optimizer state');
  assert.ok(fresh instanceof NonFiniteLossError, `expected NonFiniteLossError, got ${String(fresh)}`);
  assert.is(fresh.epoch, 0);
  assert.ok(fresh.batch >= 1, 'the first batch (initial weights) has a finite loss');
  assert.ok(!Number.isFinite(fresh.loss));
  assert.match(fresh.message, `at epoch 1, batch ${fresh.batch + 1}`);
  assert.is(fresh.checkpoint, null);

  // From the good checkpoint after epoch 1, resumed with a learning rate that blows up.
  const good = await checkpointAfterEpoch1();
  const d = await dirWithCheckpoint('D', good);
  const err = await run({ outDir: d, resume: true, lr: 1e6 }).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof NonFiniteLossError, `expected NonFiniteLossError, got ${String(err)}`);
  assert.is(backend.liveBytes(), live, 'the failed resumed run freed its model and optimizer state');
  assert.is(err.epoch, 1, 'it fails in the second epoch');
  assert.match(err.message, `at epoch 2, batch ${err.batch + 1}`);
  assert.is(err.checkpoint, join(d, CHECKPOINT));
  assert.match(err.message, join(d, CHECKPOINT));
  console.log(`trainer: NaN guard: ${err.message}`);
  // Untouched: same bytes, nothing else written, and readable as the checkpoint after epoch 1.
  assert.equal(await readdir(d), [CHECKPOINT]);
  const now = await readFile(join(d, CHECKPOINT));
  assert.ok(Buffer.compare(now, good) === 0, 'the checkpoint changed');
  const file = readSafetensors(new Uint8Array(now));
  const meta = JSON.parse(file.metadata.trainer) as { epoch: number; steps: number };
  assert.is(meta.epoch, 1);
  assert.is(meta.steps, data.train.batchesPerEpoch);
  assert.ok(file.tensors.has('model.stage0.rbr_dense.conv.weight'));
});

test('gradient checkpointing: the same gradients and running statistics, less memory kept and less peak memory', async () => {
  // Deeper than MODEL: per-block checkpointing cannot go below the peak of the block with the
  // largest internals (stage0, recomputed in full for its backward), so it pays off once the other
  // blocks' internals add up. With MODEL itself the two peaks are about equal (reported below).
  const deeper: RepVGGConfig = { ...MODEL, numBlocks: [2, 4, 4, 1] };
  const batch = data.train.batches(0).next().value!;
  const step = async (config: RepVGGConfig, checkpointing: boolean) => {
    // Fresh, so its peak covers this step only; on one thread, so the peaks compare activations
    // (each thread adds its own scratch to a convolution's, the same with and without checkpointing).
    const b = await createBackend('wasm-simd', { threads: 1 }) as WasmBackend;
    const model = new RepVGG(b, { ...config, seed: 7 });
    model.gradientCheckpointing = checkpointing;
    model.train();
    const x = Tensor.from(b, batch.x, [batch.size, 1, 32, 32]);
    const resident = b.liveBytes(); // weights and the input
    const logits = model.forward(x);
    const kept = b.liveBytes() - resident; // what the forward keeps for the backward (and the logits)
    const { dlogits } = softmaxCrossEntropy(logits, batch.labels);
    logits.dispose();
    model.backward(dlogits)?.dispose();
    dlogits.dispose();
    x.dispose();
    const grads = new Map(model.namedParameters().map(([n, p]) => [n, p.grad!.toFloat32Array()]));
    const state = weights(model); // running statistics and num_batches_tracked (and the weights)
    const peak = b.peakLiveBytes();
    model.dispose();
    return { grads, state, peak, resident, kept };
  };
  const mb = (v: number) => `${(v / 2 ** 20).toFixed(2)} MiB`;
  for (const [name, config] of [['numBlocks [2,4,4,1]', deeper], ['numBlocks [1,1,1,1]', MODEL]] as const) {
    const plain = await step(config, false);
    const ckpt = await step(config, true);
    const differ: string[] = [];
    for (const [n, g] of plain.grads) {
      const h = ckpt.grads.get(n)!;
      if (Buffer.compare(Buffer.from(g.buffer), Buffer.from(h.buffer)) !== 0) differ.push(n);
    }
    assert.ok(differ.length === 0, `${name}: gradients differ bitwise with checkpointing: ${differ.join(', ')}`);
    for (const [k, bytes] of plain.state) {
      assert.ok(Buffer.compare(bytes, ckpt.state.get(k)!) === 0, `${name}: ${k} differs with checkpointing (running statistics updated twice?)`);
    }
    console.log(`trainer: ${name}, batch ${batch.size}: peak live bytes of one step ${plain.peak} without checkpointing, ` +
      `${ckpt.peak} with (above the ${mb(plain.resident)} of weights and input: ${mb(plain.peak - plain.resident)} vs ` +
      `${mb(ckpt.peak - ckpt.resident)}); kept by the forward ${mb(plain.kept)} vs ${mb(ckpt.kept)}`);
    assert.is(ckpt.resident, plain.resident);
    assert.ok(ckpt.kept < 0.5 * plain.kept, `${name}: the forward keeps ${ckpt.kept} bytes with checkpointing, ${plain.kept} without`);
    assert.ok(ckpt.peak <= plain.peak, `${name}: peak ${ckpt.peak} with checkpointing is above ${plain.peak}`);
    if (config === deeper) assert.ok(ckpt.peak < plain.peak - (plain.peak - plain.resident) / 10, `${name}: peak ${ckpt.peak} with checkpointing is not clearly below ${plain.peak}`);
  }
});

test.after(async () => {
  if (straight) disposeResult(straight.result);
  await rm(root, { recursive: true, force: true });
});

test.run();
