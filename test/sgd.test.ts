// sgd (assembly/sgd.ts, src/backends/*/sgd.ts, src/ops/sgd.ts): three steps of SGD (momentum,
// Nesterov, weight decay) against torch.optim.SGD, and the op's input validation and equality with
// the backend. An optimizer step has no backward, so no finite differences.
import { test } from 'uvu';
import { sgdStep } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { hasTensor } from './helpers/fixtures.js';
import { rand, ref, rng, same } from './helpers/ops.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('sgd', (r, c) => {
  const { lr, momentum, weightDecay, nesterov, steps } = c.params;
  const param = r.input('param');
  const len = param.length;
  const buf = r.zeros(len);
  const grad = r.zeros(len);
  for (const g of r.stepGrads(steps, len)) {
    r.b.view(grad).set(g);
    r.b.sgdStep(param, grad, buf, { lr, momentum, weightDecay, nesterov });
  }
  r.checkParam(param);
  // PyTorch keeps no momentum buffer when momentum is 0: nothing to compare then.
  if (hasTensor(c, 'momentumOut')) r.check(buf, 'momentumOut', TOL_BACKWARD);
});

// ---- the op ----

test('sgdStep: finite hyper-parameters, lr >= 0, nesterov needs momentum, equal and distinct state', () => {
  const p = rand([3, 2]);
  const g = rand([3, 2]);
  const m = Tensor.zeros(ref, [3, 2]);
  throwsWith(() => sgdStep(p, g, m, { lr: NaN }), [/^sgdStep: lr must be a finite number >= 0, got NaN/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: -0.1 }), [/lr .* got -0\.1/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: Infinity }), [/lr .* got Infinity/], RangeError);
  throwsWith(() => sgdStep(p, g, m, {} as never), [/sgdStep: lr must be a finite number >= 0, got undefined/], RangeError);
  throwsWith(() => sgdStep(p, g, m, undefined as never), [/sgdStep: opts must be an object with lr/], TypeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, momentum: -0.9 }), [/sgdStep: momentum .* got -0\.9/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, weightDecay: NaN }), [/sgdStep: weightDecay .* got NaN/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, nesterov: true }), [/sgdStep: nesterov needs momentum > 0, got momentum=0/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, nestrov: true } as never), [/sgdStep: unknown key "nestrov" in opts/], TypeError);
  throwsWith(() => sgdStep(p, rand([2, 3]), m, { lr: 0.1 }), [/^sgdStep: grad has shape \[2,3\] but param has shape \[3,2\]/]);
  throwsWith(() => sgdStep(p, g, Tensor.zeros(ref, [6]), { lr: 0.1 }), [/sgdStep: momentumBuffer has shape \[6\] but param has shape \[3,2\]/]);
  throwsWith(() => sgdStep(p, g, p, { lr: 0.1 }), [/sgdStep: param and momentumBuffer are the same tensor/]);
});

test('sgdStep gives exactly what the backend gives (three Nesterov steps)', () => {
  for (const b of backends) {
    const ps = rng.normals(7);
    const gs = rng.normals(7);
    const p = Tensor.from(b, ps, [7]);
    const g = Tensor.from(b, gs, [7]);
    const mom = Tensor.zeros(b, [7]);
    const [bp, bg] = [ps, gs].map((d) => upload(b, d));
    const bm = b.alloc(7);
    for (let i = 0; i < 3; i++) {
      sgdStep(p, g, mom, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
      b.sgdStep(bp, bg, bm, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    }
    same(p, download(b, bp), `${b.name} sgd param`);
    same(mom, download(b, bm), `${b.name} sgd momentum`);
    for (const buf of [bp, bg, bm]) b.free(buf);
  }
});

test.run();
