// Every kernel of the Backend interface against PyTorch's float32 CPU results
// (test/fixtures/, written by scripts/make-fixtures.py), on every backend.
//
// Output buffers are filled with garbage before each call: the interface says outputs are
// overwritten, so a kernel that accumulates into (or skips part of) its output fails here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outSize, type Backend, type Buf, type Conv2dShape, type Pool2dShape } from '../src/backend.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { assertClose, TOL_BACKWARD, TOL_FORWARD } from './helpers/compare.js';
import {
  FIXTURE_OPS, casesOf, loadFixtures, hasTensor, tensor, type AnyFixtureCase, type FixtureCase,
} from './helpers/fixtures.js';

/** BN running statistics: a forward quantity (GUIDE.md section 3). */
const TOL_RUNNING_STATS = 1e-5;
/** What output buffers hold before a kernel writes them. */
const GARBAGE = 1234.5;

const fixtures = loadFixtures();
const backends = await testBackends();

/** One case on one backend: uploads fixture tensors, allocates outputs, frees everything at the end. */
class Run {
  private readonly bufs: Buf[] = [];
  constructor(readonly b: Backend, readonly c: FixtureCase) {}

  /** A buffer holding the fixture tensor `name`. */
  input(name: string): Buf {
    return this.track(upload(this.b, tensor(this.c, name).data));
  }
  data(name: string): Float32Array {
    return tensor(this.c, name).data;
  }
  /** An output buffer of `length`, pre-filled with garbage. */
  out(length: number): Buf {
    const buf = this.track(this.b.alloc(length));
    this.b.view(buf).fill(GARBAGE);
    return buf;
  }
  /** An output buffer as large as the fixture tensor `name`. */
  outLike(name: string): Buf {
    return this.out(this.data(name).length);
  }
  /** A zero-filled state buffer (optimizer moments). */
  zeros(length: number): Buf {
    return this.track(this.b.alloc(length));
  }
  read(buf: Buf): Float32Array {
    return download(this.b, buf);
  }
  /** Compares the buffer with the fixture tensor `ref`. */
  check(buf: Buf, ref: string, tol: number, what: string = ref): void {
    assertClose(this.read(buf), this.data(ref), tol, what);
  }
  freeAll(): void {
    for (const buf of this.bufs.splice(0)) this.b.free(buf);
  }
  private track(buf: Buf): Buf {
    this.bufs.push(buf);
    return buf;
  }
}

function conv2d(r: Run, c: FixtureCase<'conv2d'>): void {
  const p = c.params;
  const s: Conv2dShape = {
    n: p.n, c: p.c, h: p.h, w: p.w, k: p.k, kh: p.kh, kw: p.kw,
    sh: p.stride, sw: p.stride, ph: p.pad, pw: p.pad, groups: p.groups,
    oh: outSize(p.h, p.kh, p.stride, p.pad), ow: outSize(p.w, p.kw, p.stride, p.pad),
  };
  assert.equal(tensor(c, 'y').shape, [s.n, s.k, s.oh, s.ow], 'output shape from outSize vs PyTorch');
  assert.equal(tensor(c, 'w').shape, [s.k, s.c / s.groups, s.kh, s.kw], 'weight shape');
  assert.is(hasTensor(c, 'b'), p.bias, 'bias tensor present iff params.bias');

  const x = r.input('x');
  const w = r.input('w');
  const bias = p.bias ? r.input('b') : null;
  const y = r.outLike('y');
  r.b.conv2d(s, x, w, bias, y);
  r.check(y, 'y', TOL_FORWARD);

  const dy = r.input('dy');
  const dx = r.outLike('dx');
  r.b.conv2dBackwardInput(s, dy, w, dx);
  r.check(dx, 'dx', TOL_BACKWARD);

  const dw = r.outLike('dw');
  const db = p.bias ? r.outLike('db') : null;
  r.b.conv2dBackwardWeight(s, x, dy, dw, db);
  r.check(dw, 'dw', TOL_BACKWARD);
  if (db) r.check(db, 'db', TOL_BACKWARD);
}

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

function batchnormTrain(r: Run, c: FixtureCase<'batchnorm_train'>): void {
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
}

function batchnormEval(r: Run, c: FixtureCase<'batchnorm_eval'>): void {
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
}

function relu(r: Run): void {
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
}

function sigmoid(r: Run): void {
  const x = r.input('x');
  const y = r.outLike('y');
  r.b.sigmoid(x, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  r.b.sigmoidBackward(y, dy, dx);
  r.check(dx, 'dx', TOL_BACKWARD);
}

function add(r: Run): void {
  const a = r.input('a');
  const bb = r.input('b');
  const y = r.outLike('y');
  r.b.add(a, bb, y);
  r.check(y, 'y', TOL_FORWARD);
  // accumulate: dst += src gives the same sum
  const dst = r.input('a');
  r.b.addInPlace(dst, bb);
  r.check(dst, 'y', TOL_FORWARD, 'accumulate(a, b)');
}

function channelScale(r: Run, c: FixtureCase<'channel_scale'>): void {
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
}

function globalAvgPool(r: Run, c: FixtureCase<'global_avg_pool'>): void {
  const { n, c: ch, h, w } = c.params;
  const x = r.input('x');
  const y = r.outLike('y');
  r.b.globalAvgPool(n, ch, h * w, x, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  r.b.globalAvgPoolBackward(n, ch, h * w, dy, dx);
  r.check(dx, 'dx', TOL_BACKWARD);
}

function maxPool2d(r: Run, c: FixtureCase<'max_pool2d'>): void {
  const p = c.params;
  const s: Pool2dShape = {
    n: p.n, c: p.c, h: p.h, w: p.w, kh: p.kernel, kw: p.kernel,
    sh: p.stride, sw: p.stride, ph: p.pad, pw: p.pad,
    oh: outSize(p.h, p.kernel, p.stride, p.pad), ow: outSize(p.w, p.kernel, p.stride, p.pad),
  };
  assert.equal(tensor(c, 'y').shape, [s.n, s.c, s.oh, s.ow], 'output shape from outSize vs PyTorch');
  const x = r.input('x');
  const y = r.outLike('y');
  r.b.maxPool2d(s, x, y);
  r.check(y, 'y', TOL_FORWARD);
  const dy = r.input('dy');
  const dx = r.outLike('dx');
  r.b.maxPool2dBackward(s, x, dy, dx);
  r.check(dx, 'dx', TOL_BACKWARD);
}

function linear(r: Run, c: FixtureCase<'linear'>): void {
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
}

function crossEntropy(r: Run, c: FixtureCase<'cross_entropy'>): void {
  const { n, classes, smoothing } = c.params;
  const rawLabels = r.data('labels');
  assert.ok(rawLabels.every((v) => Number.isInteger(v) && v >= 0 && v < classes), 'labels are class indices');
  const labels = Int32Array.from(rawLabels);
  const logits = r.input('logits');
  const dlogits = r.outLike('dlogits');
  const loss = r.b.softmaxCrossEntropy(n, classes, logits, labels, smoothing, dlogits);
  assert.type(loss, 'number');
  assertClose([loss], r.data('loss'), TOL_FORWARD, 'loss');
  r.check(dlogits, 'dlogits', TOL_BACKWARD);
}

/** Checks paramOut, and the update alone (paramOut - param), which a wrong small term
 *  (weight decay, bias correction) cannot hide behind the size of the parameters. */
function checkParam(r: Run, param: Buf): void {
  const p0 = r.data('param');
  const ours = r.read(param);
  assertClose(ours, r.data('paramOut'), TOL_BACKWARD, 'paramOut');
  const ref = r.data('paramOut');
  const dOurs = new Float64Array(p0.length);
  const dRef = new Float64Array(p0.length);
  for (let i = 0; i < p0.length; i++) {
    dOurs[i] = ours[i] - p0[i];
    dRef[i] = ref[i] - p0[i];
  }
  assertClose(dOurs, dRef, TOL_BACKWARD, 'update (paramOut - param)');
}

/** The stored gradient of each step, [steps, len]. */
function stepGrads(c: FixtureCase, steps: number, len: number): Float32Array[] {
  const g = tensor(c, 'grads');
  assert.equal(g.shape, [steps, len], 'grads shape [steps, len]');
  return Array.from({ length: steps }, (_, i) => g.data.subarray(i * len, (i + 1) * len));
}

function sgd(r: Run, c: FixtureCase<'sgd'>): void {
  const { lr, momentum, weightDecay, nesterov, steps } = c.params;
  const param = r.input('param');
  const len = param.length;
  const buf = r.zeros(len);
  const grad = r.zeros(len);
  for (const g of stepGrads(c, steps, len)) {
    r.b.view(grad).set(g);
    r.b.sgdStep(param, grad, buf, { lr, momentum, weightDecay, nesterov });
  }
  checkParam(r, param);
  // PyTorch keeps no momentum buffer when momentum is 0: nothing to compare then.
  if (hasTensor(c, 'momentumOut')) r.check(buf, 'momentumOut', TOL_BACKWARD);
}

function adamw(r: Run, c: FixtureCase<'adamw'>): void {
  const { lr, beta1, beta2, eps, weightDecay, steps } = c.params;
  const param = r.input('param');
  const len = param.length;
  const m = r.zeros(len);
  const v = r.zeros(len);
  const grad = r.zeros(len);
  stepGrads(c, steps, len).forEach((g, i) => {
    r.b.view(grad).set(g);
    r.b.adamwStep(param, grad, m, v, { lr, beta1, beta2, eps, weightDecay, step: i + 1 });
  });
  checkParam(r, param);
  r.check(m, 'mOut', TOL_BACKWARD, 'm (exp_avg)');
  r.check(v, 'vOut', TOL_BACKWARD, 'v (exp_avg_sq)');
}

function runCase(b: Backend, c: AnyFixtureCase): void {
  const r = new Run(b, c);
  try {
    switch (c.op) {
      case 'conv2d': return conv2d(r, c);
      case 'batchnorm_train': return batchnormTrain(r, c);
      case 'batchnorm_eval': return batchnormEval(r, c);
      case 'relu': return relu(r);
      case 'sigmoid': return sigmoid(r);
      case 'add': return add(r);
      case 'channel_scale': return channelScale(r, c);
      case 'global_avg_pool': return globalAvgPool(r, c);
      case 'max_pool2d': return maxPool2d(r, c);
      case 'linear': return linear(r, c);
      case 'cross_entropy': return crossEntropy(r, c);
      case 'sgd': return sgd(r, c);
      case 'adamw': return adamw(r, c);
      default: {
        const never: never = c;
        throw new Error(`no test for op "${(never as AnyFixtureCase).op}"`);
      }
    }
  } finally {
    r.freeAll();
  }
}

test(`fixtures (${fixtures.generator}) cover every op`, () => {
  for (const op of FIXTURE_OPS) {
    assert.ok(casesOf(fixtures, op).length > 0, `no fixture case for ${op}`);
  }
});

for (const c of fixtures.cases) {
  for (const b of backends) {
    test(`${c.op} ${c.name} [${b.name}]`, () => runCase(b, c));
  }
}

test.run();
