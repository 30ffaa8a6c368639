// Block level: one RepVGGBlock in eval mode, multi-branch (3x3 conv+BN, 1x1 conv+BN, identity BN,
// sum, ReLU) against its fused form (one 3x3 conv with bias, ReLU), over batch sizes.
//   64 -> 64 on 56x56, stride 1: the identity branch is there (RepVGG-B0's stage1 body block)
//   64 -> 128 on 56x56, stride 2: no identity (a stage's first block)
import { RepVGGBlock } from '../src/models/block.js';
import type { Tensor } from '../src/tensor.js';
import { PeakTracker, allocatedBy, mib } from './memory.js';
import type { CompareRow, Section } from './rows.js';
import { randomTensor, randomizeBatchNorms, relErr, wasmBackend } from './setup.js';
import { timePair, type PairOptions } from './timing.js';

export interface BlockBenchOptions {
  batches: number[];
  timing: PairOptions;
  /** manual samples for the largest batches (seconds per call) */
  slowSamples: number;
  log: (line: string) => void;
}

interface BlockShape { id: string; title: string; c: number; k: number; stride: number; hw: number }

export const BLOCK_SHAPES: BlockShape[] = [
  { id: 'block-s1', title: 'Block 64->64, 56x56, stride 1 (with identity)', c: 64, k: 64, stride: 1, hw: 56 },
  { id: 'block-s2', title: 'Block 64->128, 56x56 -> 28x28, stride 2 (no identity)', c: 64, k: 128, stride: 2, hw: 56 },
];

export async function runBlockBench(opts: BlockBenchOptions): Promise<Section[]> {
  const sections: Section[] = [];
  for (const shape of BLOCK_SHAPES) {
    // One backend per block shape: its memory is released (with the backend) before the next.
    const wasm = await wasmBackend();
    const cfg = { inChannels: shape.c, outChannels: shape.k, stride: shape.stride, groups: 1, useSE: false };
    const multiBuilt = allocatedBy(wasm, () => {
      const b = new RepVGGBlock(wasm, cfg);
      randomizeBatchNorms(b, 3);
      return b.eval();
    });
    const multi = multiBuilt.value;
    const fusedBuilt = allocatedBy(wasm, () => {
      const f = new RepVGGBlock(wasm, { ...cfg, deploy: true }, null);
      const { kernel, bias } = multi.getEquivalentKernelBias();
      f.rbrReparam!.weight.value.data.set(kernel);
      f.rbrReparam!.bias!.value.data.set(bias);
      return f.eval();
    });
    const fused = fusedBuilt.value;
    const oh = Math.floor((shape.hw - 1) / shape.stride) + 1;
    const macs3 = shape.k * shape.c * 9 * oh * oh;
    const macs1 = shape.k * shape.c * oh * oh;
    const rows: CompareRow[] = [];
    opts.log(`${shape.title}: weights multi ${mib(multiBuilt.bytes)} MiB, fused ${mib(fusedBuilt.bytes)} MiB`);
    for (const n of opts.batches) {
      const x = randomTensor(wasm, [n, shape.c, shape.hw, shape.hw], n);
      // The two forms must agree before they are timed (GUIDE.md: 1e-4 for fused vs multi-branch).
      const ym = multi.forward(x);
      const yf = fused.forward(x);
      const err = relErr(yf.toFloat32Array(), ym.toFloat32Array());
      ym.dispose(); yf.dispose();
      if (!(err <= 1e-4)) throw new Error(`${shape.title}, batch ${n}: fused vs multi-branch differ by ${err.toExponential(2)}`);
      const tm = new PeakTracker(wasm);
      const tf = new PeakTracker(wasm);
      const run = (blk: RepVGGBlock) => () => { (blk.forward(x) as Tensor).dispose(); };
      const slow = n >= 32;
      const t = timePair(`${shape.id} n=${n}`, tm.wrap(run(multi)), tf.wrap(run(fused)),
        slow ? { ...opts.timing, manualSamples: opts.slowSamples } : opts.timing);
      x.dispose();
      const row: CompareRow = {
        batch: n,
        multi: { time: t.a, macs: n * (macs3 + macs1), flops: 2 * n * (macs3 + macs1), activationBytes: tm.peak },
        fused: { time: t.b, macs: n * macs3, flops: 2 * n * macs3, activationBytes: tf.peak },
        ratio: t.ratio, method: t.method,
      };
      rows.push(row);
      opts.log(`  batch ${String(n).padStart(3)}: multi ${t.a.median.toFixed(1).padStart(8)} ms, fused ${t.b.median.toFixed(1).padStart(8)} ms, ` +
        `x${t.ratio.toFixed(2)}; activations ${mib(tm.peak)} / ${mib(tf.peak)} MiB (${t.method})`);
    }
    multi.dispose();
    fused.dispose();
    sections.push({
      id: shape.id, title: shape.title, rows, formNames: ['multi', 'fused'],
      weightBytes: { multi: multiBuilt.bytes, fused: fusedBuilt.bytes },
      description: `Eval mode. Multi-branch: 3x3 conv+BN, 1x1 conv+BN${shape.stride === 1 && shape.c === shape.k ? ', identity BN' : ''}, ` +
        'sum, ReLU; fused: one 3x3 conv with bias, ReLU (outputs checked equal within 1e-4 first). ' +
        `MACs per image: ${((macs3 + macs1) / 1e6).toFixed(1)} M multi-branch, ${(macs3 / 1e6).toFixed(1)} M fused.`,
    });
  }
  return sections;
}
