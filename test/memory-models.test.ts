// How much linear memory whole models map for what they hold live, at the sizes that matter for
// wasm32's 4 GiB: RepVGG-A0 at 224x224, batch 128, in eval mode (multi-branch and fused), and the
// A0 training step of the benchmark (32x32, batch 128).
//
// These run on the dry backend (test/helpers/wasm-heap.ts): the real WasmBackend and Allocator,
// kernels replaced by no-ops, so the exact alloc/free sequence of a 13 s forward is replayed in
// ~0.1 s and memoryBytes() is the real linear memory. The first test shows that the dry backend
// makes the same allocator calls as the real one.
//
// Measured with the size-class allocator this replaced (same dry runs): A0 b128 eval multi-branch
// mapped 2.06 GiB for a live peak of 1.05 GiB (1.95x), fused 1.44 for 0.74 GiB (1.96x); the training
// steps 1.65x (multi-branch) and 1.67x (plain). Now about 1.00x and 1.14-1.19x.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRepVGG, repvggModelConvert, type RepVGG } from '../src/models/repvgg.js';
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { Optimizer } from '../src/train/optimizer.js';
import { Tensor } from '../src/tensor.js';
import {
  dryWasmBackend, inspectableWasmBackend, recordAllocations, type InspectableWasmBackend,
} from './helpers/wasm-heap.js';

const GiB = 2 ** 30;
const MAX_RATIO = 1.3;

/** Eval-mode forwards of A0 (1000 classes) on `b`: `forms` as built, `calls` forwards each. */
function evalForwards(b: InspectableWasmBackend, deploy: boolean, n: number, size: number, calls: number): void {
  const model = createRepVGG(b, 'A0', { numClasses: 1000, seed: 1, deploy }).eval();
  const x = Tensor.zeros(b, [n, 3, size, size]);
  for (let i = 0; i < calls; i++) model.forward(x).dispose();
}

/** A model, its SGD optimizer and a training step on a fixed batch, as bench/training.ts runs it. */
function trainer(b: InspectableWasmBackend, deploy: boolean, n: number, size: number): { model: RepVGG; step: () => void } {
  const model = createRepVGG(b, 'A0', { numClasses: 10, seed: 2, deploy });
  model.train();
  const optimizer = new Optimizer(model.namedParameters(), { kind: 'sgd', weightDecay: 1e-4, momentum: 0.9, nesterov: true });
  const x = Tensor.zeros(b, [n, 3, size, size]);
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const step = () => {
    const logits = model.forward(x);
    const { dlogits } = softmaxCrossEntropy(logits, labels);
    logits.dispose();
    model.backward(dlogits)?.dispose();
    dlogits.dispose();
    optimizer.step(0.01);
    model.zeroGrad();
  };
  return { model, step };
}

test('the dry backend makes exactly the allocator calls of the real one (A0 32x32 batch 2: eval both forms, conversion, two training steps)', async () => {
  const run = (b: InspectableWasmBackend) => {
    const trace = recordAllocations(b);
    const multi = createRepVGG(b, 'A0', { numClasses: 10, seed: 3 }).eval();
    const x = Tensor.zeros(b, [2, 3, 32, 32]);
    multi.forward(x).dispose();
    const fused = repvggModelConvert(multi).eval();
    fused.forward(x).dispose();
    fused.dispose();
    multi.dispose();
    const { step } = trainer(b, false, 2, 32);
    step();
    step();
    return { trace, mapped: b.memoryBytes(), peak: b.peakLiveBytes() };
  };
  const real = run(await inspectableWasmBackend());
  const dry = run(await dryWasmBackend());
  assert.ok(real.trace.length > 2000, `${real.trace.length} calls recorded`);
  assert.equal(dry.trace, real.trace);
  assert.equal([dry.mapped, dry.peak], [real.mapped, real.peak]);
});

for (const deploy of [false, true]) {
  const form = deploy ? 'fused' : 'multi-branch';
  test(`A0 224x224 batch 128 eval forward, ${form}: maps at most ${MAX_RATIO}x its live peak`, async () => {
    const b = await dryWasmBackend();
    evalForwards(b, deploy, 128, 224, 2);
    const mapped = b.memoryBytes();
    const peak = b.peakLiveBytes();
    // The activations alone are 0.6-0.9 GiB: a smaller peak would mean the run did not happen.
    assert.ok(peak > 0.6 * GiB, `live peak ${(peak / GiB).toFixed(3)} GiB`);
    assert.ok(mapped <= MAX_RATIO * peak, `mapped ${(mapped / GiB).toFixed(3)} GiB for a live peak of ${(peak / GiB).toFixed(3)} GiB ` +
      `(${(mapped / peak).toFixed(2)}x)`);
  });
}

test('A0 224x224 batch 128 eval, the benchmark row (both forms in one backend): still within 1.3x', async () => {
  const b = await dryWasmBackend();
  const multi = createRepVGG(b, 'A0', { numClasses: 1000, seed: 1 }).eval();
  const fused = repvggModelConvert(multi).eval();
  const x = Tensor.zeros(b, [128, 3, 224, 224]);
  for (let i = 0; i < 2; i++) {
    multi.forward(x).dispose();
    fused.forward(x).dispose();
  }
  assert.ok(b.memoryBytes() <= MAX_RATIO * b.peakLiveBytes(), `${(b.memoryBytes() / b.peakLiveBytes()).toFixed(2)}x`);
});

for (const deploy of [false, true]) {
  const form = deploy ? 'plain' : 'multi-branch';
  test(`A0 training step, 32x32 batch 128, ${form}: within ${MAX_RATIO}x of the live peak, and no growth after the first steps`, async () => {
    const b = await dryWasmBackend();
    const { step } = trainer(b, deploy, 128, 32);
    for (let i = 0; i < 3; i++) step();
    const mapped = b.memoryBytes();
    const heapEnd = b.heap.layout().highWater;
    for (let i = 0; i < 5; i++) step();
    const peak = b.peakLiveBytes();
    assert.ok(peak > 0.09 * GiB, `live peak ${(peak / GiB).toFixed(3)} GiB`);
    assert.ok(mapped <= MAX_RATIO * peak, `mapped ${(mapped / GiB).toFixed(3)} GiB for ${(peak / GiB).toFixed(3)} GiB (${(mapped / peak).toFixed(2)}x)`);
    assert.equal([b.memoryBytes(), b.heap.layout().highWater], [mapped, heapEnd], 'steps 4-8 reuse the memory of steps 1-3');
  });
}

test.run();
