// The optimizer (src/train/optimizer.ts) against PyTorch: two training steps of a small grouped
// RepVGG (helpers/train-steps.ts) with SGD (Nesterov and plain), AdamW and label smoothing, all
// with the official weight-decay grouping. After every step each parameter, running statistic and
// num_batches_tracked must match PyTorch's (norm-wise relative error per tensor within TOL_STATE;
// counters exactly), so must the step's change itself (see stepErrors), and the loss within
// TOL_LOSS. The second step reads the momentum / Adam moments of the first, so the optimizer state
// is checked too. Both backends. The worst errors are printed at the end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { testBackends } from './helpers/backends.js';
import { TOL_STATE } from './helpers/tolerances.js';
import { MANIFEST, WorstErrors, runCase } from './helpers/train-steps.js';

const worst = new WorstErrors();

test('fixture: PyTorch made it, with the five cases', () => {
  assert.match(MANIFEST.generator, /^torch /);
  assert.equal(Object.keys(MANIFEST.cases).sort(), ['adamw', 'custom_l2', 'sgd', 'sgd_nesterov', 'sgd_nesterov_ls']);
  // The grouping under test: identity BN weights are decayed, every BN of a conv branch and every bias is not.
  const noDecay = MANIFEST.cases.sgd_nesterov.no_decay;
  assert.ok(noDecay.includes('stage0.rbr_dense.bn.weight') && noDecay.includes('linear.bias'));
  assert.ok(!noDecay.includes('stage2.1.rbr_identity.weight') && noDecay.includes('stage2.1.rbr_identity.bias'));
});

for (const [name, title] of [
  ['sgd_nesterov', 'SGD, momentum 0.9, Nesterov, weight decay 1e-4 (official grouping)'],
  ['sgd', 'SGD, momentum 0.9, no Nesterov, weight decay 1e-4'],
  ['adamw', 'AdamW, lr 1e-3, weight decay 0.05 (official grouping)'],
  ['sgd_nesterov_ls', 'SGD Nesterov with label smoothing 0.1: the loss and the steps'],
] as const) {
  test(`two training steps equal PyTorch's: ${title}`, async () => {
    for (const backend of await testBackends()) runCase(backend, name, worst);
  });
}

test('the checks see the weight decay: a wrong grouping (decay on everything, or on nothing) fails them', async () => {
  const backend = (await testBackends())[1];
  for (const name of ['sgd_nesterov', 'adamw']) {
    for (const [what, noDecay] of [['decay on every parameter', () => false], ['no decay at all', () => true]] as const) {
      const e = runCase(backend, name, worst, { noDecay });
      assert.ok(e.update > 10 * TOL_STATE, `${name} with ${what}: the worst update error is only ${e.update.toExponential(3)}`);
      worst.note(`${backend.name} ${name} with ${what} (must fail)`, e.update, 'worst update');
    }
  }
});

test.after(() => worst.print('optimizer'));

test.run();
