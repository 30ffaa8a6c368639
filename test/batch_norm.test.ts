// batch_norm (assembly/batch_norm.ts, src/backends/*/batch_norm.ts, src/ops/batch_norm.ts): the
// training, eval and backward kernels against PyTorch and finite differences, and the ops' input
// validation and equality with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batchNormBackward, batchNormEval, batchNormTrain } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { assertClose } from './helpers/compare.js';
import * as f64 from './helpers/f64.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { gradcheck } from './helpers/gradcheck.js';
import { bnParams, rand, rng, same } from './helpers/ops.js';
import { Rng } from './helpers/random.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_FORWARD, TOL_RUNNING_STATS } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

/** Per-channel batch mean and 1 / sqrt(biased var + eps), in float64. */
function batchStats(x: Float32Array, n: number, c: number, hw: number, eps: number) {
  const mean = new Float64Array(c);
  const invStd = new Float64Array(c);
  const count = n * hw;
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) sum += x[(i * c + ch) * hw + j];
    const m = sum / count;
    let sq = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < hw; j++) sq += (x[(i * c + ch) * hw + j] - m) ** 2;
    mean[ch] = m;
    invStd[ch] = 1 / Math.sqrt(sq / count + eps);
  }
  return { mean, invStd };
}

await fixtureTests('batchnorm_train', (r, c) => {
  const { n, c: ch, h, w, momentum, eps } = c.params;
  const hw = h * w;
  const x = r.input('x');
  const gamma = r.input('gamma');
  const beta = r.input('beta');
  const runningMean = r.input('runningMean');
  const runningVar = r.input('runningVar');
  const y = r.outLike('y');
  const saveMean = r.out(ch);
  const saveInvStd = r.out(ch);
  r.b.batchNormTrain(n, ch, hw, x, gamma, beta, runningMean, runningVar, momentum, eps,
    y, saveMean, saveInvStd);
  r.check(y, 'y', TOL_FORWARD);
  r.check(runningMean, 'runningMeanOut', TOL_RUNNING_STATS, 'runningMean (updated)');
  r.check(runningVar, 'runningVarOut', TOL_RUNNING_STATS, 'runningVar (updated)');
  const stats = batchStats(r.data('x'), n, ch, hw, eps);
  assertClose(r.read(saveMean), stats.mean, TOL_FORWARD, 'saveMean');
  assertClose(r.read(saveInvStd), stats.invStd, TOL_FORWARD, 'saveInvStd');

  const dy = r.input('dy');
  const dx = r.outLike('dx');
  const dgamma = r.out(ch);
  const dbeta = r.out(ch);
  r.b.batchNormBackward(n, ch, hw, x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta);
  r.check(dx, 'dx', TOL_BACKWARD);
  r.check(dgamma, 'dgamma', TOL_BACKWARD);
  r.check(dbeta, 'dbeta', TOL_BACKWARD);
});

await fixtureTests('batchnorm_eval', (r, c) => {
  const { n, c: ch, h, w, eps } = c.params;
  const x = r.input('x');
  const y = r.outLike('y');
  const runningMean = r.input('runningMean');
  const runningVar = r.input('runningVar');
  r.b.batchNormEval(n, ch, h * w, x, r.input('gamma'), r.input('beta'), runningMean, runningVar, eps, y);
  r.check(y, 'y', TOL_FORWARD);
  // eval mode leaves the running statistics alone
  assert.equal(r.read(runningMean), r.data('runningMean'), 'runningMean untouched in eval');
  assert.equal(r.read(runningVar), r.data('runningVar'), 'runningVar untouched in eval');
});

// ---- finite differences (training mode), with the forward's statistics and eval mode ----

{
  const [n, c, hw] = [3, 4, 5];
  const eps = 1e-5;
  const momentum = 0.1;
  const r = new Rng(200);
  const x = new Float32Array(n * c * hw);
  // per-channel offsets and scales, so the statistics are not trivial
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / hw) % c;
    x[i] = (ch - 1.5) + (0.5 + ch) * r.normal();
  }
  const gamma = r.uniforms(c, 0.5, 1.5);
  const beta = r.normals(c);
  const runningMean = r.normals(c, 0.1);
  const runningVar = r.uniforms(c, 0.5, 2);
  const ref = f64.batchNormTrain(n, c, hw, x, gamma, beta, eps);
  await gradcheck({
    name: `batchNorm training backward (x, gamma, beta) x[${n},${c},hw ${hw}]`,
    inputs: { x, gamma, beta, runningMean, runningVar },
    dy: r.normals(x.length),
    f64: (v) => f64.batchNormTrain(n, c, hw, v.x, v.gamma, v.beta, eps).y,
    run: (b, t, dy, out) => {
      const y = out(x.length), mean = out(c), invStd = out(c);
      const dx = out(x.length), dgamma = out(c), dbeta = out(c), yEval = out(x.length);
      b.batchNormTrain(n, c, hw, t.x, t.gamma, t.beta, t.runningMean, t.runningVar, momentum, eps, y, mean, invStd);
      b.batchNormBackward(n, c, hw, t.x, dy, t.gamma, mean, invStd, dx, dgamma, dbeta);
      b.batchNormEval(n, c, hw, t.x, t.gamma, t.beta, t.runningMean, t.runningVar, eps, yEval);
      return { y, grads: { x: dx, gamma: dgamma, beta: dbeta }, mean, invStd, yEval };
    },
    // the saved statistics, the running statistics (PyTorch's conventions) and eval mode
    more: ({ name, run, x: t, read }) => {
      assertClose(read(run.mean), ref.mean, TOL_FORWARD, `${name}: saveMean`);
      assertClose(read(run.invStd), ref.varBiased.map((v) => 1 / Math.sqrt(v + eps)), TOL_FORWARD, `${name}: saveInvStd`);
      const runMean = runningMean.map((v, ch) => (1 - momentum) * v + momentum * ref.mean[ch]);
      const runVar = runningVar.map((v, ch) => (1 - momentum) * v + momentum * ref.varUnbiased[ch]);
      assertClose(read(t.runningMean), runMean, TOL_FORWARD, `${name}: runningMean`);
      assertClose(read(t.runningVar), runVar, TOL_FORWARD, `${name}: runningVar`);
      assertClose(read(run.yEval), f64.batchNormEval(n, c, hw, x, gamma, beta, runMean, runVar, eps),
        TOL_FORWARD, `${name}: eval y`);
    },
  });
}

// ---- the ops: validation ----

test('batchNormTrain / batchNormEval: parameter shapes, rank, momentum, eps, one value per channel, aliasing', () => {
  const x = rand([2, 8, 3, 3]);
  const p = bnParams(8);
  throwsWith(() => batchNormTrain(x, { ...p, runningVar: rand([4]) }),
    [/^batchNormTrain: runningVar has shape \[4\] but x \[2,8,3,3\] has 8 channels \(expected \[8\]\)/]);
  throwsWith(() => batchNormEval(x, { ...p, weight: rand([8, 1]) }), [/batchNormEval: weight has shape \[8,1\]/]);
  throwsWith(() => batchNormTrain(rand([2, 8]), p), [/batchNormTrain: x must be 4-D \[n, c, h, w\], got shape \[2,8\]/]);
  throwsWith(() => batchNormEval(rand([2, 8]), p), [/batchNormEval: x must be 4-D \[n, c, h, w\], got shape \[2,8\]/]);
  throwsWith(() => batchNormTrain(x, p, { training: true } as never), [/batchNormTrain: unknown key "training" in opts/], TypeError);
  throwsWith(() => batchNormEval(x, p, { momentum: 0.1 } as never), [/batchNormEval: unknown key "momentum" in opts/], TypeError);
  throwsWith(() => batchNormTrain(x, p, { momentum: 1.5 }), [/batchNormTrain: momentum must be a finite number in \[0, 1\], got 1\.5/], RangeError);
  throwsWith(() => batchNormTrain(x, p, { momentum: -0.1 }), [/momentum .* got -0\.1/], RangeError);
  throwsWith(() => batchNormTrain(x, p, { momentum: NaN }), [/momentum .* got NaN/], RangeError);
  throwsWith(() => batchNormEval(x, p, { eps: 0 }), [/batchNormEval: eps must be a finite number > 0, got 0/], RangeError);
  throwsWith(() => batchNormEval(x, p, { eps: -1e-5 }), [/eps .* got -0\.00001/], RangeError);
  throwsWith(() => batchNormTrain(x, p, { eps: 0 }), [/batchNormTrain: eps must be a finite number > 0, got 0/], RangeError);
  throwsWith(() => batchNormTrain(x, p, { epsilon: 1e-3 } as never), [/batchNormTrain: unknown key "epsilon" in opts/], TypeError);
  throwsWith(() => batchNormTrain(x, { ...p, gamma: p.weight } as never), [/batchNormTrain: unknown key "gamma" in p/], TypeError);
  throwsWith(() => batchNormTrain(x, { ...p, runningMean: undefined } as never), [/batchNormTrain: runningMean must be a Tensor, got undefined/], TypeError);
  throwsWith(() => batchNormEval(x, undefined as never), [/batchNormEval: p must be \{weight, bias, runningMean, runningVar\}, got undefined/], TypeError);
  throwsWith(() => batchNormTrain(rand([1, 8, 1, 1]), p),
    [/batchNormTrain: expected more than 1 value per channel when training, got x \[1,8,1,1\]/]);
  assert.equal(batchNormEval(rand([1, 8, 1, 1]), p).shape, [1, 8, 1, 1], 'eval mode has no such limit');
  assert.equal(batchNormTrain(rand([2, 8, 1, 1]), p).y.shape, [2, 8, 1, 1]);
  throwsWith(() => batchNormTrain(x, { ...p, runningVar: p.runningMean }),
    [/batchNormTrain: runningMean and runningVar are the same tensor/]);
});

test('batchNormBackward: saved statistics required, shapes checked', () => {
  const x = rand([2, 4, 3, 3]);
  const p = bnParams(4);
  const f = batchNormTrain(x, p);
  throwsWith(() => batchNormBackward(x, rand([2, 4, 3, 3]), p.weight, null as never, null as never), [/batchNormBackward: saveMean and saveInvStd are required/, /batchNormTrain/], TypeError);
  throwsWith(() => batchNormBackward(x, rand([2, 4, 3, 2]), p.weight, f.saveMean, f.saveInvStd),
    [/^batchNormBackward: dy has shape \[2,4,3,2\] but x has shape \[2,4,3,3\]/]);
  throwsWith(() => batchNormBackward(x, rand([2, 4, 3, 3]), rand([3]), f.saveMean, f.saveInvStd), [/batchNormBackward: weight has shape \[3\] but x \[2,4,3,3\] has 4 channels/]);
  throwsWith(() => batchNormBackward(x, rand([2, 4, 3, 3]), p.weight, rand([5]), f.saveInvStd), [/saveMean has shape \[5\]/]);
});

// ---- the ops: exactly the backend ----

test('batchNormTrain, batchNormEval and batchNormBackward give exactly what the backend gives', () => {
  for (const b of backends) {
    const [n, c, h, w] = [2, 3, 4, 5];
    const xs = rng.normals(n * c * h * w, 2, 1);
    const gs = rng.normals(c);
    const betas = rng.normals(c);
    const dys = rng.normals(n * c * h * w);
    const x = Tensor.from(b, xs, [n, c, h, w]);
    const p = { weight: Tensor.from(b, gs, [c]), bias: Tensor.from(b, betas, [c]), runningMean: Tensor.zeros(b, [c]), runningVar: Tensor.fill(b, [c], 1) };
    const f = batchNormTrain(x, p, { momentum: 0.2, eps: 1e-3 });
    const e = batchNormEval(x, p, { eps: 1e-3 });
    const g = batchNormBackward(x, Tensor.from(b, dys, [n, c, h, w]), p.weight, f.saveMean, f.saveInvStd);

    const [bx, bg, bbeta, bdy] = [xs, gs, betas, dys].map((d) => upload(b, d));
    const rm = b.alloc(c);
    const rv = upload(b, new Float32Array(c).fill(1));
    const [y, sm, si, ye, dx, dg, db] = [x.size, c, c, x.size, x.size, c, c].map((len) => b.alloc(len));
    b.batchNormTrain(n, c, h * w, bx, bg, bbeta, rm, rv, 0.2, 1e-3, y, sm, si);
    b.batchNormEval(n, c, h * w, bx, bg, bbeta, rm, rv, 1e-3, ye);
    b.batchNormBackward(n, c, h * w, bx, bdy, bg, sm, si, dx, dg, db);
    same(f.y, download(b, y), `${b.name} bn y`);
    same(f.saveMean!, download(b, sm), `${b.name} bn saveMean`);
    same(f.saveInvStd!, download(b, si), `${b.name} bn saveInvStd`);
    same(p.runningMean, download(b, rm), `${b.name} bn runningMean (updated in place)`);
    same(p.runningVar, download(b, rv), `${b.name} bn runningVar (updated in place)`);
    same(e, download(b, ye), `${b.name} bn eval y`);
    assert.equal(e.shape, x.shape, 'eval returns just the normalized tensor');
    same(g.dx, download(b, dx), `${b.name} bn dx`);
    same(g.dweight, download(b, dg), `${b.name} bn dweight`);
    same(g.dbias, download(b, db), `${b.name} bn dbias`);
    for (const buf of [bx, bg, bbeta, bdy, rm, rv, y, sm, si, ye, dx, dg, db]) b.free(buf);
  }
});

test.run();
