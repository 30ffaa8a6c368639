// Training: one SGD step (forward in training mode, softmax cross-entropy, backward, Nesterov SGD
// update, gradients zeroed) of RepVGG-A0 on 32x32 images (CIFAR-sized, 10 classes), beside the
// same step on the plain network of the same shape (the deploy structure trained directly: one
// 3x3 conv with bias + ReLU per block, no BN): what the training-time branches cost.
// The learning rate is 0: the update kernel runs in full but the weights stay put, so repeating
// the step on one batch cannot drift into overflow and change the timing.
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { createRepVGG, REPVGG_VARIANTS, type RepVGG } from '../src/models/repvgg.js';
import { summarize } from '../src/models/summary.js';
import { Optimizer } from '../src/train/optimizer.js';
import { PeakTracker, allocatedBy, mib } from './memory.js';
import type { CompareRow, Section } from './rows.js';
import { randomTensor, wasmBackend } from './setup.js';
import { timePair, type PairOptions } from './timing.js';

export interface TrainBenchOptions {
  batches: number[];
  samples: (batch: number) => number;
  timing: PairOptions;
  log: (line: string) => void;
}

const ARCH = 'A0';
const SIZE = 32;
const CLASSES = 10;

export async function runTrainBench(opts: TrainBenchOptions): Promise<Section> {
  const s1 = summarize({ ...REPVGG_VARIANTS[ARCH], numClasses: CLASSES }, { inputSize: [SIZE, SIZE], batch: 1 });
  const rows: CompareRow[] = [];
  const weightBytes = { multi: 0, fused: 0 };
  for (const n of opts.batches) {
    const wasm = await wasmBackend();
    const x = randomTensor(wasm, [n, 3, SIZE, SIZE], 7 + n);
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % CLASSES);
    const step = ({ model, optimizer }: { model: RepVGG; optimizer: Optimizer }) => () => {
      const logits = model.forward(x);
      const { loss, dlogits } = softmaxCrossEntropy(logits, labels);
      logits.dispose();
      if (!Number.isFinite(loss)) throw new Error(`training bench: loss ${loss}`);
      model.backward(dlogits)?.dispose();
      dlogits.dispose();
      optimizer.step(0);
      model.zeroGrad();
    };
    // Built and stepped once: the first step creates the momentum buffers, which are then counted
    // with the weights (state that lives between steps), not as the step's own memory.
    const build = (deploy: boolean) => allocatedBy(wasm, () => {
      const model = createRepVGG(wasm, ARCH, { numClasses: CLASSES, seed: 2, deploy });
      model.train();
      const optimizer = new Optimizer(model.namedParameters(), { kind: 'sgd', weightDecay: 1e-4, momentum: 0.9, nesterov: true });
      step({ model, optimizer })();
      return { model, optimizer };
    });
    const multi = build(false);
    const plain = build(true);
    weightBytes.multi = multi.bytes;
    weightBytes.fused = plain.bytes;
    const tm = new PeakTracker(wasm);
    const tp = new PeakTracker(wasm);
    const t = timePair(`train ${ARCH} n=${n}`, tm.wrap(step(multi.value)), tp.wrap(step(plain.value)),
      { ...opts.timing, manualSamples: opts.samples(n) });
    x.dispose();
    for (const m of [multi, plain]) { m.value.optimizer.dispose(); m.value.model.dispose(); }
    const macs = { multi: s1.totals.macs.train * n, fused: s1.totals.macs.deploy * n };
    rows.push({
      batch: n, ratio: t.ratio, method: t.method,
      multi: { time: t.a, macs: macs.multi, flops: 6 * macs.multi, activationBytes: tm.peak },
      fused: { time: t.b, macs: macs.fused, flops: 6 * macs.fused, activationBytes: tp.peak },
    });
    opts.log(`  train A0 32x32 batch ${n}: multi ${t.a.median.toFixed(0)} ms (${(n / t.a.median * 1000).toFixed(0)} img/s), ` +
      `plain ${t.b.median.toFixed(0)} ms (${(n / t.b.median * 1000).toFixed(0)} img/s), x${t.ratio.toFixed(2)}; ` +
      `step peak ${mib(tm.peak)} / ${mib(tp.peak)} MiB (${t.method})`);
  }
  return {
    id: 'train-A0', title: `Training step, RepVGG-A0, 32x32, ${CLASSES} classes`, rows, weightBytes, training: true,
    formNames: ['multi', 'plain'],
    description: 'Forward (BN in training mode), softmax cross-entropy, backward, SGD (Nesterov, momentum 0.9) update, ' +
      'zero grads. "plain" is the same network built in its deploy structure (3x3 conv + bias + ReLU, no BN) and trained ' +
      'as it is. Weights include the momentum buffers; the step peak counts saved activations, gradients and scratch. ' +
      'GFLOP/s counts 3 x the forward MACs x 2 (forward, input gradient, weight gradient).',
  };
}
