// Threads: the rows of issue 11, measured in one run with the thread counts interleaved call by
// call: the fused RepVGG-A0 forward at 224x224, batch 1 and 8 (model.forward,
// which packs each layer's weights on every call, and an InferencePlan, which packed them once), and the A0
// training step at 32x32, batch 128, on 1 and 2 threads (or --threads 1,2,4). Beside them, two
// controls, before and after the rows: the same loop on 1 and on N worker threads, i.e. the
// speed-up the machine itself offers right now (other processes take cores from us on a shared
// machine): scalar arithmetic, and the f32x4 multiply-add peak loop of bench/assembly/peak.ts
// (lower where two virtual cores share one core's SIMD units). And, for machines with more
// cores, the work items each A0 layer splits into at batch 1.
//
//   node dist/bench/threads.js [--threads 1,2] [--samples N] [--quick] [--switch]   (batch 1 rows: 3 N samples)
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import type { Backend } from '../src/backend.js';
import { createBackend } from '../src/backends/create.js';
import { InferencePlan } from '../src/models/plan.js';
import { createRepVGG, planBlocks, REPVGG_VARIANTS, repvggModelConvert, type RepVGG } from '../src/models/repvgg.js';
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { Optimizer } from '../src/train/optimizer.js';
import { randomTensor } from './setup.js';
import { median } from './stats.js';
import { conv2dAlgorithm } from '../src/ops/conv2d.js';
import { CONV_ALGORITHM_CODE, outSize } from '../src/backend.js';

/** One thread count's figures for one row. */
interface BenchCell {
  threads: number; reason: string | null; ms: number; spread: [number, number]; imagesPerSecond: number;
  /** the median over rounds of (first backend's time / this one's) in the same round: adjacent
   *  calls, so a slow drift of the shared machine cancels out of each ratio */
  roundRatio: number;
}
interface BenchRow { label: string; batch: number; cells: BenchCell[] }

/** A timed call: what it runs, and the images it processes. */
interface Runner { run: () => void; dispose: () => void }

/** Times each runner `samples` times, interleaved (A B B A ...), after one untimed warm-up call
 *  each. With `settle`, each timed call follows an untimed call of the same runner: the steady
 *  state of one thread count, as in a process that uses one backend (switching backends every
 *  call leaves a 2-thread backend's worker idle through the 1-thread call, and on this virtual
 *  machine an idle vCPU is slow to come back). */
function interleaved(runners: Runner[], samples: number, settle = SETTLE): number[][] {
  const times = runners.map(() => [] as number[]);
  for (const r of runners) r.run();
  for (let s = 0; s < samples; s++) {
    const order = runners.map((_, i) => i);
    if (s % 2 === 1) order.reverse();
    for (const i of order) {
      if (settle) runners[i].run();
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
      imagesPerSecond: (batch * 1000) / ms, roundRatio: median(times[i].map((t, s) => times[0][s] / t)) };
  });
}

/** The fused forward of `arch` at `size` x `size`, batch `batch`, on each backend. */
function benchInference(backends: Backend[], arch: string, size: number, batch: number, classes: number,
  samples: number): BenchRow {
  const runners = backends.map((b): Runner => {
    const model = repvggModelConvert(createRepVGG(b, arch, { numClasses: classes, seed: 1 }));
    model.eval();
    const x = randomTensor(b as WasmBackend, [batch, 3, size, size], 5);
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
function benchPlanned(backends: Backend[], arch: string, size: number, batch: number, classes: number,
  samples: number): BenchRow {
  const runners = backends.map((b): Runner => {
    const model = createRepVGG(b, arch, { numClasses: classes, seed: 1 });
    model.eval();
    const plan = InferencePlan.create(model, { batch, inputSize: [size, size] });
    const x = randomTensor(b as WasmBackend, [batch, 3, size, size], 5);
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
function benchTraining(backends: Backend[], arch: string, size: number, batch: number, classes: number,
  samples: number): BenchRow {
  const runners = backends.map((b): Runner => {
    const model: RepVGG = createRepVGG(b, arch, { numClasses: classes, seed: 2 });
    model.train();
    const opt = new Optimizer(model.namedParameters(), { kind: 'sgd', weightDecay: 1e-4, momentum: 0.9, nesterov: true });
    const x = randomTensor(b as WasmBackend, [batch, 3, size, size], 7);
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
async function backendsFor(threads: number[]): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const t of threads) out.push(await createBackend('wasm-simd', { threads: t }));
  return out;
}

function formatRow(r: BenchRow): string {
  const base = r.cells[0];
  const parts = r.cells.map((c) => `${c.threads} thread${c.threads > 1 ? 's' : ''} ${c.ms.toFixed(1)} ms ` +
    `(${c.spread[0].toFixed(1)}-${c.spread[1].toFixed(1)}), ${c.imagesPerSecond.toFixed(1)} img/s` +
    (c === base ? '' : `, x${(base.ms / c.ms).toFixed(2)} (per round x${c.roundRatio.toFixed(2)})`));
  return `${r.label}, batch ${r.batch}: ${parts.join('; ')}`;
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const quick = process.argv.includes('--quick');
/** --switch: time each call right after the other backend's (no settling call; see interleaved). */
const SETTLE = !process.argv.includes('--switch');
const threads = (option('threads') ?? '1,2').split(',').map(Number);
const samples = Number(option('samples') ?? (quick ? 3 : 9));

/** Milliseconds of `total` rounds of a loop split over k worker threads (no memory traffic, no
 *  sharing): scalar square roots, or the f32x4 multiply-add peak loop of peak.wasm. */
async function loop(k: number, total: number, simd: boolean): Promise<number> {
  const code = 'const { parentPort, workerData } = require("node:worker_threads");' +
    'const peak = workerData && new WebAssembly.Instance(new WebAssembly.Module(workerData), {}).exports.f32x4_peak_muladd;' +
    'parentPort.on("message", (n) => { let s = 0; if (peak) s = peak(n, 1); else for (let i = 0; i < n; i++) s += Math.sqrt(i);' +
    ' parentPort.postMessage(s); });';
  const workerData = simd ? readFileSync(new URL('./peak.wasm', import.meta.url)) : null;
  const workers = Array.from({ length: k }, () => new Worker(code, { eval: true, workerData }));
  const round = (n: number) => Promise.all(workers.map((w) => new Promise((r) => { w.once('message', r); w.postMessage(n); })));
  await round(1e5);
  const t0 = performance.now();
  await round(Math.round(total / k));
  const ms = performance.now() - t0;
  await Promise.all(workers.map((w) => w.terminate()));
  return ms;
}

/** The machine's own speed-up from 1 to t threads right now, A B B A. */
async function control(t: number, simd: boolean): Promise<number> {
  const n = (simd ? 2e7 : 1e8) * (quick ? 1 : 3);
  const a1 = await loop(1, n, simd), b1 = await loop(t, n, simd), b2 = await loop(t, n, simd), a2 = await loop(1, n, simd);
  return (a1 + a2) / (b1 + b2);
}

async function controls(t: number, when: string): Promise<string> {
  return `control (${when}): a loop on ${t} threads vs 1: scalar x${(await control(t, false)).toFixed(2)}, ` +
    `f32x4 mul+add x${(await control(t, true)).toFixed(2)} (what the machine gives now)`;
}

/** Work items of every A0 conv at batch 1, 224x224, fused, on `t` threads: the units the threads share. */
function itemsPerLayer(b: WasmBackend, t: number): string[] {
  const k = b.kernels;
  const rows: string[] = [];
  let h = 224;
  for (const p of planBlocks({ ...REPVGG_VARIANTS.A0, numClasses: 1000 })) {
    const oh = outSize(h, 3, p.stride, 1);
    const s = { n: 1, c: p.inChannels, h, w: h, k: p.outChannels, kh: 3, kw: 3, sh: p.stride, sw: p.stride, ph: 1, pw: 1,
      groups: p.groups, oh, ow: oh };
    const algorithm = conv2dAlgorithm(s);
    const shape = [s.n, s.c, s.h, s.w, s.k, 3, 3, s.sh, s.sw, 1, 1, s.groups, oh, oh];
    const phases: number[] = [];
    for (let ph = 0; ; ph++) {
      const n = k.conv2d_packed_items(...shape, CONV_ALGORITHM_CODE[algorithm], t, ph);
      if (n === 0) break;
      phases.push(n);
    }
    rows.push(`${p.inChannels}->${p.outChannels} ${h}x${h} s${p.stride} ${algorithm}: ${phases.join(' then ')}`);
    h = oh;
  }
  return rows;
}

const backends = await backendsFor(threads);
for (const b of backends) if (b.threadsReason) console.log(`note: ${b.threads} thread(s): ${b.threadsReason}`);
console.log(`threads bench: ${threads.join(', ')} threads, ${samples} samples per row, ${(backends[0] as WasmBackend).isa}`);
const top = Math.max(...threads);
console.log(await controls(top, 'before'));
const fewer = quick ? 2 : Math.ceil(samples / 2);
// Batch 1 calls are short and their 2-thread times the noisiest (one slow item holds a layer
// back): three times the samples.
const more = quick ? samples : 3 * samples;
console.log(formatRow(benchInference(backends, 'A0', 224, 1, 1000, more)));
console.log(formatRow(benchPlanned(backends, 'A0', 224, 1, 1000, more)));
console.log(formatRow(benchInference(backends, 'A0', 224, 8, 1000, fewer)));
console.log(formatRow(benchPlanned(backends, 'A0', 224, 8, 1000, fewer)));
console.log(formatRow(benchTraining(backends, 'A0', 32, 128, 10, fewer)));
console.log(await controls(top, 'after'));
console.log('work items per A0 conv at batch 1 (fused, 224x224) on 16 threads, per phase:');
for (const r of itemsPerLayer(backends[0] as WasmBackend, 16)) console.log(`  ${r}`);
for (const b of backends) b.dispose();
