// repvgg train: trains an official variant (or a custom, smaller RepVGG) on mnist, CIFAR-10 or any
// .npy data, with a live progress bar on a terminal (a line every N steps otherwise), a checkpoint
// per epoch (resumable), and at the end the deploy form evaluated beside the training form.
import { createBackend } from '../backends/create.js';
import { BatchLoader } from '../data/loader.js';
import { SOURCE_FORMS, loadSource } from '../data/sources.js';
import { REPVGG_VARIANTS, type RepVGGConfig } from '../models/repvgg.js';
import { train, type EpochRecord, type TrainOptions } from '../train/train.js';
import { UsageError, archArg, formatHelp, getBool, getInt, getString, parseArgs, requireString, type CommandSpec } from './args.js';
import type { Io } from './io.js';

export const trainSpec: CommandSpec = {
  command: 'repvgg train',
  summary: 'Trains a RepVGG on the CPU (training form, BN in training mode), evaluates after every epoch, ' +
    'checkpoints every epoch (--resume continues a killed run exactly), then converts to the deploy form and ' +
    'evaluates both: the two accuracies must be equal.',
  flags: [
    { name: 'arch', type: 'string', valueName: 'ARCH', description: `official architecture (${Object.keys(REPVGG_VARIANTS).join(', ')}), or "custom" with --blocks and --widths` },
    { name: 'blocks', type: 'string', valueName: 'a,b,c,d', description: 'custom: blocks in stages 1-4, e.g. 1,2,2,1' },
    { name: 'widths', type: 'string', valueName: 'a,b,c,d', description: 'custom: width multipliers of stages 1-4, e.g. 0.5,0.5,0.5,1' },
    { name: 'groups', type: 'int', min: 1, valueName: 'G', description: 'custom: groups on blocks 2, 4, 6, ... (as the gN variants; default 1)' },
    { name: 'se', type: 'boolean', description: 'custom: SE blocks (as D2se)' },
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: 'number of classes (default: what the data holds)' },
    { name: 'data', type: 'string', valueName: 'SOURCE', description: `training data: ${SOURCE_FORMS}` },
    { name: 'limit', type: 'int', min: 1, valueName: 'N', description: 'use only the first N training images (quick runs)' },
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
    { name: 'no-augment', type: 'boolean', description: 'no random crop / flip (the data source chooses which suit it)' },
    { name: 'checkpointing', type: 'boolean', description: 'gradient checkpointing: recompute block internals in the backward (less memory)' },
    { name: 'seed', type: 'int', valueName: 'S', description: 'seed of the initialisation, shuffling and augmentation (default 0)' },
    { name: 'out', type: 'string', valueName: 'DIR', description: 'run folder: checkpoint, deploy weights, metrics.json (default runs/<arch>-<data>-seed<S>)' },
    { name: 'resume', type: 'boolean', description: 'continue from DIR/checkpoint.safetensors if it exists' },
    { name: 'log-every', type: 'int', min: 1, valueName: 'N', description: 'when not on a terminal: a progress line every N steps (default 50)' },
    { name: 'backend', type: 'string', valueName: 'auto|wasm-simd|reference', description: 'default auto' },
    { name: 'threads', type: 'int', min: 1, valueName: 'N', description: 'threads to compute on (default: the cores available; REPVGG_THREADS)' },
  ],
  notes: [
    'Examples:',
    '  repvgg train --arch custom --blocks 1,2,2,1 --widths 0.5,0.5,0.5,1 --data mnist --epochs 8 --out runs/mnist',
    '  repvgg train --arch A0 --data cifar10:./cifar-10-batches-bin --epochs 30 --batch-size 128 --out runs/cifar',
  ],
};

function floatFlag(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got "${value}"`, trainSpec.command);
  return n;
}

function listFlag(value: string, name: string, count: number, integer: boolean): number[] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))) {
    throw new UsageError(`--${name} expects ${count} comma-separated ${integer ? 'positive integers' : 'positive numbers'}, got "${value}"`, trainSpec.command);
  }
  return parts;
}

function modelConfig(args: ReturnType<typeof parseArgs>): { name: string; cfg: RepVGGConfig } {
  const arch = requireString(args, 'arch', trainSpec.command);
  if (arch.toLowerCase() === 'custom') {
    const blocks = getString(args, 'blocks');
    const widths = getString(args, 'widths');
    if (!blocks || !widths) throw new UsageError('--arch custom needs --blocks and --widths', trainSpec.command);
    const groups = getInt(args, 'groups') ?? 1;
    const map: Record<number, number> = {};
    if (groups > 1) for (let l = 2; l <= 26; l += 2) map[l] = groups;
    return {
      name: 'custom',
      cfg: {
        numBlocks: listFlag(blocks, 'blocks', 4, true) as RepVGGConfig['numBlocks'],
        widthMultiplier: listFlag(widths, 'widths', 4, false) as RepVGGConfig['widthMultiplier'],
        overrideGroupsMap: map, useSE: getBool(args, 'se'),
      },
    };
  }
  for (const f of ['blocks', 'widths', 'groups', 'se']) {
    if (args.flags[f] !== undefined) throw new UsageError(`--${f} only applies to --arch custom`, trainSpec.command);
  }
  const name = archArg(arch, trainSpec.command);
  return { name, cfg: { ...REPVGG_VARIANTS[name] } };
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
  const { name, cfg } = modelConfig(args);
  const dataSpec = requireString(args, 'data', trainSpec.command);
  const optimizer = (getString(args, 'optimizer') ?? 'sgd').toLowerCase();
  if (optimizer !== 'sgd' && optimizer !== 'adamw') throw new UsageError(`--optimizer must be sgd or adamw, got "${optimizer}"`, trainSpec.command);
  const seed = getInt(args, 'seed') ?? 0;
  const batchSize = getInt(args, 'batch-size') ?? 64;
  const epochs = getInt(args, 'epochs') ?? 10;
  const backendKind = (getString(args, 'backend') ?? 'auto') as 'auto' | 'wasm-simd' | 'reference';
  if (!['auto', 'wasm-simd', 'reference'].includes(backendKind)) throw new UsageError(`--backend must be auto, wasm-simd or reference, got "${backendKind}"`, trainSpec.command);

  const data = await loadSource(dataSpec, { limit: getInt(args, 'limit') });
  const classes = getInt(args, 'classes') ?? data.train.classes;
  if (classes < data.train.classes) {
    throw new UsageError(`--classes ${classes} is fewer than the ${data.train.classes} classes the data holds`, trainSpec.command);
  }
  const out = getString(args, 'out') ?? `runs/${name}-${dataSpec.split(':')[0]}-seed${seed}`;
  const opts: TrainOptions = {
    model: { ...cfg, numClasses: classes, inChannels: data.train.c },
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
    data: `${dataSpec}; limit ${getInt(args, 'limit') ?? 'none'}; augment ${getBool(args, 'no-augment') ? 'off' : 'default'}`,
    outDir: out,
    resume: getBool(args, 'resume'),
  };
  const backend = await createBackend(backendKind, { threads: getInt(args, 'threads') });
  // The last, smaller batch is dropped in training: a batch of one image would give BN a
  // single value per channel at the 1x1 last stage (PyTorch refuses that too).
  const trainLoader = new BatchLoader(data.train, { batchSize, shuffle: true, seed, dropLast: true, augment: getBool(args, 'no-augment') ? false : undefined });
  const testLoader = new BatchLoader(data.test, { batchSize: Math.max(batchSize, 128), shuffle: false, augment: false });
  if (trainLoader.batchesPerEpoch === 0) {
    throw new UsageError(`--batch-size ${batchSize} is larger than the ${data.train.n} training images`, trainSpec.command);
  }
  io.err(`data: ${data.description}`);
  io.err(`model: RepVGG ${name} (${classes} classes, ${data.train.c}x${data.train.h}x${data.train.w} input), backend ${backend.name} on ${backend.threads} thread${backend.threads > 1 ? 's' : ''}, run folder ${out}`);

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
