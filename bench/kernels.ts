// Kernel benchmark: 3x3 conv 64->64 on 56x56 (batch 1 and 8, stride 1 and 2), forward and both
// backward passes, in milliseconds, GFLOP/s and as a fraction of this runtime's single-core peak.
// At stride 1 also the forward through Winograd F(4x4,3x3), with its weights transformed once (as
// a planned model runs it: conv2dPacked), as an *effective* GFLOP/s: the direct convolution's
// FLOPs over its time. Winograd does about 4x fewer multiplications, so this figure can pass the
// mul+add peak: it says how fast the layer is, not how busy the core is.
//
// This machine is shared and its clock moves, so the peak is measured right next to every sample
// (kernel, then peak probe) and the fraction is the median of the per-sample ratios: a ratio taken
// within a few milliseconds is stable where absolute times are not.
import { writeFileSync } from 'node:fs';
import { createBackend } from '../src/index.js';
import type { Backend, Buf, Conv2dShape } from '../src/backend.js';
import { outSize } from '../src/backend.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { PeakProbe } from './peak.js';
import { median, quantile, formatTable, machineLine } from './stats.js';

interface Options { quick: boolean; full: boolean; out?: string }

type Pass = 'forward' | 'backward input' | 'backward weight' | 'forward, Winograd F(4,3)';
const PASSES: Pass[] = ['forward', 'backward input', 'backward weight'];
const WINOGRAD: Pass = 'forward, Winograd F(4,3)';

interface Row {
  batch: number; stride: number; pass: Pass;
  ms: number; msLow: number; msHigh: number; gflops: number; peakFraction: number;
  referenceMs: number | null;
  /** the Winograd row: the direct forward's median time over this one's (same shape, same run) */
  vsDirect: number | null;
}

function convShape(n: number, stride: number): Conv2dShape {
  const h = 56, c = 64, k = 64;
  return { n, c, h, w: h, k, kh: 3, kw: 3, sh: stride, sw: stride, ph: 1, pw: 1, groups: 1,
    oh: outSize(h, 3, stride, 1), ow: outSize(h, 3, stride, 1) };
}

/** 2 * N * K * C/groups * 9 * OH * OW: the same count for all three passes. */
export function convFlops(s: Conv2dShape): number {
  return 2 * s.n * s.k * (s.c / s.groups) * s.kh * s.kw * s.oh * s.ow;
}

class ConvBuffers {
  readonly x: Buf; readonly w: Buf; readonly y: Buf; readonly dx: Buf; readonly dw: Buf;
  /** the weights transformed for Winograd F(4,3), once, on the first Winograd call (stride 1 only) */
  private winograd: Buf | null = null;
  constructor(readonly b: Backend, readonly s: Conv2dShape) {
    this.x = b.alloc(s.n * s.c * s.h * s.w);
    this.w = b.alloc(s.k * (s.c / s.groups) * s.kh * s.kw);
    this.y = b.alloc(s.n * s.k * s.oh * s.ow);
    this.dx = b.alloc(s.n * s.c * s.h * s.w);
    this.dw = b.alloc(s.k * (s.c / s.groups) * s.kh * s.kw);
    fillRandom(b.view(this.x)); fillRandom(b.view(this.w)); fillRandom(b.view(this.y));
  }
  private winogradWeights(): Buf {
    if (!this.winograd) {
      this.winograd = this.b.alloc(this.b.conv2dPackedBytes(this.s, 'winograd4') / 4);
      this.b.conv2dPackWeight(this.s, 'winograd4', this.w, this.winograd);
    }
    return this.winograd;
  }
  run(pass: Pass): void {
    const { b, s } = this;
    if (pass === 'forward') b.conv2d(s, this.x, this.w, null, this.y, 'direct');
    else if (pass === WINOGRAD) b.conv2dPacked(s, 'winograd4', this.x, this.winogradWeights(), null, this.y, false);
    else if (pass === 'backward input') b.conv2dBackwardInput(s, this.y, this.w, this.dx, 'direct');
    else b.conv2dBackwardWeight(s, this.x, this.y, this.dw, null);
  }
  free(): void { for (const buf of [this.x, this.w, this.y, this.dx, this.dw, this.winograd]) if (buf) this.b.free(buf); }
}

function fillRandom(a: Float32Array): void {
  let s = 12345;
  for (let i = 0; i < a.length; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = (s / 2 ** 32) - 0.5; }
}

function measureWasm(probe: PeakProbe, bufs: ConvBuffers, pass: Pass, samples: number): { times: number[]; ratios: number[] } {
  const flops = convFlops(bufs.s);
  // Warm-up: until the kernel has run at least 3 times and 300 ms (V8 tiers WASM up in the background).
  const w0 = performance.now();
  for (let i = 0; i < 3 || performance.now() - w0 < 300; i++) bufs.run(pass);
  const times: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    bufs.run(pass);
    const ms = performance.now() - t0;
    const peak = probe.sample(Math.min(30, Math.max(5, ms / 3))).best;
    times.push(ms);
    ratios.push(flops / ms / 1e6 / peak);
  }
  return { times, ratios };
}

export async function runKernelBench(opts: Options): Promise<{ rows: Row[]; peak: number; register: number; micro: number; markdown: string }> {
  const wasm = (await createBackend('wasm-simd', { threads: 1 })) as WasmBackend;
  const ref = await createBackend('reference');
  const probe = PeakProbe.load();
  const peakSamples = Array.from({ length: 15 }, () => probe.sample(40));
  const peak = median(peakSamples.map((p) => p.best));
  const register = median(peakSamples.map((p) => p.register));
  const micro = median(peakSamples.map((p) => p.micro));
  console.log(`single-core peak: ${peak.toFixed(2)} GFLOP/s (median of 15; register-resident f32x4 mul+add ` +
    `${register.toFixed(1)}, 4x8 micro-kernel on L1 panels ${micro.toFixed(1)}); kernels: the ${wasm.isa} build`);

  const samples = opts.quick ? 3 : opts.full ? 25 : 11;
  const batches = opts.quick ? [1] : [1, 8];
  const rows: Row[] = [];
  for (const n of batches) {
    for (const stride of [1, 2]) {
      const s = convShape(n, stride);
      const bufs = new ConvBuffers(wasm, s);
      // The reference backend runs each pass once (seconds per call at batch 8), skipped in --quick.
      const refBufs = opts.quick ? null : new ConvBuffers(ref, s);
      for (const pass of stride === 1 ? [...PASSES, WINOGRAD] : PASSES) {
        const { times, ratios } = measureWasm(probe, bufs, pass, samples);
        let referenceMs: number | null = null;
        // The reference backend has no Winograd path worth timing: its row compares with the direct forward.
        if (refBufs && pass !== WINOGRAD) {
          const t0 = performance.now();
          refBufs.run(pass);
          referenceMs = performance.now() - t0;
        }
        const ms = median(times);
        const direct = pass === WINOGRAD ? rows.find((r) => r.batch === n && r.stride === stride && r.pass === 'forward') : undefined;
        const row: Row = {
          batch: n, stride, pass, ms, msLow: quantile(times, 0.1), msHigh: quantile(times, 0.9),
          gflops: convFlops(s) / ms / 1e6, peakFraction: median(ratios), referenceMs, vsDirect: direct ? direct.ms / ms : null,
        };
        rows.push(row);
        console.log(`  batch ${n} stride ${stride} ${pass.padEnd(24)} ${ms.toFixed(2).padStart(8)} ms  ` +
          `${row.gflops.toFixed(1).padStart(5)} GFLOP/s${pass === WINOGRAD ? ' (effective)' : ''}  ` +
          `${(100 * row.peakFraction).toFixed(0).padStart(3)}% of peak` +
          (referenceMs !== null ? `  x${(referenceMs / ms).toFixed(0)} vs reference` : '') +
          (row.vsDirect !== null ? `  x${row.vsDirect.toFixed(2)} vs the direct forward` : ''));
      }
      bufs.free();
      refBufs?.free();
    }
  }
  const table = formatTable(
    ['batch', 'stride', 'pass', 'ms (median)', 'p10-p90 ms', 'GFLOP/s', '% of peak', 'reference ms', 'speed-up', 'vs direct forward'],
    rows.map((r) => [String(r.batch), String(r.stride), r.pass, r.ms.toFixed(2),
      `${r.msLow.toFixed(2)}-${r.msHigh.toFixed(2)}`, `${r.gflops.toFixed(1)}${r.pass === WINOGRAD ? ' (effective)' : ''}`,
      `${(100 * r.peakFraction).toFixed(0)}%`,
      r.referenceMs === null ? '-' : r.referenceMs.toFixed(0), r.referenceMs === null ? '-' : `x${(r.referenceMs / r.ms).toFixed(0)}`,
      r.vsDirect === null ? '-' : `x${r.vsDirect.toFixed(2)}`]),
  );
  const markdown = [
    '## Kernels: 3x3 conv 64->64, 56x56 input, padding 1',
    '',
    machineLine(),
    '',
    `Single-core peak of this runtime: **${peak.toFixed(1)} GFLOP/s**, the better of a register-resident f32x4 ` +
      `mul+add loop (${register.toFixed(1)} GFLOP/s) and the 4x8 GEMM micro-kernel on L1-resident panels ` +
      `(${micro.toFixed(1)} GFLOP/s); medians of 15 probes.`,
    '"% of peak" is the median over samples of (kernel GFLOP/s) / (the better probe, run right after that sample). ' +
      `The kernels ran the ${wasm.isa} build${wasm.isa === 'relaxed-simd' ? ' (fused multiply-add in the GEMMs; the probes are plain mul+add)' : ''}.`,
    `"forward, Winograd F(4,3)": the same layer through conv2dPacked with weights transformed once (as a planned model ` +
      'runs it), reported as effective GFLOP/s (the direct convolution\'s FLOPs over its time) and % of the same peak: ' +
      'above 100% means the layer finishes faster than any direct convolution could on this core. "vs direct forward": ' +
      'the direct forward\'s median time over this one\'s (the direct forward packs its weights on every call, as it runs).',
    '',
    table,
    '',
  ].join('\n');
  return { rows, peak, register, micro, markdown };
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { quick: false, full: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--full') opts.full = true;
    else if (a === '--out') opts.out = argv[++i];
    else if (a === '--help' || a === '-h') {
      console.log('usage: node dist/bench/kernels.js [--quick | --full] [--out file.md]');
      process.exit(0);
    } else {
      console.error(`kernels bench: unknown option ${a} (try --help)`);
      process.exit(2);
    }
  }
  return opts;
}

// Run directly (npm run bench:kernels) rather than imported by bench/index.ts.
if (import.meta.url === `file://${process.argv[1]}`) {
  const opts = parseArgs(process.argv.slice(2));
  const { markdown } = await runKernelBench(opts);
  const out = opts.out ?? new URL('../../bench/kernels.md', import.meta.url);
  writeFileSync(out, markdown);
  console.log(`\nwrote ${out.toString()}`);
}
