// Parameter counts of every official variant against PyTorch running the official definition
// (scripts/repvgg_official.py: sum of numel over model.parameters(), which includes every BN's
// weight and bias), in training and deploy form, with 1000 and with 10 classes.
//
// Every count is checked two ways: by arithmetic over planBlocks (all variants, fast), and by
// building the model and calling parameterCount() (deploy form via repvggModelConvert). Building
// is cheap for the A and B0 variants, done here with 10 classes; models-fused.test.ts builds every
// variant with 1000 classes anyway and checks those counts there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { REPVGG_VARIANTS, createRepVGG, planBlocks, repvggModelConvert, type RepVGGConfig } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { modelManifest } from './helpers/models.js';

const manifest = modelManifest();
const VARIANTS = ['A0', 'A1', 'A2', 'B0', 'B1', 'B1g2', 'B1g4', 'B2', 'B2g2', 'B2g4', 'B3', 'B3g2', 'B3g4', 'D2se'];

/** Trainable values of a configuration, from its block plan (the official registration). */
function countFromPlan(cfg: RepVGGConfig, form: 'train' | 'deploy'): number {
  let n = 0;
  const plan = planBlocks(cfg);
  for (const b of plan) {
    const { inChannels: c, outChannels: k, stride, groups: g } = b;
    if (form === 'deploy') {
      n += k * (c / g) * 9 + k; // rbr_reparam weight + bias
    } else {
      n += k * (c / g) * 9 + 2 * k; // rbr_dense.conv, rbr_dense.bn weight + bias
      n += k * (c / g) + 2 * k; // rbr_1x1.conv, rbr_1x1.bn
      if (c === k && stride === 1) n += 2 * c; // rbr_identity weight + bias
    }
    if (cfg.useSE) {
      const r = Math.floor(k / 16);
      n += r * k + r + k * r + k; // se.down, se.up (with biases)
    }
  }
  const classes = cfg.numClasses ?? 1000;
  return n + plan[plan.length - 1].outChannels * classes + classes;
}

test('the fixtures hold every official variant', () => {
  assert.equal(Object.keys(manifest.counts).sort(), [...VARIANTS].sort());
  assert.equal(Object.keys(REPVGG_VARIANTS).sort(), [...VARIANTS].sort());
});

test('planBlocks arithmetic: every variant, both forms, 1000 and 10 classes, equals PyTorch', () => {
  for (const v of VARIANTS) {
    for (const classes of [1000, 10]) {
      const ref = manifest.counts[v][String(classes)];
      const cfg = { ...REPVGG_VARIANTS[v], numClasses: classes };
      assert.is(countFromPlan(cfg, 'train'), ref.train, `${v} (${classes} classes) training form`);
      assert.is(countFromPlan(cfg, 'deploy'), ref.deploy, `${v} (${classes} classes) deploy form`);
    }
  }
});

test('A0 with 10 classes: 7,840,778 training-form and 7,041,194 deploy-form parameters', () => {
  // GUIDE.md's 7,817,130 leaves out the 23,648 BN weights and biases (3x3, 1x1 and identity
  // branches): the official code registers them as parameters, PyTorch counts them.
  assert.equal(manifest.counts.A0['10'], { train: 7_840_778, deploy: 7_041_194 });
  assert.is(manifest.counts.A0['1000'].deploy, 8_309_384); // "about 8.30M"
});

test('built models (A0, A1, A2, B0; 10 classes): parameterCount() equals PyTorch in both forms', async () => {
  const backend = await createBackend('wasm-simd');
  for (const v of ['A0', 'A1', 'A2', 'B0']) {
    const ref = manifest.counts[v]['10'];
    const model = createRepVGG(backend, v, { numClasses: 10 });
    assert.is(model.parameterCount(), ref.train, `${v} training form`);
    const deploy = repvggModelConvert(model);
    assert.is(deploy.parameterCount(), ref.deploy, `${v} deploy form (repvggModelConvert)`);
    const built = createRepVGG(backend, v, { numClasses: 10, deploy: true, init: false });
    assert.is(built.parameterCount(), ref.deploy, `${v} built with deploy: true`);
    for (const m of [model, deploy, built]) m.dispose();
  }
});

test('A0 state dict: the names, order and shapes of PyTorch\'s, in both forms', async () => {
  const backend = await createBackend('wasm-simd');
  for (const form of ['train', 'deploy'] as const) {
    const model = createRepVGG(backend, 'A0', { deploy: form === 'deploy', init: false });
    const ours = [...stateDict(model)].map(([k, t]) => [k, t.shape]);
    assert.equal(ours, manifest.state_dict_keys.A0[form], `A0 ${form} form`);
    model.dispose();
  }
});

test.run();
