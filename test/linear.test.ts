// linear (assembly/linear.ts, src/backends/*/linear.ts, src/ops/linear.ts): the kernels against
// PyTorch and finite differences, with and without bias and input gradient, and the ops' input
// validation and equality with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linear, linearBackward } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { assertClose } from './helpers/compare.js';
import * as f64 from './helpers/f64.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { hasTensor } from './helpers/fixtures.js';
import { gradcheck } from './helpers/gradcheck.js';
import { rand, rng, same } from './helpers/ops.js';
import { Rng } from './helpers/random.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_FINITE_DIFF, TOL_FORWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('linear', (r, c) => {
  const { n, inF, outF, bias } = c.params;
  assert.is(hasTensor(c, 'b'), bias, 'bias tensor present iff params.bias');
  const x = r.input('x');
  const w = r.input('w');
  const b = bias ? r.input('b') : null;
  const y = r.outLike('y');
  r.b.linear(n, inF, outF, x, w, b, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  const dw = r.outLike('dw');
  const db = bias ? r.outLike('db') : null;
  r.b.linearBackward(n, inF, outF, x, w, dy, dx, dw, db);
  r.check(dx, 'dx', TOL_BACKWARD);
  r.check(dw, 'dw', TOL_BACKWARD);
  if (db) r.check(db, 'db', TOL_BACKWARD);
  // without dx (the first layer's case)
  const dw2 = r.outLike('dw');
  const db2 = bias ? r.outLike('db') : null;
  r.b.linearBackward(n, inF, outF, x, w, dy, null, dw2, db2);
  r.check(dw2, 'dw', TOL_BACKWARD, 'dw (dx = null)');
  if (db2) r.check(db2, 'db', TOL_BACKWARD, 'db (dx = null)');
});

// ---- finite differences ----

{
  const [n, inF, outF] = [3, 7, 4];
  const r = new Rng(800);
  const x = r.normals(n * inF);
  const w = r.normals(outF * inF, 0.5);
  const bias = r.normals(outF);
  await gradcheck({
    name: `linear backward (x, w, b) x[${n},${inF}] w[${outF},${inF}]`,
    inputs: { x, w, b: bias },
    dy: r.normals(n * outF),
    f64: (v) => f64.linear(n, inF, outF, v.x, v.w, v.b),
    run: (b, t, dy, out) => {
      const y = out(n * outF), yNoBias = out(n * outF), dx = out(x.length), dw = out(w.length), db = out(outF);
      const dwOnly = out(w.length);
      b.linear(n, inF, outF, t.x, t.w, t.b, y);
      b.linear(n, inF, outF, t.x, t.w, null, yNoBias);
      b.linearBackward(n, inF, outF, t.x, t.w, dy, dx, dw, db);
      b.linearBackward(n, inF, outF, t.x, t.w, dy, null, dwOnly, null); // first layer, no bias
      return { y, grads: { x: dx, w: dw, b: db }, yNoBias, dwOnly };
    },
    more: ({ name, run, read, fd }) => {
      assertClose(read(run.yNoBias), f64.linear(n, inF, outF, x, w, null), TOL_FORWARD, `${name}: y without bias`);
      assertClose(read(run.dwOnly), fd('w'), TOL_FINITE_DIFF, `${name}: dw (dx and db null)`);
    },
  });
}

// ---- the ops ----

test('linear: ranks, feature counts, bias and dy shapes', () => {
  const x = rand([4, 6]);
  throwsWith(() => linear(rand([4, 6, 1, 1]), rand([3, 6]), null), [/^linear: x must be 2-D \[n, in_features\] \(flatten it first\), got shape \[4,6,1,1\]/]);
  throwsWith(() => linear(x, rand([3, 5]), null), [/^linear: weight \[3,5\] takes 5 input features but x \[4,6\] has 6/]);
  throwsWith(() => linear(x, rand([3, 6]), rand([4])), [/linear: bias has shape \[4\] but weight has 3 output features \(expected \[3\]\)/]);
  throwsWith(() => linearBackward(x, rand([3, 6]), rand([4, 4])), [/^linearBackward: dy has shape \[4,4\]/, /expected \[4,3\]/]);
  throwsWith(() => linearBackward(x, rand([3, 6]), rand([4, 3]), { weight: true } as never), [/linearBackward: unknown key "weight" in needs/], TypeError);
  const g = linearBackward(x, rand([3, 6]), rand([4, 3]), { input: false, bias: true });
  assert.is(g.dx, null);
  assert.equal(g.db?.shape, [3]);
});

test('linear and linearBackward give exactly what the backend gives', () => {
  for (const b of backends) {
    const ls = rng.normals(2 * 5);
    const wls = rng.normals(4 * 5);
    const bls = rng.normals(4);
    const dys = rng.normals(2 * 4);
    const lx = Tensor.from(b, ls, [2, 5]);
    const lw = Tensor.from(b, wls, [4, 5]);
    const y = linear(lx, lw, Tensor.from(b, bls, [4]));
    const g = linearBackward(lx, lw, Tensor.from(b, dys, [2, 4]), { bias: true });
    const [blx, blw, blb, bdy] = [ls, wls, bls, dys].map((d) => upload(b, d));
    const [by, bdx, bdw, bdb] = [8, 10, 20, 4].map((len) => b.alloc(len));
    b.linear(2, 5, 4, blx, blw, blb, by);
    b.linearBackward(2, 5, 4, blx, blw, bdy, bdx, bdw, bdb);
    same(y, download(b, by), `${b.name} linear`);
    same(g.dx!, download(b, bdx), `${b.name} linear dx`);
    same(g.dw, download(b, bdw), `${b.name} linear dw`);
    same(g.db!, download(b, bdb), `${b.name} linear db`);
    for (const buf of [blx, blw, blb, bdy, by, bdx, bdw, bdb]) b.free(buf);
  }
});

test.run();
