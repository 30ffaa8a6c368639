// relu (assembly/relu.ts, src/backends/*/relu.ts, src/ops/relu.ts): the kernels against PyTorch,
// finite differences and PyTorch's convention at the kink, and the ops' input validation and
// equality with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { relu, reluBackward } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, testEachBackend, upload } from './helpers/backends.js';
import { assertClose } from './helpers/compare.js';
import * as f64 from './helpers/f64.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { gradcheck, withBuffers } from './helpers/gradcheck.js';
import { rand, rng, same } from './helpers/ops.js';
import { Rng } from './helpers/random.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_FINITE_DIFF, TOL_FORWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('relu', (r) => {
  const x = r.input('x');
  const y = r.outLike('y');
  r.b.relu(x, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  r.b.reluBackward(x, dy, dx);
  r.check(dx, 'dx', TOL_BACKWARD);
  // the interface allows passing the ReLU's output instead of its input
  const dx2 = r.outLike('dx');
  r.b.reluBackward(y, dy, dx2);
  r.check(dx2, 'dx', TOL_BACKWARD, 'dx (from the output y)');
});

// ---- finite differences, and the kink ----

{
  const len = 37;
  const r = new Rng(300);
  // normal values pushed at least 0.05 away from zero (the kink)
  const x = r.normals(len).map((v) => (v < 0 ? v - 0.05 : v + 0.05));
  await gradcheck({
    name: `relu backward x[${len}]`,
    inputs: { x },
    dy: r.normals(len),
    f64: (v) => f64.relu(v.x),
    run: (b, t, dy, out) => {
      const y = out(len), dx = out(len), dxFromY = out(len);
      b.relu(t.x, y);
      b.reluBackward(t.x, dy, dx);
      b.reluBackward(y, dy, dxFromY); // the ReLU's output works as well as its input
      return { y, grads: { x: dx }, dxFromY };
    },
    more: ({ name, run, read, fd }) => assertClose(read(run.dxFromY), fd('x'), TOL_FINITE_DIFF, `${name}: dx (from the output)`),
  });
}

// Where finite differences cannot decide: PyTorch's convention.
await testEachBackend('relu backward at x = 0 and -0 gives 0 x[4]', (b, name) => {
  withBuffers(b, (up, out) => {
    const dx = out(4);
    b.reluBackward(up([0, -0, 1, -1]), up([3, 5, 7, 11]), dx);
    assert.equal(Array.from(download(b, dx)), [0, 0, 7, 0], name);
  });
});

// ---- the ops ----

test('reluBackward: dy must have the shape of x', () => {
  throwsWith(() => reluBackward(rand([4]), rand([5])), [/^reluBackward: dy has shape \[5\] but x has shape \[4\]/]);
});

test('relu and reluBackward give exactly what the backend gives', () => {
  for (const b of backends) {
    const as = rng.normals(60);
    const bs = rng.normals(60);
    const a = Tensor.from(b, as, [2, 3, 2, 5]);
    const t = Tensor.from(b, bs, [2, 3, 2, 5]);
    const [ba, bb] = [as, bs].map((d) => upload(b, d));
    const r = b.alloc(as.length);
    b.relu(ba, r);
    same(relu(a), download(b, r), `${b.name} relu`);
    b.reluBackward(ba, bb, r);
    same(reluBackward(a, t), download(b, r), `${b.name} reluBackward`);
    for (const buf of [ba, bb, r]) b.free(buf);
  }
});

test.run();
