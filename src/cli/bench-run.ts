// What `repvgg bench` measures: a model's forward in up to three forms, per batch size and
// convolution algorithm, on the wasm-simd backend:
//   multi   the multi-branch (training-form) network in eval mode: RepVGG.forward
//   fused   the planned deploy model: InferencePlan (packed weights, conv + bias + ReLU in one
//           pass, two activation buffers), the fastest path this library has
//   deploy  the converted deploy model's own forward (repvggModelConvert, unplanned)
//
// Timing: the forms of one (batch, algorithm) group are timed interleaved, one sample per form
// per round (the order reversed every other round), so a ratio between forms is taken from
// samples seconds apart on a machine whose speed drifts; "vs fused" is the median of the
// per-round ratios. A sample is the mean of as many calls as last about TARGET_SAMPLE_MS (one
// call for anything slower; fewer when the time budget is smaller), after a warm-up of at least one call and `warmupMs` per form (V8
// compiles WebAssembly in tiers: the first calls can run unoptimized code).
//
// Memory: one untimed call per form between the warm-up and the timing, inside the allocator's
// resettable high-water mark: the peak of live bytes above what was live before the call (the
// weights and the input) is what the forward itself holds at once: activations plus conv scratch.
// The plan allocates its two activation buffers when it is made, so for it they are added back
// (and reported on their own as plannedActivationBytes).
import { outSize, type ConvAlgorithm, type Conv2dShape } from '../backend.js';
import type { WasmBackend } from '../backends/wasm/index.js';
import { InferencePlan } from '../models/plan.js';
import { repvggModelConvert, type RepVGG } from '../models/repvgg.js';
import { summarize } from '../models/summary.js';
import { conv2dAlgorithm, conv2dSupports } from '../ops/index.js';
import { Tensor } from '../tensor.js';

export const FORMS = ['multi', 'fused', 'deploy'] as const;
export type BenchForm = typeof FORMS[number];
export const ALGORITHMS = ['auto', 'direct', 'winograd2', 'winograd4'] as const;
export type AlgorithmChoice = typeof ALGORITHMS[number];

/** Samples shorter than this are made of several calls (the timer's resolution and call jitter). */
const TARGET_SAMPLE_MS = 25;
/** Rounds timed at least, whatever the time budget says (a median of fewer means little). */
export const MIN_ROUNDS = 5;
const MAX_ROUNDS = 500;

export interface BenchOptions {
  size: number;
  batches: number[];
  forms: BenchForm[];
  algorithms: AlgorithmChoice[];
  /** timed rounds per (batch, algorithm); undefined: as many as fit in timeMs, at least MIN_ROUNDS */
  repeat?: number;
  /** time budget of the timed rounds of one (batch, algorithm), ms */
  timeMs: number;
  /** warm-up per form and group, ms (at least one call is made) */
  warmupMs: number;
}

export interface BenchRow {
  batch: number;
  form: BenchForm;
  /** as asked ('auto' follows conv2dAlgorithm's rule) */
  algorithm: AlgorithmChoice;
  /** how many of the network's 3x3 convolutions ran on each algorithm (the multi-branch form's
   *  1x1 convolutions always run direct and are not counted) */
  convAlgorithms: Partial<Record<ConvAlgorithm, number>>;
  /** ms per call (the whole batch): median, min, max, quartiles over the samples */
  msMedian: number; msMin: number; msMax: number; msP25: number; msP75: number;
  samples: number;
  callsPerSample: number;
  imagesPerSecond: number;
  /** multiply-accumulates per call, as summarize() counts them for this form */
  macs: number;
  /** 2 * macs / time; with Winograd an effective figure (the direct convolution's count) */
  gflops: number;
  /** peak live bytes of one forward above its weights and input (fused: with the plan's buffers) */
  activationBytes: number;
  /** fused: the plan's two activation buffers (included in activationBytes); else null */
  plannedActivationBytes: number | null;
  /** bytes of this form's weights: parameters and BN statistics (summarize()'s weightBytes), or for
   *  the plan its packed weights and biases plus the classifier it reads from the model */
  weightBytes: number;
  /** this form's time over the fused form's, median of per-round ratios; null without a fused row */
  vsFused: number | null;
  /** ||logits - first form's logits|| / ||first form's logits|| on the same input (0 for the first) */
  logitsRelErr: number;
}

export interface BenchModels {
  /** the multi-branch model (needed for 'multi'; the others are made from it when given) */
  multi: RepVGG | null;
  /** a deploy-form model (a deploy checkpoint), used when there is no multi-branch one */
  deploy: RepVGG | null;
}

interface Runner {
  form: BenchForm;
  run: () => Tensor;
  planned: number | null;
  weightBytes: number;
  dispose: () => void;
}

const quantile = (sorted: number[], q: number): number => {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
};
const median = (v: number[]): number => quantile([...v].sort((a, b) => a - b), 0.5);

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { const d = a[i] - b[i]; num += d * d; den += b[i] * b[i]; }
  const e = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  return Number.isNaN(e) ? Infinity : e;
}

/** Uniform values in [-1, 1) from a fixed seed: the same input for every form and run. */
function inputTensor(backend: WasmBackend, shape: number[], seed: number): Tensor {
  const t = Tensor.zeros(backend, shape);
  const a = t.data;
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 31 - 1; }
  return t;
}

/** The algorithm each 3x3 convolution of the network runs for `choice`, counted. */
export function convAlgorithms(model: RepVGG, size: number, batch: number, choice: AlgorithmChoice): Partial<Record<ConvAlgorithm, number>> {
  const counts: Partial<Record<ConvAlgorithm, number>> = {};
  let h = size;
  for (const b of model.blocks) {
    const { inChannels: c, outChannels: k, stride, groups } = b.cfg;
    const oh = outSize(h, 3, stride, 1);
    const s: Conv2dShape = { n: batch, c, h, w: h, k, kh: 3, kw: 3, sh: stride, sw: stride, ph: 1, pw: 1, groups, oh, ow: oh };
    const a = choice === 'auto' ? conv2dAlgorithm(s) : conv2dSupports(s, choice) ? choice : 'direct';
    counts[a] = (counts[a] ?? 0) + 1;
    h = oh;
  }
  return counts;
}

function timeCalls(run: () => Tensor, calls: number): number {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) run().dispose();
  return (performance.now() - t0) / calls;
}

/** Measures every (batch, algorithm, form); `onRow` gets each row as soon as its group is done. */
export function runBench(backend: WasmBackend, models: BenchModels, opts: BenchOptions, onRow: (row: BenchRow) => void): BenchRow[] {
  const source = models.multi ?? models.deploy;
  if (!source) throw new Error('runBench: no model');
  if (opts.forms.includes('multi') && !models.multi) throw new Error('runBench: the multi-branch form needs a multi-branch model');
  let deploy = models.deploy;
  let converted = false;
  if (opts.forms.includes('deploy') && !deploy) {
    deploy = repvggModelConvert(models.multi!).eval();
    converted = true;
  }
  const rows: BenchRow[] = [];
  try {
    for (const n of opts.batches) {
      const macs = summarize(source, { inputSize: [opts.size, opts.size], batch: n }).totals.macs;
      const x = inputTensor(backend, [n, source.config.inChannels, opts.size, opts.size], 1000 + n);
      try {
        for (const algorithm of opts.algorithms) {
          const group = measureGroup(backend, { multi: models.multi, deploy }, source, x, algorithm, opts);
          for (const g of group) {
            const row: BenchRow = {
              ...g, batch: n, algorithm, convAlgorithms: convAlgorithms(source, opts.size, n, algorithm),
              imagesPerSecond: n / g.msMedian * 1000,
              macs: g.form === 'multi' ? macs.train : macs.deploy,
              gflops: 2 * (g.form === 'multi' ? macs.train : macs.deploy) / g.msMedian / 1e6,
            };
            rows.push(row);
            onRow(row);
          }
        }
      } finally {
        x.dispose();
      }
    }
  } finally {
    if (converted) deploy!.dispose();
  }
  return rows;
}

type GroupRow = Omit<BenchRow, 'batch' | 'algorithm' | 'convAlgorithms' | 'imagesPerSecond' | 'macs' | 'gflops'>;

function makeRunners(models: BenchModels, source: RepVGG, x: Tensor, algorithm: AlgorithmChoice, opts: BenchOptions): Runner[] {
  const runners: Runner[] = [];
  try {
    for (const form of opts.forms) {
      if (form === 'fused') {
        const plan = InferencePlan.create(source, { batch: x.shape[0], inputSize: [opts.size, opts.size], convAlgorithm: algorithm });
        const head = 4 * (source.linear.weight.value.size + source.linear.bias.value.size);
        runners.push({ form, run: () => plan.run(x), planned: plan.activationBytes, weightBytes: plan.weightBytes + head, dispose: () => plan.dispose() });
      } else {
        const model = form === 'multi' ? models.multi! : models.deploy!;
        model.convAlgorithm = algorithm;
        // Parameters and BN running statistics, as summarize() counts them for this form.
        const bytes = summarize(source, { inputSize: [opts.size, opts.size] }).totals.weightBytes;
        runners.push({ form, run: () => model.forward(x), planned: null, weightBytes: form === 'multi' ? bytes.train : bytes.deploy, dispose: () => {} });
      }
    }
  } catch (e) {
    for (const r of runners) r.dispose();
    throw e;
  }
  return runners;
}

function measureGroup(backend: WasmBackend, models: BenchModels, source: RepVGG, x: Tensor, algorithm: AlgorithmChoice,
  opts: BenchOptions): GroupRow[] {
  const runners = makeRunners(models, source, x, algorithm, opts);
  try {
    // Warm-up, then the memory call (whose time sets the calls per sample), then the logits check.
    const perCall: number[] = [];
    const activation: number[] = [];
    const logits: Float32Array[] = [];
    for (const r of runners) {
      const w0 = performance.now();
      do r.run().dispose(); while (performance.now() - w0 < opts.warmupMs);
      const held = r.planned ?? 0;
      backend.resetPeakLiveBytes();
      const base = backend.liveBytes() - held;
      const t0 = performance.now();
      const y = r.run();
      perCall.push(performance.now() - t0);
      activation.push(backend.peakLiveBytes() - base);
      logits.push(y.toFloat32Array());
      y.dispose();
    }
    // Samples of several calls where calls are short, but never more than the time budget allows
    // for the rounds it must hold (--time 0: single calls).
    const target = Math.min(TARGET_SAMPLE_MS, opts.timeMs / ((opts.repeat ?? MIN_ROUNDS) * runners.length));
    const calls = perCall.map((t) => Math.min(1000, Math.max(1, Math.floor(target / Math.max(t, 1e-3)))));
    const samples: number[][] = runners.map(() => []);
    const fused = runners.findIndex((r) => r.form === 'fused');
    const ratios: number[][] = runners.map(() => []);
    const started = performance.now();
    for (let round = 0; ; round++) {
      const done = opts.repeat !== undefined
        ? round >= opts.repeat
        : round >= MIN_ROUNDS && (performance.now() - started >= opts.timeMs || round >= MAX_ROUNDS);
      if (done) break;
      const order = runners.map((_, i) => i);
      if (round % 2 === 1) order.reverse();
      const t: number[] = [];
      for (const i of order) t[i] = timeCalls(runners[i].run, calls[i]);
      runners.forEach((_, i) => { samples[i].push(t[i]); if (fused >= 0) ratios[i].push(t[i] / t[fused]); });
    }
    return runners.map((r, i) => {
      const s = [...samples[i]].sort((a, b) => a - b);
      return {
        form: r.form,
        msMedian: quantile(s, 0.5), msMin: s[0], msMax: s[s.length - 1], msP25: quantile(s, 0.25), msP75: quantile(s, 0.75),
        samples: s.length, callsPerSample: calls[i],
        activationBytes: activation[i], plannedActivationBytes: r.planned, weightBytes: r.weightBytes,
        vsFused: fused >= 0 ? median(ratios[i]) : null,
        logitsRelErr: i === 0 ? 0 : relErr(logits[i], logits[0]),
      };
    });
  } finally {
    for (const r of runners) r.dispose();
  }
}
