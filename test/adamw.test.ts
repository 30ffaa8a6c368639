// adamw (assembly/adamw.ts, src/backends/*/adamw.ts, src/ops/adamw.ts): three steps of AdamW
// against torch.optim.AdamW, and the op's input validation and equality with the backend. An
// optimizer step has no backward, so no finite differences.
import { test } from 'uvu';
import { adamwStep } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { rand, ref, rng, same } from './helpers/ops.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('adamw', (r, c) => {
  const { lr, beta1, beta2, eps, weightDecay, steps } = c.params;
  const param = r.input('param');
  const len = param.length;
  const m = r.zeros(len);
  const v = r.zeros(len);
  const grad = r.zeros(len);
  r.stepGrads(steps, len).forEach((g, i) => {
    r.b.view(grad).set(g);
    r.b.adamwStep(param, grad, m, v, { lr, beta1, beta2, eps, weightDecay, step: i + 1 });
  });
  r.checkParam(param);
  r.check(m, 'mOut', TOL_BACKWARD, 'm (exp_avg)');
  r.check(v, 'vOut', TOL_BACKWARD, 'v (exp_avg_sq)');
});

// ---- the op ----

test('adamwStep: betas in [0, 1), eps and weight decay >= 0, step a positive integer, state shapes', () => {
  const p = rand([5]);
  const g = rand([5]);
  const m = Tensor.zeros(ref, [5]);
  const v = Tensor.zeros(ref, [5]);
  throwsWith(() => adamwStep(p, g, m, v, { lr: NaN, step: 1 }), [/^adamwStep: lr must be a finite number >= 0, got NaN/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, beta1: 1, step: 1 }), [/adamwStep: beta1 must be a finite number in \[0, 1\), got 1/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, beta2: -0.5, step: 1 }), [/beta2 .* got -0\.5/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, eps: -1, step: 1 }), [/adamwStep: eps .* got -1/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, weightDecay: Infinity, step: 1 }), [/weightDecay .* got Infinity/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, step: 0 }), [/adamwStep: step must be a positive integer, got 0/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, step: 2.5 }), [/step .* got 2\.5/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3 } as never), [/step .* got undefined/], RangeError);
  throwsWith(() => adamwStep(p, g, m, rand([4]), { lr: 1e-3, step: 1 }), [/^adamwStep: v has shape \[4\] but param has shape \[5\]/]);
  throwsWith(() => adamwStep(p, g, m, m, { lr: 1e-3, step: 1 }), [/adamwStep: m and v are the same tensor/]);
});

test('adamwStep gives exactly what the backend gives (three steps, torch defaults)', () => {
  for (const b of backends) {
    const ps = rng.normals(7);
    const gs = rng.normals(7);
    const p = Tensor.from(b, ps, [7]);
    const g = Tensor.from(b, gs, [7]);
    const m = Tensor.zeros(b, [7]);
    const v = Tensor.zeros(b, [7]);
    const [bp, bg] = [ps, gs].map((d) => upload(b, d));
    const bm = b.alloc(7);
    const bv = b.alloc(7);
    for (let step = 1; step <= 3; step++) {
      adamwStep(p, g, m, v, { lr: 1e-2, step });
      b.adamwStep(bp, bg, bm, bv, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step });
    }
    same(p, download(b, bp), `${b.name} adamw param (torch defaults)`);
    same(m, download(b, bm), `${b.name} adamw m`);
    same(v, download(b, bv), `${b.name} adamw v`);
    for (const buf of [bp, bg, bm, bv]) b.free(buf);
  }
});

test.run();
