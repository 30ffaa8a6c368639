// sigmoid (assembly/sigmoid.ts, src/backends/*/sigmoid.ts, src/ops/sigmoid.ts): the kernels
// against PyTorch and finite differences, and the ops' input validation and equality with the
// backend.
import { test } from 'uvu';
import { sigmoid, sigmoidBackward } from '../src/ops/index.js';
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

await fixtureTests('sigmoid', (r) => {
  const x = r.input('x');
  const y = r.outLike('y');
  r.b.sigmoid(x, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  r.b.sigmoidBackward(y, dy, dx);
  r.check(dx, 'dx', TOL_BACKWARD);
});

// ---- finite differences ----

{
  const len = 41;
  const r = new Rng(400);
  await gradcheck({
    name: `sigmoid backward x[${len}]`,
    inputs: { x: r.normals(len, 3) },
    dy: r.normals(len),
    f64: (v) => f64.sigmoid(v.x),
    run: (b, t, dy, out) => {
      const y = out(len), dx = out(len);
      b.sigmoid(t.x, y);
      b.sigmoidBackward(y, dy, dx);
      return { y, grads: { x: dx } };
    },
  });
}

// ---- the ops ----

test('sigmoidBackward: dy must have the shape of y', () => {
  throwsWith(() => sigmoidBackward(rand([1, 4]), rand([4, 1])), [/^sigmoidBackward: dy has shape \[4,1\] but y has shape \[1,4\]/]);
});

test('sigmoid and sigmoidBackward give exactly what the backend gives', () => {
  for (const b of backends) {
    const as = rng.normals(60);
    const bs = rng.normals(60);
    const a = Tensor.from(b, as, [2, 3, 2, 5]);
    const t = Tensor.from(b, bs, [2, 3, 2, 5]);
    const [ba, bb] = [as, bs].map((d) => upload(b, d));
    const r = b.alloc(as.length);
    b.sigmoid(ba, r);
    same(sigmoid(a), download(b, r), `${b.name} sigmoid`);
    b.sigmoidBackward(ba, bb, r);
    same(sigmoidBackward(a, t), download(b, r), `${b.name} sigmoidBackward`);
    for (const buf of [ba, bb, r]) b.free(buf);
  }
});

test.run();
