// global_avg_pool (assembly/global_avg_pool.ts, src/backends/*/global_avg_pool.ts,
// src/ops/global_avg_pool.ts): the kernels against PyTorch and finite differences, and the ops'
// input validation and equality with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globalAvgPool, globalAvgPoolBackward } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import * as f64 from './helpers/f64.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { gradcheck } from './helpers/gradcheck.js';
import { rand, rng, same } from './helpers/ops.js';
import { Rng } from './helpers/random.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_FORWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('global_avg_pool', (r, c) => {
  const { n, c: ch, h, w } = c.params;
  const x = r.input('x');
  const y = r.outLike('y');
  r.b.globalAvgPool(n, ch, h * w, x, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  r.b.globalAvgPoolBackward(n, ch, h * w, dy, dx);
  r.check(dx, 'dx', TOL_BACKWARD);
});

// ---- finite differences ----

{
  const [n, c, hw] = [2, 3, 7];
  const r = new Rng(600);
  const x = r.normals(n * c * hw);
  await gradcheck({
    name: `globalAvgPool backward x[${n},${c},hw ${hw}]`,
    inputs: { x },
    dy: r.normals(n * c),
    f64: (v) => f64.globalAvgPool(n, c, hw, v.x),
    run: (b, t, dy, out) => {
      const y = out(n * c), dx = out(x.length);
      b.globalAvgPool(n, c, hw, t.x, y);
      b.globalAvgPoolBackward(n, c, hw, dy, dx);
      return { y, grads: { x: dx } };
    },
  });
}

// ---- the ops ----

test('globalAvgPool and its backward: ranks and shapes', () => {
  throwsWith(() => globalAvgPool(rand([2, 8])), [/^globalAvgPool: x must be 4-D \[n, c, h, w\], got shape \[2,8\]/]);
  throwsWith(() => globalAvgPoolBackward(rand([2, 8]), [2, 8, 4, 4]), [/^globalAvgPoolBackward: dy has shape \[2,8\] but the pooled input is \[2,8,4,4\] \(expected \[2,8,1,1\]\)/]);
  throwsWith(() => globalAvgPoolBackward(rand([2, 8, 1, 1]), [2, 8, 0, 4]), [/globalAvgPoolBackward: inputShape: shape \[2,8,0,4\] has dimension 2 = 0/], RangeError);
  throwsWith(() => globalAvgPoolBackward(rand([2, 8, 1, 1]), [2, 8, 16]), [/inputShape must be 4-D/]);
  assert.equal(globalAvgPool(rand([2, 8, 3, 5])).shape, [2, 8, 1, 1]);
});

test('globalAvgPool and globalAvgPoolBackward give exactly what the backend gives', () => {
  for (const b of backends) {
    const xs = rng.normals(2 * 3 * 7 * 7);
    const x = Tensor.from(b, xs, [2, 3, 7, 7]);
    const bx = upload(b, xs);
    const gap = globalAvgPool(x);
    const bgap = b.alloc(6);
    b.globalAvgPool(2, 3, 49, bx, bgap);
    same(gap, download(b, bgap), `${b.name} globalAvgPool`);
    const gdx = b.alloc(xs.length);
    b.globalAvgPoolBackward(2, 3, 49, bgap, gdx);
    same(globalAvgPoolBackward(gap, x.shape), download(b, gdx), `${b.name} globalAvgPoolBackward`);
    for (const buf of [bx, bgap, gdx]) b.free(buf);
  }
});

test.run();
