// configFromWeights (src/models/config-from-weights.ts): the architecture read off a state dict's
// keys and shapes. PyTorch's own key lists (models.json: A0, B1g2, D2se in both forms), the small
// fixture (groups 2 and 4, SE) and a custom one-channel network must come back as they were built.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import type { FileTensor } from '../src/io/types.js';
import { readTorch } from '../src/io/torch.js';
import { configFromWeights } from '../src/models/config-from-weights.js';
import { REPVGG_VARIANTS, RepVGG, planBlocks, repvggModelConvert } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { modelFixtureBytes, modelManifest, smallConfig } from './helpers/models.js';

/** Shapes only: configFromWeights never reads values. */
function shapesOnly(keys: [string, number[]][]): Map<string, FileTensor> {
  return new Map(keys.map(([k, shape]) => [k, { dtype: 'float32', sourceDtype: 'float32', shape, data: new Float32Array(0) }]));
}

for (const variant of ['A0', 'B1g2', 'D2se']) {
  for (const form of ['train', 'deploy'] as const) {
    test(`${variant} (${form} form, PyTorch's keys): the variant, 1000 classes, 3 channels`, () => {
      const { config, variant: found } = configFromWeights(shapesOnly(modelManifest().state_dict_keys[variant][form]));
      assert.is(found, variant);
      assert.is(config.numClasses, 1000);
      assert.is(config.inChannels, 3);
      assert.is(config.deploy, form === 'deploy');
      const preset = REPVGG_VARIANTS[variant];
      assert.equal(planBlocks(config), planBlocks({ ...preset, numClasses: 1000 }));
    });
  }
}

test('the small fixture (groups 2 and 4, SE): its configuration, no official variant', () => {
  const { tensors } = readTorch(modelFixtureBytes('small_train.pt'));
  const { config, variant } = configFromWeights(tensors);
  const want = smallConfig();
  assert.is(variant, null);
  assert.equal(config.numBlocks, want.numBlocks);
  assert.equal(config.widthMultiplier, want.widthMultiplier);
  assert.equal(config.overrideGroupsMap, want.overrideGroupsMap);
  assert.is(config.useSE, true);
  assert.is(config.numClasses, want.numClasses);
});

test('a custom one-channel network (as the browser demo trains), both forms', async () => {
  const b = await createBackend('wasm-simd');
  const cfg = { numBlocks: [1, 1, 2, 1] as [number, number, number, number], widthMultiplier: [0.25, 0.25, 0.5, 0.5] as [number, number, number, number], numClasses: 10, inChannels: 1 };
  const m = new RepVGG(b, cfg);
  const d = repvggModelConvert(m);
  try {
    for (const [model, deploy] of [[m, false], [d, true]] as const) {
      const { config, variant } = configFromWeights(stateDict(model));
      assert.is(variant, null);
      assert.equal(config.numBlocks, cfg.numBlocks);
      assert.equal(config.widthMultiplier, cfg.widthMultiplier);
      assert.equal(config.overrideGroupsMap, {});
      assert.is(config.useSE, false);
      assert.is(config.inChannels, 1);
      assert.is(config.numClasses, 10);
      assert.is(config.deploy, deploy);
    }
  } finally {
    m.dispose();
    d.dispose();
  }
});

test('refusals say what is wrong', () => {
  const keys = modelManifest().state_dict_keys.A0.deploy;
  assert.throws(() => configFromWeights(shapesOnly([['linear.weight', [10, 4]]])), /no RepVGG blocks/);
  assert.throws(() => configFromWeights(shapesOnly(keys.filter(([k]) => !k.startsWith('stage4.')))), /stage4 has no blocks/);
  assert.throws(() => configFromWeights(shapesOnly(keys.filter(([k]) => k !== 'linear.weight'))), /linear\.weight/);
  const widened = keys.map(([k, s]): [string, number[]] => (k === 'stage3.5.rbr_reparam.weight' ? [k, [200, 192, 3, 3]] : [k, s]));
  assert.throws(() => configFromWeights(shapesOnly(widened)), /stage3\.5 is \[200, 192, 3, 3\]/);
});

test.run();
