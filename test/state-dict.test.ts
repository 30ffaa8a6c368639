// State dicts (src/models/state-dict.ts): PyTorch checkpoints of a small custom RepVGG (groups 2
// and 4 on identity and stride-2 blocks, SE on every block, random BN statistics), written by
// scripts/make-model-fixtures.py with the official definition, read with src/io's torch reader,
// loaded with loadStateDict and run in eval mode against PyTorch's logits (computed in float64);
// the names, order and shapes of A0's state dict; then bad dicts and files: what the errors say.
// (The last test, damaged .pt files, exercises the torch reader, src/io/torch.ts, on these
// fixtures.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { readTorch, type FileTensor } from '../src/io/index.js';
import { RepVGG, createRepVGG } from '../src/models/repvgg.js';
import { StateDictError, detectForm, loadStateDict, stateDict, type StateDict } from '../src/models/state-dict.js';
import { testBackends } from './helpers/backends.js';
import { assertErr, relErr } from './helpers/compare.js';
import { evalLogits, modelFixtureBytes, modelManifest, smallConfig, smallTensor } from './helpers/models.js';
import { errorOf } from './helpers/throws.js';
import { TOL_NETWORK } from './helpers/tolerances.js';

const backends = await testBackends();
const manifest = modelManifest();
const cfg = smallConfig();
const trainFile = readTorch(modelFixtureBytes('small_train.pt'));
const deployFile = readTorch(modelFixtureBytes('small_deploy.pt'));
const x = smallTensor('eval.x');
const verbose = Boolean(process.env.MODELS_VERBOSE);

test('the files hold the state dicts torch.save wrote', () => {
  assert.is(trainFile.format, 'zip');
  assert.is(detectForm(trainFile.tensors.keys()), 'train');
  assert.is(detectForm(deployFile.tensors.keys()), 'deploy');
  const nbt = trainFile.tensors.get('stage1.1.rbr_identity.num_batches_tracked')!;
  assert.is(nbt.dtype, 'int64');
  assert.is(Number(nbt.data[0]), manifest.small.num_batches_tracked);
});

for (const backend of backends) {
  test(`${backend.name}: training-form checkpoint -> loadStateDict -> eval logits == PyTorch`, () => {
    const model = new RepVGG(backend, { ...cfg, init: false });
    const report = loadStateDict(model, trainFile.tensors);
    assert.equal(report, { missing: [], unexpected: [], mismatched: [] });
    const err = relErr(evalLogits(model, x), smallTensor('eval.logits_train_form').data);
    assertErr(err, TOL_NETWORK, 'logits (training form)');
    if (verbose) console.log(`    ${backend.name} training-form logits: ${err.toExponential(2)}`);
    // The state dict going out is the one that came in: same keys, same order, same values.
    const out = stateDict(model);
    assert.equal([...out.keys()], [...trainFile.tensors.keys()], 'state dict keys and order (PyTorch\'s)');
    for (const [k, t] of trainFile.tensors) {
      const o = out.get(k)!;
      assert.equal(o.shape, t.shape, k);
      assert.equal(Array.from(o.data as ArrayLike<number | bigint>), Array.from(t.data as ArrayLike<number | bigint>), k);
    }
    model.dispose();
  });

  test(`${backend.name}: deploy-form checkpoint -> deploy: true model -> eval logits == PyTorch`, () => {
    const model = new RepVGG(backend, { ...cfg, deploy: true, init: false });
    loadStateDict(model, deployFile.tensors);
    const err = relErr(evalLogits(model, x), smallTensor('eval.logits_deploy_form').data);
    assertErr(err, TOL_NETWORK, 'logits (deploy form)');
    if (verbose) console.log(`    ${backend.name} deploy-form logits: ${err.toExponential(2)}`);
    model.dispose();
  });
}

test('A0 state dict: the names, order and shapes of PyTorch\'s, in both forms', async () => {
  const backend = await createBackend('wasm-simd');
  for (const form of ['train', 'deploy'] as const) {
    const model = createRepVGG(backend, 'A0', { deploy: form === 'deploy', init: false });
    const ours = [...stateDict(model)].map(([k, t]) => [k, t.shape]);
    assert.equal(ours, manifest.state_dict_keys.A0[form], `A0 ${form} form`);
    model.dispose();
  }
});

test('a {state_dict: ...} checkpoint with DataParallel\'s module. prefix loads the same', () => {
  const wrapped = readTorch(modelFixtureBytes('small_wrapped.pt'));
  assert.ok(wrapped.notes.some((n) => n.includes("'state_dict'")), wrapped.notes.join('; '));
  assert.ok(wrapped.notes.some((n) => n.includes("'module.'")), wrapped.notes.join('; '));
  assert.equal([...wrapped.tensors.keys()], [...trainFile.tensors.keys()]);
  const backend = backends[1];
  const model = new RepVGG(backend, { ...cfg, init: false });
  loadStateDict(model, wrapped.tensors);
  assertErr(relErr(evalLogits(model, x), smallTensor('eval.logits_train_form').data), TOL_NETWORK, 'logits');
  // Kept prefixed, the load fails and says why.
  const raw = readTorch(modelFixtureBytes('small_wrapped.pt'), { stripPrefixes: false });
  const e = errorOf(() => loadStateDict(model, raw.tensors));
  assert.instance(e, StateDictError);
  assert.match(e.message, "every key starts with 'module.'");
  model.dispose();
});

// ---- bad dicts ----

function edited(edit: (d: StateDict) => void): StateDict {
  const d: StateDict = new Map(trainFile.tensors);
  edit(d);
  return d;
}

function f32(shape: number[]): FileTensor {
  return { dtype: 'float32', sourceDtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

test('missing, unexpected and mis-shaped keys are all listed by name', () => {
  const model = new RepVGG(backends[1], { ...cfg, init: false });
  const dict = edited((d) => {
    d.delete('stage2.1.rbr_identity.running_var');
    d.delete('linear.bias');
    d.set('stage5.0.rbr_dense.conv.weight', f32([4, 4, 3, 3]));
    d.set('head.fc.weight', f32([10, 64]));
    d.set('linear.weight', f32([10, 32]));
    d.set('stage3.1.rbr_dense.conv.weight', f32([64, 64, 3, 3])); // groups 4: [64, 16, 3, 3]
  });
  const e = errorOf(() => loadStateDict(model, dict));
  assert.instance(e, StateDictError);
  const r = (e as StateDictError).report;
  assert.equal(r.missing.sort(), ['linear.bias', 'stage2.1.rbr_identity.running_var']);
  assert.equal(r.unexpected.sort(), ['head.fc.weight', 'stage5.0.rbr_dense.conv.weight']);
  assert.equal(r.mismatched.map((m) => m.key).sort(), ['linear.weight', 'stage3.1.rbr_dense.conv.weight']);
  for (const k of ['linear.bias', 'stage2.1.rbr_identity.running_var', 'head.fc.weight', 'stage5.0.rbr_dense.conv.weight']) {
    assert.match(e.message, k);
  }
  assert.match(e.message, 'linear.weight (expected [10,64], got [10,32])');
  assert.match(e.message, 'stage3.1.rbr_dense.conv.weight (expected [64,16,3,3], got [64,64,3,3])');
  assert.match(e.message, /missing keys \(2\)/);
  assert.match(e.message, /unexpected keys \(2\)/);
  assert.match(e.message, /mis-shaped keys \(2\)/);
  // Nothing was loaded: the model still holds its (zero) initial weights.
  assert.ok(model.blocks[0].rbrDense!.namedParameters()[0][1].value.toFloat32Array().every((v) => v === 0));

  // Not strict: the good keys load, the report comes back.
  const report = loadStateDict(model, dict, { strict: false });
  assert.equal(report.missing.length + report.unexpected.length + report.mismatched.length, 6);
  const w = model.namedParameters().find(([n]) => n === 'stage0.rbr_dense.conv.weight')![1].value.toFloat32Array();
  assert.equal(Array.from(w), Array.from(trainFile.tensors.get('stage0.rbr_dense.conv.weight')!.data as Float32Array));
  model.dispose();
});

test('a deploy-form dict into a training-form model: the message says it is a deploy checkpoint', () => {
  const model = new RepVGG(backends[1], { ...cfg, init: false });
  const e = errorOf(() => loadStateDict(model, deployFile.tensors));
  assert.instance(e, StateDictError);
  assert.match(e.message, 'deploy-form (re-parameterized) checkpoint');
  assert.match(e.message, 'deploy: true');
  model.dispose();
  // And the reverse.
  const deployModel = new RepVGG(backends[1], { ...cfg, deploy: true, init: false });
  const e2 = errorOf(() => loadStateDict(deployModel, trainFile.tensors));
  assert.instance(e2, StateDictError);
  assert.match(e2.message, 'training-form checkpoint');
  deployModel.dispose();
});

test('integer values where floats belong: refused before anything is copied', () => {
  const model = new RepVGG(backends[1], { ...cfg, init: false });
  const dict = edited((d) => d.set('stage0.rbr_dense.bn.running_mean',
    { dtype: 'int64', sourceDtype: 'int64', shape: [16], data: new BigInt64Array(16) }));
  const e = errorOf(() => loadStateDict(model, dict));
  assert.match(e.message, 'stage0.rbr_dense.bn.running_mean (int64)');
  assert.ok(model.namedParameters().every(([, p]) => p.value.toFloat32Array().every((v) => v === 0 || v === 1)), 'model untouched');
  model.dispose();
});

test('a dict for another architecture is refused with the differences named', () => {
  const model = new RepVGG(backends[1], { ...cfg, numBlocks: [2, 3, 3, 1], init: false });
  const e = errorOf(() => loadStateDict(model, trainFile.tensors));
  assert.instance(e, StateDictError);
  assert.match(e.message, 'stage3.2.rbr_dense.conv.weight');
  model.dispose();
});

test('a truncated or damaged .pt: a clear Error, not a crash', () => {
  const bytes = modelFixtureBytes('small_train.pt');
  for (const n of [0, 3, 10, 100, bytes.length >> 1, bytes.length - 100, bytes.length - 1]) {
    const e = errorOf(() => readTorch(bytes.subarray(0, n)));
    assert.match(e.message, /torch checkpoint/, `cut at ${n}: ${e.message}`);
    assert.match(e.message, /truncated|too short|not a PyTorch file/, `cut at ${n}: ${e.message}`);
  }
  // One flipped byte inside a tensor's storage: the ZIP CRC catches it.
  const damaged = bytes.slice();
  damaged[bytes.length >> 1] ^= 0xff;
  const e = errorOf(() => readTorch(damaged));
  assert.match(e.message, /torch checkpoint/);
  assert.match(e.message, /CRC|crc|corrupt/);
});

test.run();
