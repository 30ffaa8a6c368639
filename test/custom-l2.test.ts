// The official custom L2 (src/train/custom-l2.ts) against PyTorch: two training steps of a small
// grouped RepVGG (helpers/train-steps.ts) with SGD Nesterov and get_custom_L2 in place of plain
// weight decay on rbr_dense / rbr_1x1, checked as optimizer.test.ts checks its cases, and the L2
// term itself. Both backends. The worst errors are printed at the end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RepVGG } from '../src/models/repvgg.js';
import { loadStateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { applyCustomL2 } from '../src/train/custom-l2.js';
import { testBackends } from './helpers/backends.js';
import { TOL_LOSS } from './helpers/tolerances.js';
import { BATCHES, CONFIG, INIT, MANIFEST, WorstErrors, runCase } from './helpers/train-steps.js';

const worst = new WorstErrors();

test(`two training steps equal PyTorch's: SGD Nesterov with the official custom L2 (no plain decay on rbr_dense / rbr_1x1)`, async () => {
  for (const backend of await testBackends()) runCase(backend, 'custom_l2', worst);
});

test('the custom L2 term equals the official get_custom_L2 sum (loss difference against plain CE)', async () => {
  // custom_l2 and sgd_nesterov start from the same weights and batch: their first-step losses
  // differ by exactly wd / 2 * sum(get_custom_L2()) in PyTorch.
  const ref = MANIFEST.cases.custom_l2.loss[0] - MANIFEST.cases.sgd_nesterov.loss[0];
  for (const backend of await testBackends()) {
    const model = new RepVGG(backend, { ...CONFIG, init: false });
    loadStateDict(model, INIT);
    model.train();
    // get_custom_L2 reads the running variance after the step's forward, as PyTorch's loss does.
    const x = Tensor.from(backend, BATCHES[0].x, BATCHES[0].shape);
    model.forward(x).dispose();
    model.releaseSaved();
    x.dispose();
    const penalty = applyCustomL2(model, MANIFEST.cases.custom_l2.weight_decay);
    const err = Math.abs(penalty - ref) / Math.abs(ref);
    worst.note(`${backend.name} custom L2 term`, err, `${penalty} vs PyTorch ${ref}`);
    // A loss term: TOL_LOSS (PyTorch's losses are float64 sums, so their difference is exact enough).
    assert.ok(err <= TOL_LOSS, `${backend.name}: custom L2 term ${penalty} vs PyTorch ${ref} (relative error ${err.toExponential(3)})`);
    model.zeroGrad();
    model.dispose();
  }
});

test.after(() => worst.print('custom-l2'));

test.run();
