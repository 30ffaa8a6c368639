// Timing two forms of the same computation (multi-branch and fused, or ours and a peer's) on this
// shared 2-core machine, where absolute times drift but ratios taken close together hold.
//
// - Calls shorter than FAST_MS go through Benchmark.js (the `benchmark` package): it calibrates
//   how many calls make one sample (at least its 50 ms minTime on Node's ns timer), keeps sampling
//   until maxTime and minSamples are both met, and its samples are ms per call.
// - Longer calls (a model at batch 8 and above, seconds each) are too slow for Benchmark.js's many
//   cycles: a manual loop times single calls, alternating A B B A A B ..., and the ratio is the
//   median of the ratios of neighbouring calls.
// The Benchmark.js path does the same at a coarser grain: four rounds (A B, B A, A B, B A), each a
// Benchmark.js run per form, and the ratio is the median of the four rounds' ratios.
// Both report the median and the p10-p90 spread of ms per call. Warm-up: every function runs once
// (untimed) before any sample, after the section's own warm-up of the kernels.
import Benchmark from 'benchmark';
import { median, quantile } from './stats.js';

export const FAST_MS = 250;
/** Benchmark.js rounds per row: A B, B A, A B, B A. */
const ROUNDS = 4;

export interface Timing {
  /** ms per call, one value per sample */
  samples: number[];
  median: number;
  p10: number;
  p90: number;
}

export interface PairTiming {
  a: Timing;
  b: Timing;
  /** median of a / median of b (Benchmark.js), or the median of per-neighbour ratios (manual) */
  ratio: number;
  method: 'benchmark.js' | 'manual';
}

export interface PairOptions {
  /** Benchmark.js: seconds per form in all (split over its rounds) */
  maxTime: number;
  /** Benchmark.js: samples per form and round (at least) */
  minSamples: number;
  /** manual loop: timed calls per form */
  manualSamples: number;
  /** skip the untimed first call (the caller has just run both) */
  skipWarmup?: boolean;
}

export function timing(samples: number[]): Timing {
  return { samples, median: median(samples), p10: quantile(samples, 0.1), p90: quantile(samples, 0.9) };
}

function timeOnce(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function benchmarkSamples(name: string, fn: () => void, opts: PairOptions): number[] {
  const bench = new Benchmark(name, fn, { maxTime: opts.maxTime, minSamples: opts.minSamples, initCount: 1 });
  bench.run({ async: false });
  if (bench.error) throw bench.error as unknown as Error;
  return bench.stats.sample.map((s) => s * 1000);
}

/** Times `a` and `b` (see the top of the file); which loop is used depends on one call's time. */
export function timePair(name: string, a: () => void, b: () => void, opts: PairOptions): PairTiming {
  let first = Infinity;
  if (!opts.skipWarmup) first = Math.max(timeOnce(a), timeOnce(b));
  if (first < FAST_MS) {
    // ROUNDS pairs of Benchmark.js runs, A B B A A B B A: the ratio is the median of the rounds'
    // ratios (each taken within a second), the times pool every sample.
    const sa: number[] = [];
    const sb: number[] = [];
    const ratios: number[] = [];
    const round = { ...opts, maxTime: opts.maxTime / (ROUNDS / 2) };
    for (let r = 0; r < ROUNDS; r++) {
      let ra: number[], rb: number[];
      if (r % 2 === 0) { ra = benchmarkSamples(`${name} A`, a, round); rb = benchmarkSamples(`${name} B`, b, round); }
      else { rb = benchmarkSamples(`${name} B`, b, round); ra = benchmarkSamples(`${name} A`, a, round); }
      sa.push(...ra);
      sb.push(...rb);
      ratios.push(median(ra) / median(rb));
    }
    return { a: timing(sa), b: timing(sb), ratio: median(ratios), method: 'benchmark.js' };
  }
  const sa: number[] = [];
  const sb: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < opts.manualSamples; i++) {
    // A B, B A, A B, ...: each pair in alternating order.
    let ta: number, tb: number;
    if (i % 2 === 0) { ta = timeOnce(a); tb = timeOnce(b); } else { tb = timeOnce(b); ta = timeOnce(a); }
    sa.push(ta);
    sb.push(tb);
    ratios.push(ta / tb);
  }
  return { a: timing(sa), b: timing(sb), ratio: median(ratios), method: 'manual' };
}

/** Times one function alone (a training step): Benchmark.js or the manual loop, as timePair. */
export function timeOne(name: string, fn: () => void, opts: PairOptions): { t: Timing; method: 'benchmark.js' | 'manual' } {
  const first = opts.skipWarmup ? Infinity : timeOnce(fn);
  if (first < FAST_MS) return { t: timing(benchmarkSamples(name, fn, { ...opts, maxTime: opts.maxTime * 2 })), method: 'benchmark.js' };
  const s: number[] = [];
  for (let i = 0; i < opts.manualSamples; i++) s.push(timeOnce(fn));
  return { t: timing(s), method: 'manual' };
}

async function benchmarkSamplesAsync(name: string, fn: () => Promise<void>, opts: PairOptions): Promise<number[]> {
  const bench = new Benchmark(name, {
    defer: true, maxTime: opts.maxTime, minSamples: opts.minSamples, initCount: 1,
    fn: (deferred: Benchmark.Deferred) => { fn().then(() => deferred.resolve(), (e) => { bench.error = e; deferred.resolve(); }); },
  });
  await new Promise<void>((resolve) => { bench.on('complete', () => resolve()); bench.run({ async: true }); });
  if (bench.error) throw bench.error as unknown as Error;
  return bench.stats.sample.map((s) => s * 1000);
}

async function timeOnceAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** timePair for asynchronous calls (other engines' sessions): Benchmark.js deferred, or the manual loop. */
export async function timePairAsync(name: string, a: () => Promise<void>, b: () => Promise<void>, opts: PairOptions): Promise<PairTiming> {
  const first = Math.max(await timeOnceAsync(a), await timeOnceAsync(b));
  if (first < FAST_MS) {
    const sa: number[] = [];
    const sb: number[] = [];
    const ratios: number[] = [];
    const round = { ...opts, maxTime: opts.maxTime / (ROUNDS / 2) };
    for (let r = 0; r < ROUNDS; r++) {
      let ra: number[], rb: number[];
      if (r % 2 === 0) { ra = await benchmarkSamplesAsync(`${name} A`, a, round); rb = await benchmarkSamplesAsync(`${name} B`, b, round); }
      else { rb = await benchmarkSamplesAsync(`${name} B`, b, round); ra = await benchmarkSamplesAsync(`${name} A`, a, round); }
      sa.push(...ra);
      sb.push(...rb);
      ratios.push(median(ra) / median(rb));
    }
    return { a: timing(sa), b: timing(sb), ratio: median(ratios), method: 'benchmark.js' };
  }
  const sa: number[] = [];
  const sb: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < opts.manualSamples; i++) {
    let ta: number, tb: number;
    if (i % 2 === 0) { ta = await timeOnceAsync(a); tb = await timeOnceAsync(b); } else { tb = await timeOnceAsync(b); ta = await timeOnceAsync(a); }
    sa.push(ta);
    sb.push(tb);
    ratios.push(ta / tb);
  }
  return { a: timing(sa), b: timing(sb), ratio: median(ratios), method: 'manual' };
}
