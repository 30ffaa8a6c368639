// RepVGG (src/models/repvgg.ts): the block plan and parameter counts of every official variant
// against PyTorch running the official definition, the configuration checks, and one training step
// of a small custom model against PyTorch.
//
// Counts (scripts/repvgg_official.py: sum of numel over model.parameters(), which includes every
// BN's weight and bias), in training and deploy form, with 1000 and with 10 classes, checked two
// ways: by arithmetic over planBlocks (all variants, fast), and by building the model and calling
// parameterCount() (deploy form via repvggModelConvert). Building is cheap for the A and B0
// variants, done here with 10 classes; reparam.test.ts builds every variant with 1000 classes
// anyway and checks those counts there.
//
// The training step: the small custom RepVGG (groups 2 and 4, SE on every block), training-mode
// forward (BN batch statistics), cross entropy (mean) on fixed labels, backward. The input
// gradient and every parameter gradient, by name, within TOL_BACKWARD (norm-wise per tensor); the
// loss within TOL_LOSS; the BN running statistics after that forward within TOL_RUNNING_STATS.
// The reference is PyTorch in float64 on the same float32 weights and input
// (scripts/make-model-fixtures.py), so the errors are ours alone. Both backends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { readTorch } from '../src/io/index.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import { REPVGG_VARIANTS, RepVGG, createRepVGG, planBlocks, repvggModelConvert, type RepVGGConfig } from '../src/models/repvgg.js';
import { loadStateDict } from '../src/models/state-dict.js';
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { testBackends } from './helpers/backends.js';
import { assertErr, relErr } from './helpers/compare.js';
import { modelFixtureBytes, modelManifest, smallConfig, smallTensor } from './helpers/models.js';
import { errorOf } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_LOSS, TOL_NETWORK, TOL_RUNNING_STATS } from './helpers/tolerances.js';

const backends = await testBackends();
const manifest = modelManifest();

// ---- block plan and parameter counts ----

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
  // A count of 7,817,130 leaves out the 23,648 BN weights and biases (3x3, 1x1 and identity
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

// ---- configuration checks ----

test('SE on a stage narrower than 16 channels: a clear error naming the stage', () => {
  const e = errorOf(() => new RepVGG(backends[1], { ...smallConfig(), widthMultiplier: [0.125, 0.25, 0.25, 0.125] }));
  assert.match(e.message, 'useSE needs at least 16 channels');
  assert.match(e.message, 'stage0 8 channels');
});

// ---- one training step against PyTorch ----

const verbose = Boolean(process.env.MODELS_VERBOSE);
const small = manifest.small;
const trainFile = readTorch(modelFixtureBytes('small_train.pt'));

for (const backend of backends) {
  test(`${backend.name}: train-mode forward + cross entropy + backward == PyTorch`, () => {
    const model = new RepVGG(backend, { ...smallConfig(), init: false });
    loadStateDict(model, trainFile.tensors);
    model.train();
    model.inputGrad = true; // this test checks d loss / d input too
    const xs = smallTensor('train.x');
    const x = Tensor.from(backend, xs.data, xs.shape);

    const logits = model.forward(x);
    const logitErr = relErr(logits.toFloat32Array(), smallTensor('train.logits').data);
    assertErr(logitErr, TOL_NETWORK, 'train-mode logits');
    const { loss, dlogits } = softmaxCrossEntropy(logits, small.train_labels);
    const lossErr = Math.abs(loss - small.train_loss) / Math.abs(small.train_loss);
    assertErr(lossErr, TOL_LOSS, `loss ${loss} vs ${small.train_loss}`);
    const dx = model.backward(dlogits)!;
    for (const t of [logits, dlogits]) t.dispose();

    const dxErr = relErr(dx.toFloat32Array(), smallTensor('train.dx').data);
    assertErr(dxErr, TOL_BACKWARD, 'd loss / d input');
    dx.dispose();
    x.dispose();

    const params = new Map(model.namedParameters());
    assert.equal([...params.keys()], small.grad_names, 'parameters by name, in PyTorch\'s order');
    let worst = 0;
    let worstName = '';
    for (const name of small.grad_names) {
      const p = params.get(name)!;
      assert.ok(p.grad !== null, `${name} has no gradient`);
      const err = relErr(p.grad!.toFloat32Array(), smallTensor(`grad.${name}`).data);
      assertErr(err, TOL_BACKWARD, `grad of ${name}`);
      if (err > worst) { worst = err; worstName = name; }
    }

    const buffers = new Map(model.namedBuffers());
    let worstRunning = 0;
    for (const name of small.running_names) {
      const err = relErr(buffers.get(name)!.toFloat32Array(), smallTensor(`running.${name}`).data);
      assertErr(err, TOL_RUNNING_STATS, name);
      worstRunning = Math.max(worstRunning, err);
    }
    for (const [, m] of model.namedModules()) {
      if (m instanceof BatchNorm2d) assert.is(m.numBatchesTracked, small.num_batches_tracked + 1);
    }
    if (verbose) {
      console.log(`    ${backend.name}: logits ${logitErr.toExponential(2)}, loss ${lossErr.toExponential(2)}, ` +
        `dx ${dxErr.toExponential(2)}, worst of ${params.size} parameter grads ${worst.toExponential(2)} (${worstName}), ` +
        `running stats ${worstRunning.toExponential(2)}`);
    }
    model.dispose();
  });
}

test.run();
