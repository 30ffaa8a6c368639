// channel_scale (assembly/channel_scale.ts, src/backends/*/channel_scale.ts,
// src/ops/channel_scale.ts; the SE block's per-channel gate): the kernels against PyTorch and
// finite differences, and the ops' input validation and equality with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { channelScale, channelScaleBackward } from '../src/ops/index.js';
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

await fixtureTests('channel_scale', (r, c) => {
  const { n, c: ch, h, w } = c.params;
  const hw = h * w;
  const x = r.input('x');
  const s = r.input('s');
  const y = r.outLike('y');
  r.b.channelScale(n, ch, hw, x, s, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  const ds = r.outLike('ds');
  r.b.channelScaleBackward(n, ch, hw, x, s, dy, dx, ds);
  r.check(dx, 'dx', TOL_BACKWARD);
  r.check(ds, 'ds', TOL_BACKWARD);
});

// ---- finite differences ----

{
  const [n, c, hw] = [2, 3, 5];
  const r = new Rng(500);
  const x = r.normals(n * c * hw);
  const s = r.uniforms(n * c, 0, 1);
  await gradcheck({
    name: `channelScale backward (x, s) x[${n},${c},hw ${hw}]`,
    inputs: { x, s },
    dy: r.normals(x.length),
    f64: (v) => f64.channelScale(n, c, hw, v.x, v.s),
    run: (b, t, dy, out) => {
      const y = out(x.length), dx = out(x.length), ds = out(s.length);
      b.channelScale(n, c, hw, t.x, t.s, y);
      b.channelScaleBackward(n, c, hw, t.x, t.s, dy, dx, ds);
      return { y, grads: { x: dx, s: ds } };
    },
  });
}

// ---- the ops ----

test('channelScale: s must be [n, c] or [n, c, 1, 1] for x [n, c, h, w]', () => {
  const x = rand([2, 8, 4, 4]);
  throwsWith(() => channelScale(x, rand([8])), [/^channelScale: s has shape \[8\] but x \[2,8,4,4\]/, /expected \[2,8\] or \[2,8,1,1\]/]);
  throwsWith(() => channelScale(x, rand([2, 8, 2, 1])), [/s has shape \[2,8,2,1\]/]);
  throwsWith(() => channelScale(x, rand([1, 8])), [/s has shape \[1,8\]/]);
  throwsWith(() => channelScale(rand([2, 8]), rand([2, 8])), [/channelScale: x must be 4-D/]);
  throwsWith(() => channelScaleBackward(x, rand([2, 8]), rand([2, 8, 4, 5])), [/^channelScaleBackward: dy has shape \[2,8,4,5\] but x has shape \[2,8,4,4\]/]);
  throwsWith(() => channelScaleBackward(x, rand([2, 7]), rand([2, 8, 4, 4])), [/channelScaleBackward: s has shape \[2,7\]/]);
});

test('channelScale and channelScaleBackward give exactly what the backend gives', () => {
  for (const b of backends) {
    const [n, c, hw] = [2, 3, 10];
    const as = rng.normals(n * c * hw);
    const bs = rng.normals(n * c * hw);
    const ss = rng.normals(n * c);
    const a = Tensor.from(b, as, [n, c, 2, 5]);
    const t = Tensor.from(b, bs, [n, c, 2, 5]);
    const sFlat = Tensor.from(b, ss, [n, c]);
    const sKeep = Tensor.from(b, ss, [n, c, 1, 1]);
    const [ba, bb, bsc] = [as, bs, ss].map((d) => upload(b, d));
    const r = b.alloc(as.length);
    b.channelScale(n, c, hw, ba, bsc, r);
    same(channelScale(a, sFlat), download(b, r), `${b.name} channelScale [n,c]`);
    same(channelScale(a, sKeep), download(b, r), `${b.name} channelScale [n,c,1,1]`);
    const ds = b.alloc(n * c);
    b.channelScaleBackward(n, c, hw, ba, bsc, bb, r, ds);
    const g = channelScaleBackward(a, sKeep, t);
    same(g.dx, download(b, r), `${b.name} channelScaleBackward dx`);
    same(g.ds, download(b, ds), `${b.name} channelScaleBackward ds`);
    assert.equal(g.ds.shape, [n, c, 1, 1], 'ds has the shape of s');
    assert.equal(channelScaleBackward(a, sFlat, t).ds.shape, [n, c]);
    for (const buf of [ba, bb, bsc, r, ds]) b.free(buf);
  }
});

test.run();
