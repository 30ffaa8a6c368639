// add (assembly/add.ts, src/backends/*/add.ts, src/ops/add.ts): add and addInPlace against
// PyTorch, and the ops' input validation and equality with the backend. (A sum has no backward
// kernel: its gradient passes through unchanged.)
import { test } from 'uvu';
import { add, addInPlace } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { rand, rng, same } from './helpers/ops.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_FORWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('add', (r) => {
  const a = r.input('a');
  const bb = r.input('b');
  const y = r.outLike('y');
  r.b.add(a, bb, y);
  r.check(y, 'y', TOL_FORWARD);
  // accumulate: dst += src gives the same sum
  const dst = r.input('a');
  r.b.addInPlace(dst, bb);
  r.check(dst, 'y', TOL_FORWARD, 'accumulate(a, b)');
});

// ---- the ops ----

test('add and addInPlace: operands must have equal shapes (no broadcasting)', () => {
  throwsWith(() => add(rand([2, 3]), rand([3, 2])), [/^add: b has shape \[3,2\] but a has shape \[2,3\]; they must be equal/]);
  throwsWith(() => add(rand([2, 3]), rand([6])), [/add: b has shape \[6\]/]);
  throwsWith(() => addInPlace(rand([2, 3]), rand([2, 4])), [/^addInPlace: src has shape \[2,4\] but dst has shape \[2,3\]/]);
});

test('add and addInPlace give exactly what the backend gives', () => {
  for (const b of backends) {
    const as = rng.normals(60);
    const bs = rng.normals(60);
    const a = Tensor.from(b, as, [2, 3, 2, 5]);
    const t = Tensor.from(b, bs, [2, 3, 2, 5]);
    const [ba, bb] = [as, bs].map((d) => upload(b, d));
    const r = b.alloc(as.length);
    b.add(ba, bb, r);
    same(add(a, t), download(b, r), `${b.name} add`);
    b.addInPlace(ba, bb);
    addInPlace(a, t);
    same(a, download(b, ba), `${b.name} addInPlace`);
    for (const buf of [ba, bb, r]) b.free(buf);
  }
});

test.run();
