// The training loop: batches in, forward (BN in training mode), softmax cross-entropy with label
// smoothing, backward, one optimizer step at the scheduled learning rate; evaluation after each
// epoch; an atomic checkpoint after each epoch (model + optimizer + progress), from which a run
// resumes exactly; at the end the deploy form, evaluated beside the training form.
import type { Backend } from '../backend.js';
import type { BatchLoader } from '../data/loader.js';
import { ensureDir, readFileBytes, readSafetensors, writeFileAtomic, writeSafetensors } from '../io/index.js';
import type { NamedTensor } from '../io/types.js';
import { RepVGG, repvggModelConvert, type RepVGGConfig } from '../models/repvgg.js';
import { loadStateDict, stateDict } from '../models/state-dict.js';
import { softmaxCrossEntropy } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { applyCustomL2, customL2NoDecay } from './custom-l2.js';
import { Optimizer, cosineWithWarmup, officialNoDecay, type OptimizerKind } from './optimizer.js';

export interface TrainOptions {
  /** the network (an official variant's config or a custom one) */
  model: RepVGGConfig;
  epochs: number;
  batchSize: number;
  /** peak learning rate (after warm-up) */
  lr: number;
  optimizer: OptimizerKind;
  weightDecay: number;
  momentum?: number;
  nesterov?: boolean;
  labelSmoothing?: number;
  /** warm-up length in epochs (fractions allowed); default: 5% of the run, at least one step */
  warmupEpochs?: number;
  /** the official custom L2 on the equivalent kernel instead of plain decay of the branch kernels */
  customL2?: boolean;
  /** recompute each block's internals in the backward instead of keeping them */
  gradientCheckpointing?: boolean;
  seed: number;
  /** where checkpoints, deploy weights and metrics.json go (Node); none: nothing is written */
  outDir?: string;
  /** continue from outDir/checkpoint.safetensors when it exists */
  resume?: boolean;
}

export interface EvalResult {
  loss: number;
  /** fraction in 0..1 */
  top1: number;
  /** fraction in 0..1; null when classes <= 5 */
  top5: number | null;
  correct: number;
  count: number;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  test: EvalResult;
  seconds: number;
  imagesPerSecond: number;
  lr: number;
}

export interface TrainEvents {
  onStart?(info: { epochs: number; batchesPerEpoch: number; startEpoch: number; parameters: number }): void;
  onBatch?(info: { epoch: number; batch: number; batches: number; loss: number; accuracy: number; imagesPerSecond: number; lr: number; elapsed: number }): void;
  onEpoch?(record: EpochRecord): void;
  onCheckpoint?(path: string): void;
  onDeploy?(info: { test: EvalResult; deployTest: EvalResult }): void;
}

export interface TrainResult {
  epochs: number;
  history: EpochRecord[];
  testAccuracy: number;
  deployTestAccuracy: number;
  bestTestAccuracy: number;
  imagesPerSecond: number;
  peakMemoryBytes: number;
  seconds: number;
  model: RepVGG;
  deployModel: RepVGG;
}

export class NonFiniteLossError extends Error {
  constructor(readonly epoch: number, readonly batch: number, readonly loss: number, readonly checkpoint: string | null) {
    super(`training stopped: the loss became ${loss} at epoch ${epoch + 1}, batch ${batch + 1} ` +
      `(learning rate too high?)${checkpoint ? `; the last good checkpoint is kept at ${checkpoint}` : ''}`);
    this.name = 'NonFiniteLossError';
  }
}

const CHECKPOINT = 'checkpoint.safetensors';

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/** Evaluates in eval mode (running statistics), batch by batch. */
export function evaluate(model: RepVGG, loader: BatchLoader): EvalResult {
  const wasTraining = model.training;
  model.eval();
  let loss = 0, correct = 0, correct5 = 0, count = 0;
  const classes = model.config.numClasses;
  for (const batch of loader.batches(0)) {
    const x = Tensor.from(model.backend, batch.x, [batch.size, ...loaderShape(loader)]);
    const logits = model.forward(x);
    x.dispose();
    const r = softmaxCrossEntropy(logits, batch.labels);
    r.dlogits.dispose();
    const l = logits.toFloat32Array();
    logits.dispose();
    loss += r.loss * batch.size;
    for (let i = 0; i < batch.size; i++) {
      const row = l.subarray(i * classes, (i + 1) * classes);
      const label = batch.labels[i];
      let rank = 0;
      for (let j = 0; j < classes; j++) if (row[j] > row[label] || (row[j] === row[label] && j < label)) rank++;
      if (rank === 0) correct++;
      if (rank < 5) correct5++;
    }
    count += batch.size;
  }
  model.train(wasTraining);
  return { loss: loss / count, top1: correct / count, top5: classes > 5 ? correct5 / count : null, correct, count };
}

function loaderShape(loader: BatchLoader): [number, number, number] {
  const ds = loader.dataset;
  return [ds.c, ds.h, ds.w];
}

/** Everything a checkpoint's metadata holds besides the tensors. */
interface Progress {
  epoch: number;
  steps: number;
  history: EpochRecord[];
  options: Omit<TrainOptions, 'outDir' | 'resume'>;
}

export async function train(backend: Backend, data: { train: BatchLoader; test: BatchLoader },
  opts: TrainOptions, events: TrainEvents = {}): Promise<TrainResult> {
  checkOptions(opts);
  // Node: create outDir now; a missing one would otherwise fail at the first checkpoint, an epoch in.
  if (opts.outDir) await ensureDir(opts.outDir);
  const started = performance.now();
  const model = new RepVGG(backend, { ...opts.model, seed: opts.seed, deploy: false });
  model.gradientCheckpointing = opts.gradientCheckpointing ?? false;
  const optimizer = new Optimizer(model.namedParameters(), {
    kind: opts.optimizer, weightDecay: opts.weightDecay, momentum: opts.momentum, nesterov: opts.nesterov,
    noDecay: opts.customL2 ? customL2NoDecay : officialNoDecay,
  });
  try {
    return await runTraining(backend, data, opts, events, model, optimizer, started);
  } catch (e) {
    // A failed run (non-finite loss, unusable checkpoint, write error, an event that throws) frees
    // its model and optimizer state: the caller never gets them, so could not.
    model.dispose();
    optimizer.dispose();
    throw e;
  }
}

async function runTraining(backend: Backend, data: { train: BatchLoader; test: BatchLoader }, opts: TrainOptions,
  events: TrainEvents, model: RepVGG, optimizer: Optimizer, started: number): Promise<TrainResult> {
  const batchesPerEpoch = data.train.batchesPerEpoch;
  const totalSteps = opts.epochs * batchesPerEpoch;
  const warmupSteps = Math.max(1, Math.round((opts.warmupEpochs ?? opts.epochs * 0.05) * batchesPerEpoch));
  const checkpointPath = opts.outDir ? joinPath(opts.outDir, CHECKPOINT) : null;

  let progress: Progress = { epoch: 0, steps: 0, history: [], options: stripPaths(opts) };
  if (opts.resume && checkpointPath) {
    const restored = await tryResume(checkpointPath, model, optimizer, opts);
    if (restored) progress = restored;
  }
  events.onStart?.({ epochs: opts.epochs, batchesPerEpoch, startEpoch: progress.epoch, parameters: model.parameterCount() });

  const [c, h, w] = loaderShape(data.train);
  let trainImages = 0;
  let trainSeconds = 0;
  for (let epoch = progress.epoch; epoch < opts.epochs; epoch++) {
    model.train();
    const t0 = performance.now();
    let lossSum = 0, correct = 0, seen = 0, lr = 0;
    for (const batch of data.train.batches(epoch)) {
      lr = cosineWithWarmup(opts.lr, progress.steps, totalSteps, warmupSteps);
      const x = Tensor.from(backend, batch.x, [batch.size, c, h, w]);
      const logits = model.forward(x);
      const { loss, dlogits } = softmaxCrossEntropy(logits, batch.labels, { labelSmoothing: opts.labelSmoothing ?? 0 });
      correct += countCorrect(logits, batch.labels);
      logits.dispose();
      if (!Number.isFinite(loss)) {
        dlogits.dispose();
        model.releaseSaved();
        x.dispose();
        throw new NonFiniteLossError(epoch, batch.index, loss, checkpointPath && progress.epoch > 0 ? checkpointPath : null);
      }
      model.backward(dlogits)?.dispose(); // null: the image needs no gradient
      dlogits.dispose();
      x.dispose();
      // The custom L2 term's gradient joins the backward's before the step.
      const penalty = opts.customL2 ? applyCustomL2(model, opts.weightDecay) : 0;
      optimizer.step(lr);
      model.zeroGrad();
      progress.steps++;
      lossSum += (loss + penalty) * batch.size;
      seen += batch.size;
      const elapsed = (performance.now() - t0) / 1000;
      events.onBatch?.({ epoch, batch: batch.index, batches: batchesPerEpoch, loss: lossSum / seen, accuracy: correct / seen,
        imagesPerSecond: seen / elapsed, lr, elapsed });
    }
    const seconds = (performance.now() - t0) / 1000;
    trainImages += seen;
    trainSeconds += seconds;
    const test = evaluate(model, data.test);
    const record: EpochRecord = { epoch, trainLoss: lossSum / seen, trainAccuracy: correct / seen, test, seconds, imagesPerSecond: seen / seconds, lr };
    progress.history.push(record);
    progress.epoch = epoch + 1;
    events.onEpoch?.(record);
    if (checkpointPath) {
      await saveCheckpoint(checkpointPath, model, optimizer, progress);
      events.onCheckpoint?.(checkpointPath);
    }
  }

  // The deploy form: converted, evaluated on the same test set; the counts must agree.
  // The training form was evaluated after the last epoch and has not changed since.
  const deployModel = repvggModelConvert(model);
  const test = progress.history.at(-1)?.test ?? evaluate(model, data.test);
  const deployTest = evaluate(deployModel, data.test);
  events.onDeploy?.({ test, deployTest });
  const imagesPerSecond = trainSeconds > 0 ? trainImages / trainSeconds : 0;
  if (opts.outDir) {
    await writeFileAtomic(joinPath(opts.outDir, 'deploy.safetensors'), writeSafetensors(stateDict(deployModel)));
  }
  const result: TrainResult = {
    epochs: opts.epochs,
    history: progress.history,
    testAccuracy: test.top1,
    deployTestAccuracy: deployTest.top1,
    bestTestAccuracy: Math.max(0, ...progress.history.map((r) => r.test.top1)),
    imagesPerSecond,
    peakMemoryBytes: backend.memoryBytes(),
    seconds: (performance.now() - started) / 1000,
    model,
    deployModel,
  };
  if (opts.outDir) {
    const metrics = {
      epochs: result.epochs, testAccuracy: result.testAccuracy, deployTestAccuracy: result.deployTestAccuracy,
      testCorrect: test.correct, deployTestCorrect: deployTest.correct, testCount: test.count,
      bestTestAccuracy: result.bestTestAccuracy, imagesPerSecond, peakMemoryBytes: result.peakMemoryBytes,
      seconds: result.seconds, history: progress.history, options: progress.options,
    };
    await writeFileAtomic(joinPath(opts.outDir, 'metrics.json'), new TextEncoder().encode(`${JSON.stringify(metrics, null, 2)}\n`));
  }
  optimizer.dispose();
  return result;
}

function countCorrect(logits: Tensor, labels: Int32Array): number {
  const [n, classes] = logits.shape;
  const l = logits.data;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < classes; j++) if (l[i * classes + j] > l[i * classes + best]) best = j;
    if (best === labels[i]) correct++;
  }
  return correct;
}

function stripPaths(opts: TrainOptions): Progress['options'] {
  const { outDir: _o, resume: _r, ...rest } = opts;
  return rest;
}

function checkOptions(o: TrainOptions): void {
  const posInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`train: ${name} must be a positive integer, got ${v}`);
  };
  posInt('epochs', o.epochs);
  posInt('batchSize', o.batchSize);
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new RangeError(`train: lr must be a positive finite number, got ${o.lr}`);
  if (!(o.weightDecay >= 0)) throw new RangeError(`train: weightDecay must be >= 0, got ${o.weightDecay}`);
  const ls = o.labelSmoothing ?? 0;
  if (!(ls >= 0 && ls < 1)) throw new RangeError(`train: labelSmoothing must be in [0, 1), got ${ls}`);
  if (o.warmupEpochs !== undefined && !(o.warmupEpochs >= 0)) throw new RangeError(`train: warmupEpochs must be >= 0, got ${o.warmupEpochs}`);
  if (!Number.isInteger(o.seed)) throw new RangeError(`train: seed must be an integer, got ${o.seed}`);
}

async function saveCheckpoint(path: string, model: RepVGG, optimizer: Optimizer, progress: Progress): Promise<void> {
  const tensors = new Map<string, NamedTensor>();
  for (const [k, t] of stateDict(model)) tensors.set(`model.${k}`, t);
  for (const [k, t] of optimizer.stateDict()) tensors.set(`optimizer.${k}`, t);
  const meta = { format: 'repvgg-wasm-checkpoint-1', ...progress };
  await writeFileAtomic(path, writeSafetensors(tensors, { trainer: JSON.stringify(meta) }));
}

/** Loads outDir's checkpoint into the model and optimizer; null when there is none yet. */
async function tryResume(path: string, model: RepVGG, optimizer: Optimizer, opts: TrainOptions): Promise<Progress | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(path);
  } catch {
    return null; // nothing to resume: a fresh run
  }
  const file = readSafetensors(bytes);
  const metaText = file.metadata?.trainer;
  if (!metaText) throw new Error(`${path} is not a repvgg-wasm training checkpoint (no trainer metadata)`);
  const meta = JSON.parse(metaText) as Progress & { format: string };
  if (meta.format !== 'repvgg-wasm-checkpoint-1') throw new Error(`${path}: unknown checkpoint format ${meta.format}`);
  // The schedule (warm-up, cosine) is sized by the number of epochs: a different one would not
  // continue the same run.
  const changed = (['optimizer', 'batchSize', 'seed', 'epochs'] as const).filter((k) => meta.options[k] !== opts[k]);
  if (changed.length > 0) {
    throw new Error(`cannot resume from ${path}: ${changed.map((k) => `${k} was ${String(meta.options[k])}, now ${String(opts[k])}`).join('; ')}`);
  }
  const modelDict = new Map<string, NamedTensor>();
  const optDict = new Map<string, NamedTensor>();
  for (const [k, t] of file.tensors) {
    if (k.startsWith('model.')) modelDict.set(k.slice(6), t);
    else if (k.startsWith('optimizer.')) optDict.set(k.slice(10), t);
  }
  loadStateDict(model, modelDict);
  optimizer.loadStateDict(optDict, meta.steps);
  return { epoch: meta.epoch, steps: meta.steps, history: meta.history, options: meta.options };
}
