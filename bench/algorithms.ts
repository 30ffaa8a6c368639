// Convolution algorithms on the deployed model: the planned fused RepVGG-A0 (InferencePlan) at
// 224x224 with every conv direct, against the default 'auto' (Winograd F(4x4,3x3) on the 3x3
// stride-1 layers whose outputs are at least 3x3, F(2x2,3x3) on 2x2, direct elsewhere: the rule of
// conv2dAlgorithm, measured in bench/winograd.md). Same weights, same plan code, only the
// algorithm differs, so the ratio is what Winograd buys a whole network (the stride-2 layers and
// the classifier stay as they are). GFLOP/s counts the direct convolution's MACs for both, so
// 'auto' shows an effective figure.
import { InferencePlan } from '../src/models/plan.js';
import { createRepVGG, REPVGG_VARIANTS } from '../src/models/repvgg.js';
import { summarize } from '../src/models/summary.js';
import { PeakTracker, allocatedBy, mib } from './memory.js';
import type { CompareRow, Section } from './rows.js';
import { randomTensor, randomizeBatchNorms, relErr, wasmBackend } from './setup.js';
import { timePair, type PairOptions } from './timing.js';

export interface AlgorithmBenchOptions {
  batches: number[];
  /** manual samples per algorithm (calls of 250 ms and more) */
  samples: number;
  timing: PairOptions;
  log: (line: string) => void;
}

const ARCH = 'A0';
const SIZE = 224;
const CLASSES = 1000;

export async function runAlgorithmBench(opts: AlgorithmBenchOptions): Promise<Section> {
  const s1 = summarize({ ...REPVGG_VARIANTS[ARCH], numClasses: CLASSES }, { inputSize: [SIZE, SIZE], batch: 1 });
  const rows: CompareRow[] = [];
  const weightBytes = { multi: 0, fused: 0 };
  let winogradLayers = 0;
  for (const n of opts.batches) {
    // One backend per batch, as the model rows: no row inherits another's memory.
    const wasm = await wasmBackend();
    const model = createRepVGG(wasm, ARCH, { numClasses: CLASSES, seed: 1 });
    randomizeBatchNorms(model, 5);
    model.eval();
    const direct = allocatedBy(wasm, () => InferencePlan.create(model, { batch: n, inputSize: [SIZE, SIZE], convAlgorithm: 'direct' }));
    const auto = allocatedBy(wasm, () => InferencePlan.create(model, { batch: n, inputSize: [SIZE, SIZE], convAlgorithm: 'auto' }));
    weightBytes.multi = direct.bytes - direct.value.activationBytes;
    weightBytes.fused = auto.bytes - auto.value.activationBytes;
    winogradLayers = auto.value.layers.filter((l) => l.algorithm !== 'direct').length;
    const x = randomTensor(wasm, [n, 3, SIZE, SIZE], 300 + n);
    const outs: Float32Array[] = [];
    const run = (plan: InferencePlan, i: number) => () => { const y = plan.run(x); outs[i] = y.toFloat32Array(); y.dispose(); };
    const td = new PeakTracker(wasm, direct.value.activationBytes);
    const ta = new PeakTracker(wasm, auto.value.activationBytes);
    const t = timePair(`${ARCH} plan n=${n}`, td.wrap(run(direct.value, 0)), ta.wrap(run(auto.value, 1)), { ...opts.timing, manualSamples: opts.samples });
    const err = relErr(outs[1], outs[0]);
    if (!(err <= 1e-4)) throw new Error(`${ARCH} batch ${n}: Winograd vs direct logits differ by ${err.toExponential(2)}`);
    x.dispose();
    direct.value.dispose();
    auto.value.dispose();
    model.dispose();
    const macs = s1.totals.macs.deploy * n;
    rows.push({
      batch: n, ratio: t.ratio, method: t.method,
      multi: { time: t.a, macs, flops: 2 * macs, activationBytes: td.peak, plannedBytes: direct.value.activationBytes },
      fused: { time: t.b, macs, flops: 2 * macs, activationBytes: ta.peak, plannedBytes: auto.value.activationBytes },
    });
    opts.log(`  ${ARCH} fused (planned) batch ${n}: direct ${t.a.median.toFixed(0)} ms, auto ${t.b.median.toFixed(0)} ms, ` +
      `x${t.ratio.toFixed(2)}; activations ${mib(td.peak)} / ${mib(ta.peak)} MiB; logits ${err.toExponential(1)} apart (${t.method})`);
  }
  return {
    id: `algo-${ARCH}`, title: `RepVGG-${ARCH} fused (planned), 224x224, convolution algorithms`, rows, weightBytes,
    formNames: ['direct', 'auto'], ratioName: 'direct / auto (Winograd) time',
    formsNote: `"direct" runs every conv of the plan on the direct GEMM path; "auto" is the default, conv2dAlgorithm's rule: ` +
      `${winogradLayers} of the ${s1.rows.reduce((a, r) => a + r.blocks, 0)} convs on Winograd (the stride-1 ones), the ` +
      'stride-2 ones direct. Weights are the plans\' packed kernels and biases (Winograd-transformed ones are larger).',
    description: 'InferencePlan.create(model, { batch, inputSize, convAlgorithm }) on one RepVGG-A0 (random weights and BN ' +
      'statistics), the two plans timed interleaved; logits checked equal within 1e-4. GFLOP/s = 2 x the direct ' +
      'convolution\'s MACs / time for both, so the Winograd figure is effective (it does fewer multiplications). ' +
      '"act MiB" includes each plan\'s two activation buffers.',
  };
}
