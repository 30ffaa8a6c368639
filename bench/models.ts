// Model level: RepVGG-A0 and B0 (1000 classes) at 224x224 in eval mode, the multi-branch network
// against its converted (fused) copy, over batch sizes. Each (model, batch) row gets a fresh
// backend holding both forms, so no row inherits another's memory; the memory each form needs is
// computed before anything is built (src/models/summary.ts plus the conv scratch), and a form that
// cannot fit in the 4 GiB wasm32 addresses is reported as such instead of being tried.
import { outSize } from '../src/backend.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { WasmOutOfMemoryError } from '../src/backends/wasm/allocator.js';
import { createRepVGG, planBlocks, REPVGG_VARIANTS, repvggModelConvert, type RepVGG } from '../src/models/repvgg.js';
import { summarize } from '../src/models/summary.js';
import type { Tensor } from '../src/tensor.js';
import { GiB, PeakTracker, WASM32_MAX_BYTES, allocatedBy, gib, mib } from './memory.js';
import type { CompareRow, FormResult, Section } from './rows.js';
import { randomTensor, randomizeBatchNorms, relErr, wasmBackend } from './setup.js';
import { timePair, type PairOptions } from './timing.js';

export interface ModelBenchOptions {
  archs: string[];
  batches: number[];
  /** manual samples per form at each batch (batch 1 uses Benchmark.js when fast enough) */
  samples: (batch: number) => number;
  /** whether the untimed first call of each form is made at this batch */
  warmup: (batch: number) => boolean;
  timing: PairOptions;
  log: (line: string) => void;
}

const SIZE = 224;
const CLASSES = 1000;

/** Largest scratch (bytes) any conv of the plan asks for: the packed weights and im2col panels. */
export function convScratchBytes(wasm: WasmBackend, arch: string, batch: number): number {
  let h = SIZE;
  let max = 0;
  for (const p of planBlocks({ ...REPVGG_VARIANTS[arch], numClasses: CLASSES })) {
    const oh = outSize(h, 3, p.stride, 1);
    for (const [kk, pad] of [[3, 1], [1, 0]]) {
      const bytes = wasm.kernels.conv2d_workspace(batch, p.inChannels, h, h, p.outChannels, kk, kk, p.stride, p.stride,
        pad, pad, p.groups, oh, oh, 0, wasm.threads);
      max = Math.max(max, bytes);
    }
    h = oh;
  }
  return max;
}

export interface MemoryNeed { multi: number; fused: number; both: number }

/** Bytes each form needs in eval mode at this batch: weights + activation peak (input included) + conv scratch. */
export function memoryNeed(wasm: WasmBackend, arch: string, batch: number): MemoryNeed {
  const s = summarize({ ...REPVGG_VARIANTS[arch], numClasses: CLASSES }, { inputSize: [SIZE, SIZE], batch });
  const scratch = convScratchBytes(wasm, arch, batch);
  const a = s.totals.activationBytes.inferencePeak;
  const w = s.totals.weightBytes;
  const multi = w.train + a.train + scratch;
  const fused = w.deploy + a.deploy + scratch;
  return { multi, fused, both: w.train + w.deploy + Math.max(a.train, a.deploy) + scratch };
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
    for (const n of opts.batches) {
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
        `${(t.params.deploy / 1e6).toFixed(2)} M parameters. Fused = repvggModelConvert(multi), logits checked equal within 1e-4. ` +
        `At batch 1 the activation peak is set by the largest conv scratch (${mib(convScratchBytes(scratchProbe, arch, 1))} MiB, ` +
        'mostly the last block\'s weights packed for the GEMM), the same in both forms; from batch 8 on the block outputs dominate.',
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
  const fusedBuilt = allocatedBy(wasm, () => repvggModelConvert(multiBuilt.value).eval());
  weightBytes.multi = multiBuilt.bytes;
  weightBytes.fused = fusedBuilt.bytes;
  const x = randomTensor(wasm, [n, 3, SIZE, SIZE], 100 + n);
  const outs: Record<'multi' | 'fused', Float32Array | null> = { multi: null, fused: null };
  const run = (m: RepVGG, which: 'multi' | 'fused') => () => {
    const y = m.forward(x);
    outs[which] = y.toFloat32Array();
    y.dispose();
  };
  // Without the untimed full call (batch 128 in the default run), the forms still must not pay for
  // mapping fresh memory inside the timed call: stage0 and stage1 (the largest activations, ~11% of
  // the MACs) run once per form first, which maps the memory the timed calls then reuse.
  if (!opts.warmup(n)) for (const m of [multiBuilt.value, fusedBuilt.value]) runPrefix(m, x, 1 + REPVGG_VARIANTS[arch].numBlocks[0]);
  const tm = new PeakTracker(wasm);
  const tf = new PeakTracker(wasm);
  const t = timePair(`${arch} n=${n}`, tm.wrap(run(multiBuilt.value, 'multi')), tf.wrap(run(fusedBuilt.value, 'fused')),
    { ...opts.timing, manualSamples: opts.samples(n), skipWarmup: !opts.warmup(n) });
  const err = relErr(outs.fused!, outs.multi!);
  if (!(err <= 1e-4)) throw new Error(`RepVGG-${arch} batch ${n}: fused vs multi-branch logits differ by ${err.toExponential(2)}`);
  x.dispose();
  multiBuilt.value.dispose();
  fusedBuilt.value.dispose();
  opts.log(`  multi ${t.a.median.toFixed(0)} ms, fused ${t.b.median.toFixed(0)} ms, x${t.ratio.toFixed(2)}; ` +
    `activations ${mib(tm.peak)} / ${mib(tf.peak)} MiB; wasm memory ${(wasm.memoryBytes() / GiB).toFixed(2)} GiB (${t.method}, ` +
    `${t.a.samples.length} samples)`);
  return {
    batch: n, ratio: t.ratio, method: t.method, mappedBytes: wasm.memoryBytes(),
    multi: { time: t.a, macs: macs.multi, flops: 2 * macs.multi, activationBytes: tm.peak },
    fused: { time: t.b, macs: macs.fused, flops: 2 * macs.fused, activationBytes: tf.peak },
  };
}
