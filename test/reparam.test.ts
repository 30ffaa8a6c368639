// The re-parameterization (src/models/reparam.ts, applied by RepVGGBlock.switchToDeploy and
// repvggModelConvert in src/models/block.ts and repvgg.ts).
//
// First, our conversion of a PyTorch checkpoint of a small custom RepVGG (groups 2 and 4, SE,
// random BN statistics; scripts/make-model-fixtures.py) against the official repvgg_model_convert's
// weights and logits.
//
// Then: fused (deploy) vs multi-branch (training form), eval mode, every official variant, with random
// non-trivial BN statistics (running_mean ~ N(0, 0.1), running_var ~ U(0.5, 2), weight ~
// U(0.5, 1.5), bias ~ N(0, 0.1): BN at its initial values is nearly the identity and would leave the folding
// little to get wrong), on a 1x3x32x32 input, within TOL_NETWORK.
//
// Two comparisons per variant: every block on its own (the fused block fed the multi-branch
// block's input), then the whole network (features of the last block and logits). The per-block
// one matters: after 40+ blocks of random weights the deep variants' outputs hardly depend on the
// input (D2se's last features change by ~1e-7 between two inputs: the BN shifts dominate), so the
// end-to-end comparison alone would mostly check the folded biases.
//
// A0 runs on both backends; the other variants on wasm-simd (the reference backend is slow). Each
// variant gets a fresh wasm backend so the memory of the previous one can be collected. The small
// variants are converted to a copy (checking that the training model is left intact), the large
// ones in place (half the memory, and the in-place path gets tested).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend.js';
import { createBackend } from '../src/backends/create.js';
import { readTorch } from '../src/io/index.js';
import type { RepVGGBlock } from '../src/models/block.js';
import { RepVGG, createRepVGG, planBlocks, repvggModelConvert } from '../src/models/repvgg.js';
import { loadStateDict, stateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { testBackends } from './helpers/backends.js';
import { assertErr, relErr } from './helpers/compare.js';
import {
  evalLogits, modelFixtureBytes, modelManifest, randomInput, randomizeBatchNorms, smallConfig, smallTensor,
} from './helpers/models.js';
import { TOL_FORWARD, TOL_NETWORK } from './helpers/tolerances.js';

// ---- the official conversion of a PyTorch checkpoint ----

{
  const cfg = smallConfig();
  const trainFile = readTorch(modelFixtureBytes('small_train.pt'));
  const deployFile = readTorch(modelFixtureBytes('small_deploy.pt'));
  const x = smallTensor('eval.x');
  const verbose = Boolean(process.env.MODELS_VERBOSE);
  for (const backend of await testBackends()) {
    test(`${backend.name}: repvggModelConvert == official repvgg_model_convert (every rbr_reparam within 1e-5)`, () => {
      const model = new RepVGG(backend, { ...cfg, init: false });
      loadStateDict(model, trainFile.tensors);
      model.eval();
      const fused = repvggModelConvert(model);
      const ours = stateDict(fused);
      assert.equal([...ours.keys()], [...deployFile.tensors.keys()], 'deploy state dict keys and order');
      let worst = 0;
      let reparams = 0;
      for (const [k, t] of deployFile.tensors) {
        const o = ours.get(k)!;
        assert.equal(o.shape, t.shape, k);
        if (k.includes('rbr_reparam.')) {
          const err = relErr(o.data as Float32Array, t.data as Float32Array);
          assertErr(err, TOL_FORWARD, k);
          worst = Math.max(worst, err);
          reparams++;
        } else {
          assert.equal(Array.from(o.data as Float32Array), Array.from(t.data as Float32Array), `${k} is copied as is`);
        }
      }
      assert.is(reparams, 2 * planBlocks(cfg).length);
      const err = relErr(evalLogits(fused, x), smallTensor('eval.logits_deploy_form').data);
      assertErr(err, TOL_NETWORK, 'logits of our converted model vs PyTorch\'s deploy form');
      if (verbose) console.log(`    ${backend.name} converted weights: worst ${worst.toExponential(2)} over ${reparams} tensors; logits ${err.toExponential(2)}`);
      fused.dispose();
      model.dispose();
    });
  }
}

// ---- fused == multi-branch, every official variant ----

const manifest = modelManifest();
const INPUT = [1, 3, 32, 32];
/** Converted to a copy; the others in place. */
const COPY_CONVERTED = new Set(['A0', 'A1', 'A2', 'B0']);
const CASES: [string, 'reference' | 'wasm-simd'][] = [
  ['A0', 'reference'], ['A0', 'wasm-simd'],
  ...['A1', 'A2', 'B0', 'B1', 'B1g2', 'B1g4', 'B2', 'B2g2', 'B2g4', 'B3', 'B3g2', 'B3g4', 'D2se']
    .map((v) => [v, 'wasm-simd'] as [string, 'wasm-simd']),
];
const summary: string[] = [];

/** Each block's output (eval mode), kept as tensors; the caller disposes them. */
function blockOutputs(model: RepVGG, x: Tensor): Tensor[] {
  const outs: Tensor[] = [];
  let cur = x;
  for (const b of model.blocks) {
    cur = b.forward(cur);
    outs.push(cur);
  }
  return outs;
}

/** gap + linear on the last block's output. */
function head(model: RepVGG, features: Tensor): Float32Array {
  const pooled = model.gap.forward(features);
  const logits = model.linear.forward(pooled);
  pooled.dispose();
  const out = logits.toFloat32Array();
  logits.dispose();
  return out;
}

function keysAndShapes(model: RepVGG): [string, number[]][] {
  return [...stateDict(model)].map(([k, t]) => [k, t.shape]);
}

function sameArray(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

for (const [variant, kind] of CASES) {
  test(`${variant} on ${kind}: fused == multi-branch (eval), per block and end to end`, async () => {
    const t0 = performance.now();
    const backend: Backend = await createBackend(kind);
    const ref = manifest.counts[variant]['1000'];
    const model = createRepVGG(backend, variant, { seed: 11 });
    const tBuild = performance.now();
    assert.is(model.parameterCount(), ref.train, `${variant} training-form parameters (1000 classes)`);
    if (manifest.state_dict_keys[variant] && kind === 'wasm-simd') {
      assert.equal(keysAndShapes(model), manifest.state_dict_keys[variant].train, 'training-form state dict keys');
    }
    randomizeBatchNorms(model, 5);
    model.eval();
    const x = Tensor.from(backend, randomInput(INPUT, 3), INPUT);
    const multi = blockOutputs(model, x);
    const multiLogits = head(model, multi[multi.length - 1]);
    const tMulti = performance.now();

    // Fused kernels a few blocks report before any conversion: the first block, the first with
    // an identity branch, and (B*g2/g4) the first grouped one, which also has an identity.
    const probe = [0, model.blocks.findIndex((b) => b.rbrIdentity !== null),
      model.blocks.findIndex((b) => b.cfg.groups > 1)].filter((i, j, a) => i >= 0 && a.indexOf(i) === j);
    const before = probe.map((i) => model.blocks[i].getEquivalentKernelBias());

    let fused: RepVGG;
    if (COPY_CONVERTED.has(variant)) {
      fused = repvggModelConvert(model);
      assert.ok(fused !== model, 'repvggModelConvert returns a new model by default');
      assert.not.ok(model.deploy, 'the training model is still multi-branch');
      assert.ok(model.blocks.every((b) => b.rbrDense !== null && b.rbr1x1 !== null && b.rbrReparam === null));
      assert.is(model.parameterCount(), ref.train, 'the training model keeps its parameters');
      // Same outputs as before the conversion, bit for bit.
      const again = blockOutputs(model, x);
      again.forEach((t, i) => assert.ok(sameArray(t.toFloat32Array(), multi[i].toFloat32Array()), `block ${i} output changed`));
      assert.ok(sameArray(head(model, again[again.length - 1]), multiLogits), 'logits changed');
      for (const t of again) t.dispose();
    } else {
      fused = repvggModelConvert(model, { inPlace: true });
      assert.ok(fused === model, '{inPlace: true} converts the model itself');
    }
    assert.ok(fused.deploy, 'every block is fused');
    assert.ok(fused.blocks.every((b) => b.rbrReparam !== null && b.rbrDense === null && b.rbr1x1 === null && b.rbrIdentity === null));
    assert.ok(fused.namedParameters().every(([n]) => !/rbr_(dense|1x1|identity)/.test(n)), 'no branch parameters left');
    assert.is(fused.parameterCount(), ref.deploy, `${variant} deploy-form parameters (1000 classes)`);
    if (manifest.state_dict_keys[variant] && kind === 'wasm-simd') {
      assert.equal(keysAndShapes(fused), manifest.state_dict_keys[variant].deploy, 'deploy-form state dict keys');
    }
    probe.forEach((i, j) => {
      const conv = fused.blocks[i].rbrReparam!;
      assert.ok(sameArray(conv.weight.value.toFloat32Array(), before[j].kernel), `block ${i}: getEquivalentKernelBias kernel == switchToDeploy's`);
      assert.ok(sameArray(conv.bias!.value.toFloat32Array(), before[j].bias), `block ${i}: getEquivalentKernelBias bias == switchToDeploy's`);
    });
    const tConvert = performance.now();

    // Each fused block on the multi-branch block's input.
    let worstBlock = 0;
    let worstName = '';
    fused.blocks.forEach((b: RepVGGBlock, i) => {
      const y = b.forward(i === 0 ? x : multi[i - 1]);
      const err = relErr(y.toFloat32Array(), multi[i].toFloat32Array());
      y.dispose();
      if (err > worstBlock) { worstBlock = err; worstName = String(i); }
      assert.ok(err <= TOL_NETWORK, `${variant} block ${i}: fused vs multi-branch relative error ${err.toExponential(3)} > ${TOL_NETWORK}`);
    });
    // The whole fused network.
    const chain = blockOutputs(fused, x);
    const featErr = relErr(chain[chain.length - 1].toFloat32Array(), multi[multi.length - 1].toFloat32Array());
    const logitErr = relErr(head(fused, chain[chain.length - 1]), multiLogits);
    assert.ok(featErr <= TOL_NETWORK, `${variant} last features: relative error ${featErr.toExponential(3)}`);
    assert.ok(logitErr <= TOL_NETWORK, `${variant} logits: relative error ${logitErr.toExponential(3)}`);
    const tFused = performance.now();

    for (const t of [...multi, ...chain, x]) t.dispose();
    if (fused !== model) fused.dispose();
    model.dispose();
    summary.push(`${variant.padEnd(5)} ${kind.padEnd(9)} worst block ${worstBlock.toExponential(2)} (#${worstName}), ` +
      `features ${featErr.toExponential(2)}, logits ${logitErr.toExponential(2)}; ms: build ${(tBuild - t0).toFixed(0)}, ` +
      `multi ${(tMulti - tBuild).toFixed(0)}, convert ${(tConvert - tMulti).toFixed(0)}, fused ${(tFused - tConvert).toFixed(0)}, ` +
      `total ${(tFused - t0).toFixed(0)}`);
  });
}

test.after(() => {
  if (process.env.MODELS_VERBOSE) console.log(`\n${summary.join('\n')}`);
});

test.run();
