// Model level: RepVGG-A0 and B0 (1000 classes) at 224x224 in eval mode, the multi-branch network
// against its fused form, over batch sizes. The fused form is the planned deploy model
// (InferencePlan: weights fused and packed once, Winograd where conv2dAlgorithm's rule says,
// conv + bias + ReLU in one pass, two activation buffers): the fastest way this library runs a
// deploy model, so the ratio is what re-parameterization buys a user who deploys with it. Both
// forms use the default convolution algorithm ('auto'); bench/algorithms.ts compares algorithms.
// Each (model, batch) row gets a fresh backend holding both forms, so no row inherits another's
// memory; the memory each form needs is computed before anything is built (src/models/summary.ts,
// the plan's packed weights and buffers, the conv scratch), and a form that cannot fit in the
// 4 GiB wasm32 addresses is reported as such instead of being tried.
import { CONV_ALGORITHM_CODE, outSize, type Conv2dShape } from '../src/backend.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { WasmOutOfMemoryError } from '../src/backends/wasm/allocator.js';
import { InferencePlan } from '../src/models/plan.js';
import { createRepVGG, planBlocks, REPVGG_VARIANTS, type RepVGG } from '../src/models/repvgg.js';
import { conv2dAlgorithm } from '../src/ops/index.js';
import { summarize } from '../src/models/summary.js';
import { Tensor } from '../src/tensor.js';
import { GiB, PeakTracker, WASM32_MAX_BYTES, allocatedBy, gib, mib } from './memory.js';
import type { CompareRow, FormResult, Section } from './rows.js';
import { randomTensor, randomizeBatchNorms, relErr, wasmBackend } from './setup.js';
import { timePair, type PairOptions } from './timing.js';

export interface ModelBenchOptions {
  archs: string[];
  /** the batch sizes of each architecture */
  batches: (arch: string) => number[];
  /** manual samples per form at each batch (batch 1 uses Benchmark.js when fast enough) */
  samples: (batch: number) => number;
  /** whether the untimed first call of each form is made at this batch */
  warmup: (batch: number) => boolean;
  timing: PairOptions;
  log: (line: string) => void;
}

const SIZE = 224;
const CLASSES = 1000;

/** Every 3x3 conv of the network at this batch (the 1x1 branches have the same shapes with a 1x1 kernel). */
function convShapes(arch: string, batch: number): Conv2dShape[] {
  let h = SIZE;
  return planBlocks({ ...REPVGG_VARIANTS[arch], numClasses: CLASSES }).map((p) => {
    const oh = outSize(h, 3, p.stride, 1);
    const s: Conv2dShape = { n: batch, c: p.inChannels, h, w: h, k: p.outChannels, kh: 3, kw: 3, sh: p.stride, sw: p.stride,
      ph: 1, pw: 1, groups: p.groups, oh, ow: oh };
    h = oh;
    return s;
  });
}

const args = (s: Conv2dShape) => [s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow];

/** Largest scratch (bytes) any conv of the multi-branch forward asks for (algorithm 'auto'): the
 *  weights packed for the call (Winograd-transformed where the rule says) and the GEMM panels. */
export function convScratchBytes(wasm: WasmBackend, arch: string, batch: number): number {
  let max = 0;
  for (const s of convShapes(arch, batch)) {
    const one: Conv2dShape = { ...s, kh: 1, kw: 1, ph: 0, pw: 0 };
    for (const c of [s, one]) max = Math.max(max, wasm.kernels.conv2d_workspace(...args(c), CONV_ALGORITHM_CODE[conv2dAlgorithm(c)], wasm.threads));
  }
  return max;
}

/** What an InferencePlan of the network holds (bytes): packed weights and biases, its two
 *  activation buffers, and the largest scratch one of its convs asks for. */
export function planBytes(wasm: WasmBackend, arch: string, batch: number): { weights: number; buffers: number; scratch: number } {
  let weights = 0, largest = 0, scratch = 0;
  for (const s of convShapes(arch, batch)) {
    const code = CONV_ALGORITHM_CODE[conv2dAlgorithm(s)];
    weights += wasm.kernels.conv2d_packed_bytes(s.k, s.c, s.groups, 3, 3, code) + 4 * s.k;
    largest = Math.max(largest, s.k * s.oh * s.ow);
    scratch = Math.max(scratch, wasm.kernels.conv2d_packed_workspace(...args(s), code));
  }
  return { weights, buffers: 2 * 4 * batch * largest, scratch };
}

export interface MemoryNeed { multi: number; fused: number; both: number }

/**
 * Bytes each form needs in eval mode at this batch. Multi-branch: weights + activation peak (input
 * included, summarize()) + conv scratch. Fused: a deploy model (its weights; the plan reads its
 * classifier) + the plan (packed weights, two buffers, scratch) + the input. Both, as this bench
 * runs them: the multi-branch model, the plan made from it, and the larger of the two forwards.
 */
export function memoryNeed(wasm: WasmBackend, arch: string, batch: number): MemoryNeed {
  const s = summarize({ ...REPVGG_VARIANTS[arch], numClasses: CLASSES }, { inputSize: [SIZE, SIZE], batch });
  const a = s.totals.activationBytes.inferencePeak;
  const w = s.totals.weightBytes;
  const plan = planBytes(wasm, arch, batch);
  const input = 4 * batch * 3 * SIZE * SIZE;
  const multiRun = a.train + convScratchBytes(wasm, arch, batch);
  const fusedRun = input + plan.scratch;
  return {
    multi: w.train + multiRun,
    fused: w.deploy + plan.weights + plan.buffers + fusedRun,
    both: w.train + plan.weights + plan.buffers + Math.max(multiRun, fusedRun),
  };
}

/** The largest batch (power of two) whose need fits in wasm32's 4 GiB, per form. */
export function largestBatch(wasm: WasmBackend, arch: string): { multi: number; fused: number } {
  const out = { multi: 0, fused: 0 };
  for (let n = 1; n <= 4096; n *= 2) {
    const need = memoryNeed(wasm, arch, n);
    if (need.multi <= WASM32_MAX_BYTES) out.multi = n;
    if (need.fused <= WASM32_MAX_BYTES) out.fused = n;
  }
  return out;
}

function doesNotFit(need: number): string {
  return `does not fit: needs ${gib(need)} GiB of the 4 GiB wasm32 can address`;
}

export async function runModelBench(opts: ModelBenchOptions): Promise<Section[]> {
  const sections: Section[] = [];
  const scratchProbe = await wasmBackend();
  for (const arch of opts.archs) {
    const cfg = { ...REPVGG_VARIANTS[arch], numClasses: CLASSES };
    const s1 = summarize(cfg, { inputSize: [SIZE, SIZE], batch: 1 });
    const rows: CompareRow[] = [];
    const weightBytes = { multi: 0, fused: 0 };
    for (const n of opts.batches(arch)) {
      const wasm = await wasmBackend();
      const need = memoryNeed(wasm, arch, n);
      const macs = { multi: s1.totals.macs.train * n, fused: s1.totals.macs.deploy * n };
      const form = (which: 'multi' | 'fused', skipped?: string): FormResult =>
        ({ time: null, macs: macs[which], flops: 2 * macs[which], activationBytes: 0, skipped });
      const fitMulti = need.multi <= WASM32_MAX_BYTES;
      const fitFused = need.fused <= WASM32_MAX_BYTES;
      if (!fitMulti || !fitFused || need.both > WASM32_MAX_BYTES) {
        const row: CompareRow = {
          batch: n, ratio: null, method: '-',
          multi: form('multi', fitMulti ? (need.both > WASM32_MAX_BYTES ? `fits alone (${gib(need.multi)} GiB), not beside the fused copy` : undefined) : doesNotFit(need.multi)),
          fused: form('fused', fitFused ? undefined : doesNotFit(need.fused)),
        };
        rows.push(row);
        opts.log(`RepVGG-${arch} batch ${n}: multi-branch ${row.multi.skipped ?? 'fits'}; fused ${row.fused.skipped ?? 'fits'} (not run)`);
        continue;
      }
      opts.log(`RepVGG-${arch} batch ${n}: needs ${gib(need.multi)} GiB multi-branch, ${gib(need.fused)} GiB fused ` +
        `(computed); ${(2 * macs.fused / 1e9).toFixed(0)} GFLOP per fused forward`);
      try {
        rows.push(runRow(wasm, arch, n, macs, weightBytes, opts));
      } catch (e) {
        if (!(e instanceof WasmOutOfMemoryError)) throw e;
        opts.log(`  out of memory: ${e.message}`);
        rows.push({ batch: n, ratio: null, method: '-', multi: form('multi', `ran out of memory (${e.message})`), fused: form('fused', 'not run') });
      }
    }
    const t = s1.totals;
    sections.push({
      id: arch, title: `RepVGG-${arch}, 224x224, ${CLASSES} classes`, rows, formNames: ['multi', 'fused'], weightBytes,
      description: `Eval mode, whole network (stage0 to linear). ${(t.macs.train / 1e9).toFixed(2)} GMACs per image multi-branch ` +
        `(3x3 + 1x1 convs), ${(t.macs.deploy / 1e9).toFixed(2)} fused; ${(t.params.train / 1e6).toFixed(2)} M / ` +
        `${(t.params.deploy / 1e6).toFixed(2)} M parameters. Fused = the planned deploy model, InferencePlan.create(multi, ` +
        '{ batch, inputSize }): BN folded, weights packed once (Winograd-transformed for the 3x3 stride-1 convs, as ' +
        'conv2dAlgorithm says), conv + bias + ReLU in one pass, two activation buffers; logits checked equal within 1e-4. ' +
        'Both forms run the default algorithm (auto). The fused "act MiB" includes the plan\'s two buffers. At batch 1 the ' +
        `multi-branch peak is set by the largest conv scratch (${mib(convScratchBytes(scratchProbe, arch, 1))} MiB, mostly ` +
        'a wide layer\'s weights packed for the call), which the plan packed once beforehand; from batch 8 on the block outputs dominate.',
      chartLabels: ['multi-branch', 'fused (planned)'],
    });
  }
  return sections;
}

/** The first `blocks` blocks of the network, in eval mode, outputs discarded. */
function runPrefix(m: RepVGG, x: Tensor, blocks: number): void {
  let cur = x;
  for (const block of m.blocks.slice(0, blocks)) {
    const y = block.forward(cur);
    if (cur !== x) cur.dispose();
    cur = y;
  }
  if (cur !== x) cur.dispose();
}

function runRow(wasm: WasmBackend, arch: string, n: number, macs: { multi: number; fused: number },
  weightBytes: { multi: number; fused: number }, opts: ModelBenchOptions): CompareRow {
  const multiBuilt = allocatedBy(wasm, () => {
    const m = createRepVGG(wasm, arch, { numClasses: CLASSES, seed: 1 });
    randomizeBatchNorms(m, 5);
    return m.eval();
  });
  // Without the untimed full call (batch 128 in the default run), the plan's first timed call
  // would be the first to write its buffers, paying the OS for every fresh page (~0.6 GiB for A0):
  // the memory the plan is about to take is written once first, and handed back.
  if (!opts.warmup(n)) {
    const need = planBytes(wasm, arch, n);
    const touch = Tensor.zeros(wasm, [Math.ceil((need.weights + need.buffers) / 4)]);
    touch.data.fill(0);
    touch.dispose();
  }
  // The plan fuses the multi-branch model's blocks itself (getEquivalentKernelBias) and reads its
  // classifier: its weights are the packed kernels and biases it allocates, plus that classifier.
  const planBuilt = allocatedBy(wasm, () => InferencePlan.create(multiBuilt.value, { batch: n, inputSize: [SIZE, SIZE] }));
  const plan = planBuilt.value;
  const head = 4 * (multiBuilt.value.linear.weight.value.size + multiBuilt.value.linear.bias.value.size);
  weightBytes.multi = multiBuilt.bytes;
  weightBytes.fused = planBuilt.bytes - plan.activationBytes + head;
  const x = randomTensor(wasm, [n, 3, SIZE, SIZE], 100 + n);
  const outs: Record<'multi' | 'fused', Float32Array | null> = { multi: null, fused: null };
  const run = (forward: () => Tensor, which: 'multi' | 'fused') => () => {
    const y = forward();
    outs[which] = y.toFloat32Array();
    y.dispose();
  };
  // Likewise the multi-branch form must not pay for mapping fresh memory inside the timed call:
  // stage0 and stage1 (the largest activations, ~11% of the MACs) run once first, which maps the
  // memory the timed calls then reuse. (The plan's memory was written above.)
  if (!opts.warmup(n)) runPrefix(multiBuilt.value, x, 1 + REPVGG_VARIANTS[arch].numBlocks[0]);
  const tm = new PeakTracker(wasm);
  const tf = new PeakTracker(wasm, plan.activationBytes);
  const t = timePair(`${arch} n=${n}`, tm.wrap(run(() => multiBuilt.value.forward(x), 'multi')), tf.wrap(run(() => plan.run(x), 'fused')),
    { ...opts.timing, manualSamples: opts.samples(n), skipWarmup: !opts.warmup(n) });
  const err = relErr(outs.fused!, outs.multi!);
  if (!(err <= 1e-4)) throw new Error(`RepVGG-${arch} batch ${n}: fused vs multi-branch logits differ by ${err.toExponential(2)}`);
  x.dispose();
  plan.dispose();
  multiBuilt.value.dispose();
  opts.log(`  multi ${t.a.median.toFixed(0)} ms, fused (planned) ${t.b.median.toFixed(0)} ms, x${t.ratio.toFixed(2)}; ` +
    `activations ${mib(tm.peak)} / ${mib(tf.peak)} MiB (the plan's two buffers ${mib(plan.activationBytes)}); wasm memory ${(wasm.memoryBytes() / GiB).toFixed(2)} GiB (${t.method}, ` +
    `${t.a.samples.length} samples)`);
  return {
    batch: n, ratio: t.ratio, method: t.method, mappedBytes: wasm.memoryBytes(),
    multi: { time: t.a, macs: macs.multi, flops: 2 * macs.multi, activationBytes: tm.peak },
    fused: { time: t.b, macs: macs.fused, flops: 2 * macs.fused, activationBytes: tf.peak, plannedBytes: plan.activationBytes },
  };
}
