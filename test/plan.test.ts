// The planned inference model (src/models/plan.ts) against the model's own eval forward: the same
// logits (fused conv + bias + ReLU, packed weights, two ping-pong buffers), groups and SE included,
// on both backends, for batches up to the planned one; and its input checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend.js';
import { InferencePlan } from '../src/models/plan.js';
import { RepVGG, repvggModelConvert, type RepVGGConfig } from '../src/models/repvgg.js';
import { conv2d, conv2dPackWeight, conv2dPacked, relu } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { testBackends } from './helpers/backends.js';
import { assertClose, TOL_FORWARD } from './helpers/compare.js';
import { randomInput, randomizeBatchNorms } from './helpers/models.js';

const backends = await testBackends();
const CASES: [string, RepVGGConfig][] = [
  ['plain', { numBlocks: [1, 2, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.25], numClasses: 7 }],
  ['groups', { numBlocks: [2, 2, 1, 1], widthMultiplier: [0.5, 0.5, 0.5, 0.5], numClasses: 5, overrideGroupsMap: { 2: 2, 4: 4 } }],
  ['SE', { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.5, 0.5, 0.5, 0.5], numClasses: 4, useSE: true }],
];

function logitsOf(b: Backend, model: RepVGG, x: Float32Array, shape: number[]): Float32Array {
  const t = Tensor.from(b, x, shape);
  const y = model.forward(t);
  t.dispose();
  const out = y.toFloat32Array();
  y.dispose();
  return out;
}

for (const b of backends) {
  for (const [name, cfg] of CASES) {
    test(`${b.name}: ${name}: planned logits == the training model's eval forward == the deploy model's, at batch 3 and 1`, () => {
      const model = new RepVGG(b, { ...cfg, seed: 11 });
      randomizeBatchNorms(model, 5);
      model.eval();
      const deploy = repvggModelConvert(model);
      const plan = InferencePlan.create(model, { batch: 3, inputSize: [32, 40] });
      for (const n of [3, 1]) {
        const shape = [n, 3, 32, 40];
        const x = randomInput(shape, 100 + n);
        const ref = logitsOf(b, deploy, x, shape);
        const xt = Tensor.from(b, x, shape);
        const got = plan.run(xt);
        assert.equal(got.shape, [n, cfg.numClasses]);
        assertClose(got.toFloat32Array(), ref, TOL_FORWARD, `${name} planned vs deploy, batch ${n}`);
        assertClose(logitsOf(b, model, x, shape), ref, 1e-4, `${name} training form vs deploy, batch ${n}`);
        got.dispose();
        xt.dispose();
      }
      assert.is(plan.layers.length, model.blocks.length);
      assert.equal(plan.layers[0].outShape, [3, model.blocks[0].cfg.outChannels, 16, 20]);
      plan.dispose();
      deploy.dispose();
      model.dispose();
    });
  }

  test(`${b.name}: two activation buffers of the largest block output, and the input checks`, () => {
    const model = new RepVGG(b, { ...CASES[0][1], seed: 1 });
    model.eval();
    const plan = InferencePlan.create(model, { batch: 2, inputSize: [32, 32] });
    const largest = Math.max(...plan.layers.map((l) => l.outShape.slice(1).reduce((a, v) => a * v, 1)));
    assert.is(plan.activationBytes, 2 * 4 * 2 * largest);
    const big = Tensor.zeros(b, [3, 3, 32, 32]);
    assert.throws(() => plan.run(big), /expected x \[n <= 2, 3, 32, 32\], got \[3,3,32,32\]/);
    const wrongSize = Tensor.zeros(b, [1, 3, 32, 31]);
    assert.throws(() => plan.run(wrongSize), /got \[1,3,32,31\]/);
    assert.throws(() => InferencePlan.create(model, { batch: 0, inputSize: [32, 32] }), /batch must be a positive integer, got 0/);
    assert.throws(() => InferencePlan.create(model, { batch: 1, inputSize: [32, 32], convAlgorithm: 'fft' as never }), /convAlgorithm must be/);
    plan.dispose();
    assert.throws(() => plan.run(big), /disposed/);
    big.dispose();
    wrongSize.dispose();
    model.dispose();
  });

  test(`${b.name}: conv2dPacked == relu(conv2d) and conv2d, groups and strides, direct`, () => {
    for (const [c, k, groups, stride, h] of [[6, 8, 1, 1, 9], [8, 8, 2, 2, 10], [4, 12, 4, 1, 5], [3, 16, 1, 2, 17]]) {
      const x = Tensor.from(b, randomInput([2, c, h, h], c * 7 + k), [2, c, h, h]);
      const w = Tensor.from(b, randomInput([k, c / groups, 3, 3], k), [k, c / groups, 3, 3]);
      const bias = Tensor.from(b, randomInput([k], 3), [k]);
      const opts = { stride, padding: 1, groups };
      const ref = conv2d(x, w, bias, { ...opts, algorithm: 'direct' });
      const refRelu = relu(ref);
      const packed = conv2dPackWeight(w, opts);
      const y = conv2dPacked(x, packed, bias);
      const yr = conv2dPacked(x, packed, bias, true);
      assertClose(y.toFloat32Array(), ref.toFloat32Array(), TOL_FORWARD, `packed ${c}->${k} g${groups} s${stride}`);
      assert.equal(yr.toFloat32Array(), refRelu.toFloat32Array(), 'the fused ReLU is exactly relu() of the same sums');
      for (const t of [x, w, bias, ref, refRelu, y, yr]) t.dispose();
      packed.dispose();
    }
  });
}



test('convAlgorithm: Winograd (auto) and direct both match the reference backend on a network, forward and backward', async () => {
  // Against the reference backend's exact sums. Batch 4, not 2: at 32x32 the last stage is 1x1, and
  // a BN over 2 values per channel is so ill-conditioned that its backward amplifies float32
  // rounding about tenfold (measured: direct 2e-5 / Winograd 3e-5 from the exact dx at batch 2,
  // 2e-6 / 4e-6 at batch 4), which would test the conditioning, not the algorithm.
  const cfg: RepVGGConfig = { numBlocks: [1, 2, 1, 1], widthMultiplier: [0.5, 0.5, 0.5, 0.5], numClasses: 6 };
  const run = (b: Backend, algorithm: 'auto' | 'direct') => {
    const model = new RepVGG(b, { ...cfg, seed: 4, convAlgorithm: algorithm });
    model.train();
    model.inputGrad = true;
    const x = Tensor.from(b, randomInput([4, 3, 32, 32], 9), [4, 3, 32, 32]);
    const y = model.forward(x);
    const dy = Tensor.from(b, randomInput([...y.shape], 21), y.shape);
    const dx = model.backward(dy)!;
    const out = { y: y.toFloat32Array(), dx: dx.toFloat32Array(), dw: model.blocks[2].rbrDense!.namedParameters()[0][1].grad!.toFloat32Array() };
    for (const t of [x, y, dy, dx]) t.dispose();
    model.dispose();
    return out;
  };
  const ref = run(backends.find((x) => x.name === 'reference')!, 'direct');
  const wasm = backends.find((x) => x.name === 'wasm-simd')!;
  for (const algorithm of ['auto', 'direct'] as const) {
    const got = run(wasm, algorithm);
    assertClose(got.y, ref.y, TOL_FORWARD, `${algorithm}: logits`);
    assertClose(got.dx, ref.dx, 1e-4, `${algorithm}: d loss / d input`);
    assertClose(got.dw, ref.dw, 1e-4, `${algorithm}: a stage1 3x3 weight gradient`);
  }
  assert.throws(() => new RepVGG(wasm, { ...cfg, convAlgorithm: 'fft' as never }), /convAlgorithm must be/);
});

test.run();
