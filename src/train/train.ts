// The training loop: batches in, forward (BN in training mode), softmax cross-entropy with label
// smoothing, backward, one optimizer step at the scheduled learning rate; evaluation after each
// epoch (evaluate.ts); a checkpoint after each epoch (checkpoint.ts), from which a run resumes
// exactly; at the end the deploy form, evaluated beside the training form.
import type { Backend } from '../backend.js';
import type { BatchSource } from '../data/loader.js';
import { ensureDir, writeFileAtomic, writeSafetensors } from '../io/index.js';
import { describeModel, metadataEntries, type ModelMetadata, type Preprocessing } from '../models/metadata.js';
import { RepVGG, repvggModelConvert, type RepVGGConfig } from '../models/repvgg.js';
import { stateDict } from '../models/state-dict.js';
import { softmaxCrossEntropy } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { countCorrect } from '../topk.js';
import {
  CHECKPOINT_FILE, checkFinite, pathIn, removeLeftovers, runOptions, saveCheckpoint, tryResume, type OptionChange,
  type Progress,
} from './checkpoint.js';
import { applyCustomL2, customL2NoDecay } from './custom-l2.js';
import { evaluate, imageShape, type EvalResult } from './evaluate.js';
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
  /** what the data is (source, split, limits), recorded in checkpoints so a resume on other data
   *  is refused; the CLI fills it in */
  data?: string;
  /** where checkpoints, deploy weights and metrics.json go (Node); none: nothing is written */
  outDir?: string;
  /** continue from outDir/checkpoint.safetensors when it exists */
  resume?: boolean;
  /** what the checkpoints and the deploy file record besides the architecture and the input
   *  size (models/metadata.ts): the class names and how images become inputs, when known */
  modelInfo?: { classNames?: readonly string[] | null; preprocessing?: Preprocessing | null };
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  test: EvalResult;
  seconds: number;
  imagesPerSecond: number;
  lr: number;
  /** bytes the backend held from the system at the end of the epoch (WASM memory never shrinks:
   *  the most the process held so far); absent in checkpoints written before it was recorded */
  memoryBytes?: number;
}

export interface TrainEvents {
  onStart?(info: { epochs: number; batchesPerEpoch: number; startEpoch: number; parameters: number }): void;
  onBatch?(info: { epoch: number; batch: number; batches: number; loss: number; accuracy: number; imagesPerSecond: number; lr: number; elapsed: number }): void;
  onEpoch?(record: EpochRecord): void;
  onCheckpoint?(path: string): void;
  /** a resume with changed options (learning rate, decay, ...): what changed, from which epoch */
  onOptionsChanged?(changes: OptionChange[]): void;
  onDeploy?(info: { test: EvalResult; deployTest: EvalResult }): void;
}

export interface TrainResult {
  epochs: number;
  history: EpochRecord[];
  testAccuracy: number;
  deployTestAccuracy: number;
  bestTestAccuracy: number;
  imagesPerSecond: number;
  /** the most bytes the backend held from the system in any process of the run (a resumed run's
   *  earlier processes included; WASM memory never shrinks, so each process's last reading is its
   *  most) */
  memoryBytes: number;
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

export async function train(backend: Backend, data: { train: BatchSource; test: BatchSource },
  opts: TrainOptions, events: TrainEvents = {}): Promise<TrainResult> {
  checkOptions(opts);
  checkData(opts, data);
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

async function runTraining(backend: Backend, data: { train: BatchSource; test: BatchSource }, opts: TrainOptions,
  events: TrainEvents, model: RepVGG, optimizer: Optimizer, started: number): Promise<TrainResult> {
  const batchesPerEpoch = data.train.batchesPerEpoch;
  const totalSteps = opts.epochs * batchesPerEpoch;
  const warmupSteps = Math.max(1, Math.round((opts.warmupEpochs ?? opts.epochs * 0.05) * batchesPerEpoch));
  const checkpointPath = opts.outDir ? pathIn(opts.outDir, CHECKPOINT_FILE) : null;

  let progress: Progress = { epoch: 0, steps: 0, history: [], options: runOptions(opts), changes: [] };
  if (opts.outDir) await removeLeftovers(opts.outDir);
  if (opts.resume && checkpointPath) {
    const restored = await tryResume(checkpointPath, model, optimizer, opts);
    if (restored) {
      progress = restored;
      const fresh = restored.changes.filter((c) => c.epoch === restored.epoch);
      if (fresh.length > 0) events.onOptionsChanged?.(fresh);
    }
  }
  events.onStart?.({ epochs: opts.epochs, batchesPerEpoch, startEpoch: progress.epoch, parameters: model.parameterCount() });

  const [c, h, w] = imageShape(data.train);
  // What every file of the run says about the model (checked here, before the first epoch).
  const meta: ModelMetadata = describeModel(opts.model, { inputSize: [h, w], ...opts.modelInfo });
  for (let epoch = progress.epoch; epoch < opts.epochs; epoch++) {
    model.train();
    const t0 = performance.now();
    let lossSum = 0, correct = 0, seen = 0, lr = 0;
    for (const batch of data.train.batches(epoch)) {
      lr = cosineWithWarmup(opts.lr, progress.steps, totalSteps, warmupSteps);
      const x = Tensor.from(backend, batch.x, [batch.size, c, h, w]);
      const logits = model.forward(x);
      const { loss, dlogits } = softmaxCrossEntropy(logits, batch.labels, { labelSmoothing: opts.labelSmoothing ?? 0 });
      correct += countCorrect(logits.data, batch.size, logits.shape[1], batch.labels);
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
    const test = evaluate(model, data.test);
    const record: EpochRecord = {
      epoch, trainLoss: lossSum / seen, trainAccuracy: correct / seen, test, seconds, imagesPerSecond: seen / seconds, lr,
      memoryBytes: backend.memoryBytes(),
    };
    progress.history.push(record);
    progress.epoch = epoch + 1;
    events.onEpoch?.(record);
    // A finite loss does not make a finite state: check every tensor before it is kept.
    checkFinite(model, optimizer, epoch, checkpointPath && epoch > 0 ? checkpointPath : null);
    if (checkpointPath) {
      await saveCheckpoint(checkpointPath, model, optimizer, progress, meta);
      events.onCheckpoint?.(checkpointPath);
    }
  }

  // The deploy form: converted, evaluated on the same test set; the counts must agree.
  // The training form was evaluated after the last epoch and has not changed since.
  const deployModel = repvggModelConvert(model);
  const test = progress.history.at(-1)?.test ?? evaluate(model, data.test);
  const deployTest = evaluate(deployModel, data.test);
  events.onDeploy?.({ test, deployTest });
  // Over every epoch of the run, including those of earlier processes when it was resumed.
  const trainSeconds = progress.history.reduce((a, r) => a + r.seconds, 0);
  const trainImages = progress.history.reduce((a, r) => a + r.imagesPerSecond * r.seconds, 0);
  const imagesPerSecond = trainSeconds > 0 ? trainImages / trainSeconds : 0;
  if (opts.outDir) {
    await writeFileAtomic(pathIn(opts.outDir, 'deploy.safetensors'), writeSafetensors(stateDict(deployModel), metadataEntries(meta)));
  }
  const result: TrainResult = {
    epochs: opts.epochs,
    history: progress.history,
    testAccuracy: test.top1,
    deployTestAccuracy: deployTest.top1,
    bestTestAccuracy: Math.max(0, ...progress.history.map((r) => r.test.top1)),
    imagesPerSecond,
    memoryBytes: Math.max(backend.memoryBytes(), ...progress.history.map((r) => r.memoryBytes ?? 0)),
    seconds: (performance.now() - started) / 1000,
    model,
    deployModel,
  };
  if (opts.outDir) {
    const metrics = {
      epochs: result.epochs, testAccuracy: result.testAccuracy, deployTestAccuracy: result.deployTestAccuracy,
      testCorrect: test.correct, deployTestCorrect: deployTest.correct, testCount: test.count,
      bestTestAccuracy: result.bestTestAccuracy, imagesPerSecond, memoryBytes: result.memoryBytes,
      seconds: result.seconds, history: progress.history, options: progress.options, optionChanges: progress.changes,
    };
    await writeFileAtomic(pathIn(opts.outDir, 'metrics.json'), new TextEncoder().encode(`${JSON.stringify(metrics, null, 2)}\n`));
  }
  optimizer.dispose();
  return result;
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

/** The model must take the images the loaders give (checked before anything is built). */
function checkData(o: TrainOptions, data: { train: BatchSource; test: BatchSource }): void {
  const inC = o.model.inChannels ?? 3;
  const [c, h, w] = imageShape(data.train);
  const [tc, th, tw] = imageShape(data.test);
  if (c !== inC) throw new RangeError(`train: the model takes ${inC} input channels but the training images have ${c}`);
  if (tc !== c || th !== h || tw !== w) {
    throw new RangeError(`train: training images are ${c}x${h}x${w} but test images ${tc}x${th}x${tw}`);
  }
}

