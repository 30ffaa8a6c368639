// repvgg train: trains an official variant (or a custom, smaller RepVGG) on mnist, CIFAR-10 or any
// .npy data, with a live progress bar on a terminal (a line every N steps otherwise), a checkpoint
// per epoch (resumable), and at the end the deploy form evaluated beside the training form.
import { createBackend } from '../backends/create.js';
import { SOURCE_FORMS } from '../data/sources.js';
import { loadTrainingData, type TrainingData } from '../data/training-data.js';
import { train, type EpochRecord, type TrainOptions } from '../train/train.js';
import { UsageError, formatHelp, getBool, getInt, getString, parseArgs, requireString, type CommandSpec } from './args.js';
import type { Io } from './io.js';
import { limitFlagSpecs, readLimitsOf } from './limit-flags.js';
import { THREADS_FLAG, archFlags, modelConfig } from './model-args.js';

export const trainSpec: CommandSpec = {
  command: 'repvgg train',
  summary: 'Trains a RepVGG on the CPU (training form, BN in training mode), evaluates after every epoch, ' +
    'checkpoints every epoch (--resume continues a killed run exactly), then converts to the deploy form and ' +
    'evaluates both: the two accuracies must be equal.',
  flags: [
    ...archFlags('official architecture'),
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: 'number of classes (default: what the data holds)' },
    { name: 'data', type: 'string', valueName: 'SOURCE', description: `training data: ${SOURCE_FORMS}` },
    { name: 'limit', type: 'int', min: 1, valueName: 'N', description: 'use only the first N training images (quick runs; folder data: N drawn with the seed)' },
    { name: 'size', type: 'int', min: 32, valueName: 'N', description: 'folder data: side of the square inputs (default 224)' },
    { name: 'epochs', type: 'int', min: 1, valueName: 'E', description: 'epochs (default 10)' },
    { name: 'batch-size', type: 'int', min: 2, valueName: 'B', description: 'images per step (default 64)' },
    { name: 'lr', type: 'string', valueName: 'X', description: 'peak learning rate (default 0.1 for sgd, 0.001 for adamw)' },
    { name: 'optimizer', type: 'string', valueName: 'sgd|adamw', description: 'default sgd (Nesterov momentum 0.9)' },
    { name: 'momentum', type: 'string', valueName: 'X', description: 'SGD momentum (default 0.9)' },
    { name: 'no-nesterov', type: 'boolean', description: 'plain momentum instead of Nesterov' },
    { name: 'weight-decay', type: 'string', valueName: 'X', description: 'default 1e-4 for sgd, 0.05 for adamw; none on biases and BN of the branches (official rule)' },
    { name: 'custom-l2', type: 'boolean', description: 'the official custom L2 on the equivalent kernel instead of decaying the branch kernels' },
    { name: 'label-smoothing', type: 'string', valueName: 'X', description: 'in [0, 1) (default 0)' },
    { name: 'warmup-epochs', type: 'string', valueName: 'X', description: 'linear warm-up before the cosine decay (default 5% of the run)' },
    { name: 'no-augment', type: 'boolean', description: 'no random crop / flip (the data source chooses which suit it; folder data: RandomResizedCrop + flip)' },
    { name: 'checkpointing', type: 'boolean', description: 'gradient checkpointing: recompute block internals in the backward (less memory)' },
    { name: 'seed', type: 'int', valueName: 'S', description: 'seed of the initialisation, shuffling and augmentation (default 0)' },
    { name: 'out', type: 'string', valueName: 'DIR', description: 'run folder: checkpoint, deploy weights, metrics.json (default runs/<arch>-<data>-seed<S>)' },
    { name: 'resume', type: 'boolean', description: 'continue from DIR/checkpoint.safetensors if it exists' },
    { name: 'log-every', type: 'int', min: 1, valueName: 'N', description: 'when not on a terminal: a progress line every N steps (default 50)' },
    { name: 'backend', type: 'string', valueName: 'auto|wasm-simd|reference', description: 'default auto' },
    THREADS_FLAG,
    ...limitFlagSpecs(['max-decompressed-bytes', 'max-image-pixels']),
  ],
  notes: [
    'Examples:',
    '  repvgg train --arch custom --blocks 2,2,2,1 --widths 1,1,1,1 --data mnist --epochs 20 --weight-decay 5e-4 --label-smoothing 0.1 --out runs/mnist',
    '  repvgg train --arch A0 --data cifar10:./cifar-10-batches-bin --epochs 30 --batch-size 128 --out runs/cifar',
    '  repvgg train --arch A0 --data folder:./flowers --size 96 --epochs 20 --batch-size 32 --out runs/flowers',
    'folder:<dir> holds one subfolder of PNG/JPEG images per class (or train/ and val/ with those inside; else a',
    'fifth of each class is held out, drawn with --seed); images are decoded as they are used, never all at once.',
    '--max-decompressed-bytes takes the suffixes K, M, G (powers of 1024), e.g. 1G for EMNIST\'s gzipped images (docs/SECURITY.md).',
  ],
};

function floatFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got "${value}"`, trainSpec.command);
  return n;
}

/** Progress on a terminal: one line rewritten in place. */
function bar(done: number, total: number, width = 24): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

function pct(x: number | null): string {
  return x === null ? '-' : `${(100 * x).toFixed(2)}%`;
}

export async function runTrain(argv: readonly string[], io: Io, tty = process.stderr.isTTY === true): Promise<number> {
  const args = parseArgs(argv, trainSpec);
  if (args.help) {
    io.out(formatHelp(trainSpec));
    return 0;
  }
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`, trainSpec.command);
  const { name, cfg } = modelConfig(args, trainSpec.command);
  const dataSpec = requireString(args, 'data', trainSpec.command);
  const optimizer = (getString(args, 'optimizer') ?? 'sgd').toLowerCase();
  if (optimizer !== 'sgd' && optimizer !== 'adamw') throw new UsageError(`--optimizer must be sgd or adamw, got "${optimizer}"`, trainSpec.command);
  const seed = getInt(args, 'seed') ?? 0;
  const batchSize = getInt(args, 'batch-size') ?? 64;
  const epochs = getInt(args, 'epochs') ?? 10;
  const backendKind = (getString(args, 'backend') ?? 'auto') as 'auto' | 'wasm-simd' | 'reference';
  if (!['auto', 'wasm-simd', 'reference'].includes(backendKind)) throw new UsageError(`--backend must be auto, wasm-simd or reference, got "${backendKind}"`, trainSpec.command);

  const size = getInt(args, 'size');
  const augment = !getBool(args, 'no-augment');
  const { maxDecompressedBytes, maxImagePixels } = readLimitsOf(args, trainSpec);
  let data: TrainingData;
  try {
    data = await loadTrainingData(dataSpec, { limit: getInt(args, 'limit'), augment, seed, imageSize: size, maxDecompressedBytes, maxImagePixels });
  } catch (e) {
    if (size !== undefined && /applies to folder data only/.test((e as Error).message)) throw new UsageError('--size applies to folder:<dir> data only', trainSpec.command);
    throw e;
  }
  const classes = getInt(args, 'classes') ?? data.classes;
  if (classes < data.classes) {
    throw new UsageError(`--classes ${classes} is fewer than the ${data.classes} classes the data holds`, trainSpec.command);
  }
  const [c, h, w] = data.imageShape;
  const out = getString(args, 'out') ?? `runs/${name}-${dataSpec.split(':')[0]}-seed${seed}`;
  const opts: TrainOptions = {
    model: { ...cfg, numClasses: classes, inChannels: c },
    epochs, batchSize, seed, optimizer,
    lr: floatFlag(getString(args, 'lr'), 'lr', optimizer === 'sgd' ? 0.1 : 1e-3),
    weightDecay: floatFlag(getString(args, 'weight-decay'), 'weight-decay', optimizer === 'sgd' ? 1e-4 : 0.05),
    momentum: floatFlag(getString(args, 'momentum'), 'momentum', 0.9),
    nesterov: !getBool(args, 'no-nesterov'),
    labelSmoothing: floatFlag(getString(args, 'label-smoothing'), 'label-smoothing', 0),
    warmupEpochs: getString(args, 'warmup-epochs') === undefined ? undefined : floatFlag(getString(args, 'warmup-epochs'), 'warmup-epochs', 0),
    customL2: getBool(args, 'custom-l2'),
    gradientCheckpointing: getBool(args, 'checkpointing'),
    // The data as given on the command line: a resume on other data (or another --limit) is refused.
    data: `${dataSpec}; limit ${getInt(args, 'limit') ?? 'none'}; augment ${augment ? 'default' : 'off'}` +
      (size !== undefined ? `; size ${size}` : ''),
    outDir: out,
    resume: getBool(args, 'resume'),
    // Recorded in the checkpoint and deploy file, so that predict needs nothing but the file.
    // Names only when they cover every class (--classes may ask for more than the data has).
    modelInfo: {
      classNames: data.classNames?.length === classes ? data.classNames : null,
      preprocessing: data.preprocessing,
    },
  };
  const backend = await createBackend(backendKind, { threads: getInt(args, 'threads') });
  // The last, smaller training batch is dropped: a batch of one image would give BN a single
  // value per channel at the 1x1 last stage (PyTorch refuses that too).
  const { train: trainLoader, test: testLoader } = data.loaders({ batchSize, seed, augment });
  if (trainLoader.batchesPerEpoch === 0) {
    throw new UsageError(`--batch-size ${batchSize} is larger than the ${data.trainCount} training images`, trainSpec.command);
  }
  io.err(`data: ${data.description}`);
  io.err(`model: RepVGG ${name} (${classes} classes, ${c}x${h}x${w} input), backend ${backend.name} on ${backend.threads} thread${backend.threads > 1 ? 's' : ''}, run folder ${out}`);

  const logEvery = getInt(args, 'log-every') ?? 50;
  let lastLine = 0;
  const result = await train(backend, { train: trainLoader, test: testLoader }, opts, {
    onStart: (s) => {
      io.err(`${s.parameters.toLocaleString('en-US')} parameters, ${s.batchesPerEpoch} steps per epoch` +
        (s.startEpoch > 0 ? `; resuming after epoch ${s.startEpoch}` : ''));
    },
    onBatch: (b) => {
      const left = (b.batches - b.batch - 1) * (b.elapsed / (b.batch + 1));
      const text = `epoch ${b.epoch + 1}/${epochs} ${bar(b.batch + 1, b.batches)} ${b.batch + 1}/${b.batches} ` +
        `loss ${b.loss.toFixed(4)} acc ${pct(b.accuracy)} ${b.imagesPerSecond.toFixed(0)} img/s lr ${b.lr.toPrecision(3)} ETA ${eta(left)}`;
      if (tty) {
        process.stderr.write(`\r${text}\x1b[K`);
      } else if (b.batch + 1 === b.batches || b.batch + 1 - lastLine >= logEvery) {
        lastLine = b.batch + 1 === b.batches ? 0 : b.batch + 1;
        io.err(text);
      }
    },
    onOptionsChanged: (changes) => {
      for (const c of changes) io.err(`resuming with ${c.option} ${JSON.stringify(c.now)} (was ${JSON.stringify(c.was)}); recorded in the checkpoint and metrics.json`);
    },
    onEpoch: (r: EpochRecord) => {
      if (tty) process.stderr.write('\n');
      io.err(`epoch ${r.epoch + 1}/${epochs}: train loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)} | ` +
        `test loss ${r.test.loss.toFixed(4)} top-1 ${pct(r.test.top1)}${r.test.top5 === null ? '' : ` top-5 ${pct(r.test.top5)}`} | ` +
        `${r.seconds.toFixed(1)} s, ${r.imagesPerSecond.toFixed(0)} img/s`);
    },
    onDeploy: ({ test, deployTest }) => {
      io.err(`deploy form: top-1 ${pct(deployTest.top1)} (${deployTest.correct}/${deployTest.count}); ` +
        `training form: ${pct(test.top1)} (${test.correct}/${test.count})` +
        (deployTest.correct === test.correct ? ' - equal' : ' - DIFFERENT'));
    },
  });
  backend.dispose();
  io.out([
    `done: ${result.epochs} epochs in ${result.seconds.toFixed(1)} s`,
    `  test accuracy ${pct(result.testAccuracy)} (best ${pct(result.bestTestAccuracy)}), deploy ${pct(result.deployTestAccuracy)}`,
    `  training speed ${result.imagesPerSecond.toFixed(0)} images/s, backend memory ${(result.memoryBytes / 2 ** 20).toFixed(1)} MiB`,
    `  ${out}/checkpoint.safetensors, ${out}/deploy.safetensors, ${out}/metrics.json`,
  ].join('\n'));
  return result.testAccuracy === result.deployTestAccuracy ? 0 : 1;
}
