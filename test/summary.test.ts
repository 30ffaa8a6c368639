// The summary of an architecture (src/models/summary.ts): the paper's parameter and MAC counts,
// totals equal to the models' own counts, per-stage rows, and the smallest input it accepts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { REPVGG_VARIANTS, RepVGG, type RepVGGConfig } from '../src/models/repvgg.js';
import { formatSummary, summarize } from '../src/models/summary.js';

test('summary: official MACs and params, and the totals of each form equal parameterCount()', async () => {
  // The paper's table (deploy form, 224x224, 1000 classes): params (M) and multiply-adds (G),
  // printed with 2 and 1 decimals, hence the differences allowed.
  const paper: [string, number, number][] = [
    ['A0', 8.30, 1.4], ['A1', 12.78, 2.4], ['A2', 25.49, 5.1], ['B0', 14.33, 3.1], ['B1', 51.82, 11.8],
    ['B1g2', 41.36, 8.8], ['B1g4', 36.12, 7.3], ['B2', 80.31, 18.4], ['B2g4', 55.77, 11.3], ['B3', 110.96, 26.2],
    ['B3g4', 75.62, 16.1],
  ];
  for (const [name, params, gmacs] of paper) {
    const s = summarize({ ...REPVGG_VARIANTS[name] }, { inputSize: [224, 224] });
    assert.ok(Math.abs(s.totals.params.deploy / 1e6 - params) < 0.01, `${name}: ${s.totals.params.deploy} params`);
    assert.ok(Math.abs(s.totals.macs.deploy / 1e9 - gmacs) < 0.05, `${name}: ${s.totals.macs.deploy} MACs`);
  }
  const b = await createBackend('reference');
  const custom: RepVGGConfig = {
    numBlocks: [2, 2, 3, 1], widthMultiplier: [0.5, 0.5, 0.5, 0.5], overrideGroupsMap: { 2: 2, 4: 4 }, useSE: true, numClasses: 7,
  };
  for (const cfg of [{ ...REPVGG_VARIANTS.A0, numClasses: 10 }, custom]) {
    const s = summarize(cfg, { inputSize: [40, 36], batch: 3 });
    for (const deploy of [false, true]) {
      const m = new RepVGG(b, { ...cfg, deploy });
      const form = deploy ? 'deploy' : 'train';
      assert.is(s.totals.params[form], m.parameterCount(), `${form} params`);
      const buffers = m.namedBuffers().reduce((a, [, t]) => a + t.size, 0);
      assert.is(s.totals.buffers[form], buffers, `${form} buffers`);
      assert.is(summarize(m, { inputSize: [40, 36], batch: 3 }).totals.params[form], m.parameterCount(), 'summary of a model');
      m.dispose();
    }
    const rowParams = s.rows.reduce((a, r) => a + r.params.train, 0);
    assert.is(rowParams, s.totals.params.train, 'rows add up');
  }
  const s = summarize(custom, { inputSize: [40, 36] });
  assert.is(s.arch, null, 'custom configuration');
  assert.equal(s.rows[1].groups, [1, 2], 'stage1: blocks 1 and 2 -> groups 1 and 2');
  assert.equal(s.rows[1].outShape, [32, 10, 9], 'stage1 output at 40x36');
  assert.ok(formatSummary(s).includes('total'), 'formats');
});

test('summarize refuses an input smaller than 32x32, naming the size', () => {
  assert.throws(() => summarize({ ...REPVGG_VARIANTS.A0 }, { inputSize: [16, 64] }), /16x64/);
});

test.run();
