// repvgg bench [--arch A0] [--size 224] [--batch 1,8] [--threads 1,2] [--train]: images per second
// of the fused (deploy) model's forward and, with --train, of a training step, on each thread
// count, measured in one run and interleaved (1, 2, 2, 1, ...) so that the ratios between thread
// counts hold on a busy machine even when the absolute times do not. bench/threads.ts prints the
// project's rows through the same functions.
import { createBackend } from '../backends/create.js';
import type { Backend } from '../backend.js';
import { InferencePlan } from '../models/plan.js';
import { createRepVGG, REPVGG_VARIANTS, repvggModelConvert, type RepVGG } from '../models/repvgg.js';
import { softmaxCrossEntropy } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { Optimizer } from '../train/optimizer.js';
import { UsageError, archArg, formatHelp, getBool, getInt, getString, parseArgs, type CommandSpec } from './args.js';
import type { Io } from './io.js';

export const benchSpec: CommandSpec = {
  command: 'repvgg bench',
  summary: 'Times the fused (deploy) forward of an architecture (model.forward, and an InferencePlan: weights ' +
    'packed once, bias and ReLU fused) and, with --train, a training step, on ' +
    'each thread count given; the counts are measured in turn, call by call, so their ratios hold on a ' +
    'busy machine. Prints milliseconds per call (median), images per second and the ratio to the first count.',
  flags: [
    { name: 'arch', type: 'string', valueName: 'ARCH', description: `architecture: ${Object.keys(REPVGG_VARIANTS).join(', ')} (default A0)` },
    { name: 'size', type: 'int', min: 32, valueName: 'N', description: 'input height and width of the forward (default 224)' },
    { name: 'batch', type: 'string', valueName: 'N,N,...', description: 'batch sizes of the forward (default 1,8)' },
    { name: 'threads', type: 'string', valueName: 'N,N,...', description: 'thread counts (default 1 and the cores available)' },
    { name: 'train', type: 'boolean', description: 'also time a training step (SGD, BN in training mode)' },
    { name: 'train-size', type: 'int', min: 32, valueName: 'N', description: 'input size of the training step (default 32)' },
    { name: 'train-batch', type: 'int', min: 1, valueName: 'N', description: 'batch of the training step (default 128)' },
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: 'classes (default 1000, 10 for the training step)' },
    { name: 'samples', type: 'int', min: 1, valueName: 'N', description: 'timed calls per row and thread count (default 7)' },
  ],
  notes: ['Weights are random: the time does not depend on them. Set REPVGG_RELAXED_SIMD=0 for the plain SIMD build.'],
};

/** One thread count's figures for one row. */
export interface BenchCell { threads: number; reason: string | null; ms: number; spread: [number, number]; imagesPerSecond: number }
export interface BenchRow { label: string; batch: number; cells: BenchCell[] }

/** A timed call: what it runs, and the images it processes. */
interface Runner { run: () => void; dispose: () => void }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times each runner `samples` times, interleaved (A B B A ...), after one untimed warm-up call each. */
function interleaved(runners: Runner[], samples: number): number[][] {
  const times = runners.map(() => [] as number[]);
  for (const r of runners) r.run();
  for (let s = 0; s < samples; s++) {
    const order = runners.map((_, i) => i);
    if (s % 2 === 1) order.reverse();
    for (const i of order) {
      const t0 = performance.now();
      runners[i].run();
      times[i].push(performance.now() - t0);
    }
  }
  return times;
}

function cells(backends: Backend[], times: number[][], batch: number): BenchCell[] {
  return backends.map((b, i) => {
    const ms = median(times[i]);
    return { threads: b.threads, reason: b.threadsReason, ms, spread: [Math.min(...times[i]), Math.max(...times[i])],
      imagesPerSecond: (batch * 1000) / ms };
  });
}

function fill(t: Tensor, seed: number): Tensor {
  const d = t.data;
  let s = seed >>> 0;
  for (let i = 0; i < d.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; d[i] = s / 2 ** 31 - 1; }
  return t;
}

/** The fused forward of `arch` at `size` x `size`, batch `batch`, on each backend. */
export function benchInference(backends: Backend[], arch: string, size: number, batch: number, classes: number,
  samples: number): BenchRow {
  const runners = backends.map((b): Runner => {
    const model = repvggModelConvert(createRepVGG(b, arch, { numClasses: classes, seed: 1 }));
    model.eval();
    const x = fill(Tensor.zeros(b, [batch, 3, size, size]), 5);
    return {
      run: () => model.forward(x).dispose(),
      dispose: () => { x.dispose(); model.dispose(); },
    };
  });
  const times = interleaved(runners, samples);
  runners.forEach((r) => r.dispose());
  return { label: `${arch} fused forward ${size}x${size}`, batch, cells: cells(backends, times, batch) };
}

/** The same forward through an InferencePlan: weights packed once (Winograd-transformed where the
 *  layer runs Winograd), bias and ReLU fused into the convolutions, two activation buffers. */
export function benchPlanned(backends: Backend[], arch: string, size: number, batch: number, classes: number,
  samples: number): BenchRow {
  const runners = backends.map((b): Runner => {
    const model = createRepVGG(b, arch, { numClasses: classes, seed: 1 });
    model.eval();
    const plan = InferencePlan.create(model, { batch, inputSize: [size, size] });
    const x = fill(Tensor.zeros(b, [batch, 3, size, size]), 5);
    return {
      run: () => plan.run(x).dispose(),
      dispose: () => { x.dispose(); plan.dispose(); model.dispose(); },
    };
  });
  const times = interleaved(runners, samples);
  runners.forEach((r) => r.dispose());
  return { label: `${arch} planned fused forward ${size}x${size}`, batch, cells: cells(backends, times, batch) };
}

/** A training step (forward in training mode, loss, backward, Nesterov SGD, zeroed gradients) of
 *  `arch` at `size` x `size`, batch `batch`, on each backend. The learning rate is 0, so repeating
 *  the step on one batch cannot drift. */
export function benchTraining(backends: Backend[], arch: string, size: number, batch: number, classes: number,
  samples: number): BenchRow {
  const runners = backends.map((b): Runner => {
    const model: RepVGG = createRepVGG(b, arch, { numClasses: classes, seed: 2 });
    model.train();
    const opt = new Optimizer(model.namedParameters(), { kind: 'sgd', weightDecay: 1e-4, momentum: 0.9, nesterov: true });
    const x = fill(Tensor.zeros(b, [batch, 3, size, size]), 7);
    const labels = Int32Array.from({ length: batch }, (_, i) => (i * 7) % classes);
    return {
      run: () => {
        const logits = model.forward(x);
        const { dlogits } = softmaxCrossEntropy(logits, labels);
        logits.dispose();
        model.backward(dlogits)?.dispose();
        dlogits.dispose();
        opt.step(0);
        model.zeroGrad();
      },
      dispose: () => { x.dispose(); opt.dispose(); model.dispose(); },
    };
  });
  const times = interleaved(runners, samples);
  runners.forEach((r) => r.dispose());
  return { label: `${arch} training step ${size}x${size}`, batch, cells: cells(backends, times, batch) };
}

/** One backend per thread count (wasm-simd). */
export async function backendsFor(threads: number[]): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const t of threads) out.push(await createBackend('wasm-simd', { threads: t }));
  return out;
}

export function formatRow(r: BenchRow): string {
  const base = r.cells[0];
  const parts = r.cells.map((c) => `${c.threads} thread${c.threads > 1 ? 's' : ''} ${c.ms.toFixed(1)} ms ` +
    `(${c.spread[0].toFixed(1)}-${c.spread[1].toFixed(1)}), ${c.imagesPerSecond.toFixed(1)} img/s` +
    (c === base ? '' : `, x${(base.ms / c.ms).toFixed(2)}`));
  return `${r.label}, batch ${r.batch}: ${parts.join('; ')}`;
}

function intList(raw: string | undefined, flag: string, fallback: number[]): number[] {
  if (raw === undefined) return fallback;
  const xs = raw.split(',').map((v) => Number(v.trim()));
  if (xs.length === 0 || xs.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new UsageError(`--${flag} expects whole numbers >= 1 separated by commas, got "${raw}"`, benchSpec.command);
  }
  return xs;
}

export async function runBench(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, benchSpec);
  if (args.help) {
    io.out(formatHelp(benchSpec));
    return 0;
  }
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}"`, benchSpec.command);
  const arch = archArg(getString(args, 'arch') ?? 'A0', benchSpec.command);
  const { defaultThreads } = await import('../backends/wasm/index.js');
  const cores = await defaultThreads();
  const threads = intList(getString(args, 'threads'), 'threads', cores > 1 ? [1, cores] : [1]);
  const batches = intList(getString(args, 'batch'), 'batch', [1, 8]);
  const samples = getInt(args, 'samples') ?? 7;
  const backends = await backendsFor(threads);
  for (const b of backends) if (b.threadsReason) io.err(`note: ${b.threads} thread(s) run: ${b.threadsReason}`);
  const size = getInt(args, 'size') ?? 224;
  for (const n of batches) {
    io.out(formatRow(benchInference(backends, arch, size, n, getInt(args, 'classes') ?? 1000, samples)));
    io.out(formatRow(benchPlanned(backends, arch, size, n, getInt(args, 'classes') ?? 1000, samples)));
  }
  if (getBool(args, 'train')) {
    io.out(formatRow(benchTraining(backends, arch, getInt(args, 'train-size') ?? 32, getInt(args, 'train-batch') ?? 128,
      getInt(args, 'classes') ?? 10, samples)));
  }
  for (const b of backends) b.dispose();
  return 0;
}
