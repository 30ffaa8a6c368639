// Finite-difference gradient checks of every backward in the Backend interface, on both backends.
//
// For each op: a scalar loss L = sum(output * R) with a fixed random R; the op's forward in float64
// (test/helpers/f64.ts, independent of the backends); central differences of L (h = 1e-6, float64)
// with respect to each input; compared norm-wise with the backend's analytic float32 gradient, fed
// dy = R, at TOL_FINITE_DIFF. Each test also checks the backend's forward against the float64 one
// (TOL_FORWARD), so the function differentiated is the function the backend computes. Gradient
// outputs are pre-filled with NaN, so an entry a backward fails to overwrite fails the test.
// Optimizers have no backward and no FD check here. ReLU and max-pool inputs stay far (>> h) from
// kinks and ties.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outSize, type Backend, type Buf, type Conv2dShape, type Pool2dShape } from '../src/backend.js';
import { testBackends, download, upload } from './helpers/backends.js';
import { assertClose, TOL_FINITE_DIFF, TOL_FORWARD } from './helpers/compare.js';
import * as f64 from './helpers/f64.js';
import { Rng } from './helpers/random.js';

const H = 1e-6;
const backends = await testBackends();

/** Central-difference gradient of `loss` at `x0` (float64). */
function fdGrad(loss: (x: Float64Array) => number, x0: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(x0);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + H;
    const plus = loss(x);
    x[i] = v - H;
    const minus = loss(x);
    x[i] = v;
    grad[i] = (plus - minus) / (2 * H);
  }
  return grad;
}

/** sum(y * r): the scalar whose gradient with respect to y is r. */
function dot(y: ArrayLike<number>, r: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i] * r[i];
  return sum;
}

/** Allocates on a backend and frees everything at the end of a test, even when it fails. */
function withBuffers(b: Backend, body: (up: (data: ArrayLike<number>) => Buf, out: (length: number) => Buf) => void): void {
  const bufs: Buf[] = [];
  const up = (data: ArrayLike<number>): Buf => {
    const buf = upload(b, data);
    bufs.push(buf);
    return buf;
  };
  // Outputs start as NaN: a kernel that leaves an entry unwritten (or accumulates) is caught.
  const out = (length: number): Buf => up(new Float32Array(length).fill(NaN));
  try {
    body(up, out);
  } finally {
    for (const buf of bufs) b.free(buf);
  }
}

// ---- conv2d ----

interface ConvCase {
  n: number; c: number; h: number; w: number; k: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  groups: number; bias: boolean;
}

function convShape(p: ConvCase): Conv2dShape {
  return { ...p, oh: outSize(p.h, p.kh, p.sh, p.ph), ow: outSize(p.w, p.kw, p.sw, p.pw) };
}

function convName(s: Conv2dShape, bias: boolean): string {
  return `x[${s.n},${s.c},${s.h},${s.w}] w[${s.k},${s.c / s.groups},${s.kh},${s.kw}] stride ${s.sh}x${s.sw} ` +
    `pad ${s.ph}x${s.pw} groups ${s.groups}${bias ? ' +bias' : ''}`;
}

const convCases: ConvCase[] = [
  // 3x3, stride 1, padding 1: RepVGG's dense branch
  { n: 2, c: 3, h: 5, w: 5, k: 4, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, groups: 1, bias: true },
  // 3x3, stride 2, padding 1, groups 2, odd and non-square input
  { n: 2, c: 4, h: 7, w: 6, k: 6, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, groups: 2, bias: true },
  // 1x1, stride 1, no bias: RepVGG's 1x1 branch
  { n: 2, c: 3, h: 4, w: 5, k: 2, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0, groups: 1, bias: false },
  // 1x1, stride 2, groups 2 (the 1x1 branch of a strided grouped block)
  { n: 1, c: 4, h: 5, w: 5, k: 4, kh: 1, kw: 1, sh: 2, sw: 2, ph: 0, pw: 0, groups: 2, bias: true },
  // 3x3 depthwise (groups = channels), padding 1, no bias
  { n: 2, c: 3, h: 4, w: 4, k: 3, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, groups: 3, bias: false },
  // rectangular kernel, different strides and paddings per axis: catches h/w mix-ups
  { n: 1, c: 2, h: 6, w: 7, k: 3, kh: 3, kw: 2, sh: 1, sw: 2, ph: 1, pw: 0, groups: 1, bias: true },
];

for (const b of backends) {
  convCases.forEach((p, idx) => {
    const s = convShape(p);
    const name = `conv2d backward (input, weight, bias) ${convName(s, p.bias)} [${b.name}]`;
    test(name, () => {
      const rng = new Rng(100 + idx);
      const x = rng.normals(s.n * s.c * s.h * s.w);
      const w = rng.normals(s.k * (s.c / s.groups) * s.kh * s.kw, 0.5);
      const bias = p.bias ? rng.normals(s.k) : null;
      const r = rng.normals(s.n * s.k * s.oh * s.ow);
      withBuffers(b, (up, out) => {
        const xB = up(x), wB = up(w), bB = bias ? up(bias) : null, rB = up(r);
        const yB = out(r.length), dxB = out(x.length), dwB = out(w.length), dbB = bias ? out(s.k) : null;
        b.conv2d(s, xB, wB, bB, yB);
        b.conv2dBackwardInput(s, rB, wB, dxB);
        b.conv2dBackwardWeight(s, xB, rB, dwB, dbB);
        assertClose(download(b, yB), f64.conv2d(s, x, w, bias), TOL_FORWARD, `${name}: y`);
        assertClose(download(b, dxB), fdGrad((v) => dot(f64.conv2d(s, v, w, bias), r), x), TOL_FINITE_DIFF, `${name}: dx`);
        assertClose(download(b, dwB), fdGrad((v) => dot(f64.conv2d(s, x, v, bias), r), w), TOL_FINITE_DIFF, `${name}: dw`);
        if (bias && dbB) {
          assertClose(download(b, dbB), fdGrad((v) => dot(f64.conv2d(s, x, w, v), r), bias), TOL_FINITE_DIFF, `${name}: dbias`);
        }
      });
    });
  });
}

// ---- batch norm (training) ----

for (const b of backends) {
  const [n, c, hw] = [3, 4, 5];
  const name = `batchNorm training backward (x, gamma, beta) x[${n},${c},hw ${hw}] [${b.name}]`;
  test(name, () => {
    const rng = new Rng(200);
    const eps = 1e-5;
    const momentum = 0.1;
    const x = new Float32Array(n * c * hw);
    // per-channel offsets and scales, so the statistics are not trivial
    for (let i = 0; i < x.length; i++) {
      const ch = Math.floor(i / hw) % c;
      x[i] = (ch - 1.5) + (0.5 + ch) * rng.normal();
    }
    const gamma = rng.uniforms(c, 0.5, 1.5);
    const beta = rng.normals(c);
    const runMean0 = rng.normals(c, 0.1);
    const runVar0 = rng.uniforms(c, 0.5, 2);
    const r = rng.normals(x.length);
    withBuffers(b, (up, out) => {
      const xB = up(x), gB = up(gamma), betaB = up(beta), rmB = up(runMean0), rvB = up(runVar0), rB = up(r);
      const yB = out(x.length), meanB = out(c), invStdB = out(c);
      const dxB = out(x.length), dgB = out(c), dbB = out(c), yEvalB = out(x.length);
      b.batchNormTrain(n, c, hw, xB, gB, betaB, rmB, rvB, momentum, eps, yB, meanB, invStdB);
      b.batchNormBackward(n, c, hw, xB, rB, gB, meanB, invStdB, dxB, dgB, dbB);
      b.batchNormEval(n, c, hw, xB, gB, betaB, rmB, rvB, eps, yEvalB);

      // forward: output, saved statistics, running statistics (PyTorch's conventions), eval mode
      const ref = f64.batchNormTrain(n, c, hw, x, gamma, beta, eps);
      assertClose(download(b, yB), ref.y, TOL_FORWARD, `${name}: y`);
      assertClose(download(b, meanB), ref.mean, TOL_FORWARD, `${name}: saveMean`);
      assertClose(download(b, invStdB), ref.varBiased.map((v) => 1 / Math.sqrt(v + eps)), TOL_FORWARD, `${name}: saveInvStd`);
      const runMean = runMean0.map((v, ch) => (1 - momentum) * v + momentum * ref.mean[ch]);
      const runVar = runVar0.map((v, ch) => (1 - momentum) * v + momentum * ref.varUnbiased[ch]);
      assertClose(download(b, rmB), runMean, TOL_FORWARD, `${name}: runningMean`);
      assertClose(download(b, rvB), runVar, TOL_FORWARD, `${name}: runningVar`);
      assertClose(download(b, yEvalB), f64.batchNormEval(n, c, hw, x, gamma, beta, runMean, runVar, eps),
        TOL_FORWARD, `${name}: eval y`);

      // backward
      const loss = (xv: ArrayLike<number>, gv: ArrayLike<number>, bv: ArrayLike<number>): number =>
        dot(f64.batchNormTrain(n, c, hw, xv, gv, bv, eps).y, r);
      assertClose(download(b, dxB), fdGrad((v) => loss(v, gamma, beta), x), TOL_FINITE_DIFF, `${name}: dx`);
      assertClose(download(b, dgB), fdGrad((v) => loss(x, v, beta), gamma), TOL_FINITE_DIFF, `${name}: dgamma`);
      assertClose(download(b, dbB), fdGrad((v) => loss(x, gamma, v), beta), TOL_FINITE_DIFF, `${name}: dbeta`);
    });
  });
}

// ---- element-wise ----

/** Normal values pushed at least `gap` away from zero (ReLU's kink). */
function awayFromZero(rng: Rng, length: number, gap: number): Float32Array {
  return rng.normals(length).map((v) => (v < 0 ? v - gap : v + gap));
}

for (const b of backends) {
  const len = 37;
  const name = `relu backward x[${len}] [${b.name}]`;
  test(name, () => {
    const rng = new Rng(300);
    const x = awayFromZero(rng, len, 0.05);
    const r = rng.normals(len);
    withBuffers(b, (up, out) => {
      const xB = up(x), rB = up(r), yB = out(len), dxB = out(len), dxFromYB = out(len);
      b.relu(xB, yB);
      b.reluBackward(xB, rB, dxB);
      b.reluBackward(yB, rB, dxFromYB); // the ReLU's output works as well as its input
      assertClose(download(b, yB), f64.relu(x), TOL_FORWARD, `${name}: y`);
      const fd = fdGrad((v) => dot(f64.relu(v), r), x);
      assertClose(download(b, dxB), fd, TOL_FINITE_DIFF, `${name}: dx (from input)`);
      assertClose(download(b, dxFromYB), fd, TOL_FINITE_DIFF, `${name}: dx (from output)`);
    });
  });
}

for (const b of backends) {
  const len = 41;
  const name = `sigmoid backward x[${len}] [${b.name}]`;
  test(name, () => {
    const rng = new Rng(400);
    const x = rng.normals(len, 3);
    const r = rng.normals(len);
    withBuffers(b, (up, out) => {
      const xB = up(x), rB = up(r), yB = out(len), dxB = out(len);
      b.sigmoid(xB, yB);
      b.sigmoidBackward(yB, rB, dxB);
      assertClose(download(b, yB), f64.sigmoid(x), TOL_FORWARD, `${name}: y`);
      assertClose(download(b, dxB), fdGrad((v) => dot(f64.sigmoid(v), r), x), TOL_FINITE_DIFF, `${name}: dx`);
    });
  });
}

for (const b of backends) {
  const [n, c, hw] = [2, 3, 5];
  const name = `channelScale backward (x, s) x[${n},${c},hw ${hw}] [${b.name}]`;
  test(name, () => {
    const rng = new Rng(500);
    const x = rng.normals(n * c * hw);
    const s = rng.uniforms(n * c, 0, 1);
    const r = rng.normals(x.length);
    withBuffers(b, (up, out) => {
      const xB = up(x), sB = up(s), rB = up(r), yB = out(x.length), dxB = out(x.length), dsB = out(s.length);
      b.channelScale(n, c, hw, xB, sB, yB);
      b.channelScaleBackward(n, c, hw, xB, sB, rB, dxB, dsB);
      assertClose(download(b, yB), f64.channelScale(n, c, hw, x, s), TOL_FORWARD, `${name}: y`);
      assertClose(download(b, dxB), fdGrad((v) => dot(f64.channelScale(n, c, hw, v, s), r), x), TOL_FINITE_DIFF, `${name}: dx`);
      assertClose(download(b, dsB), fdGrad((v) => dot(f64.channelScale(n, c, hw, x, v), r), s), TOL_FINITE_DIFF, `${name}: ds`);
    });
  });
}

// ---- pooling ----

for (const b of backends) {
  const [n, c, hw] = [2, 3, 7];
  const name = `globalAvgPool backward x[${n},${c},hw ${hw}] [${b.name}]`;
  test(name, () => {
    const rng = new Rng(600);
    const x = rng.normals(n * c * hw);
    const r = rng.normals(n * c);
    withBuffers(b, (up, out) => {
      const xB = up(x), rB = up(r), yB = out(n * c), dxB = out(x.length);
      b.globalAvgPool(n, c, hw, xB, yB);
      b.globalAvgPoolBackward(n, c, hw, rB, dxB);
      assertClose(download(b, yB), f64.globalAvgPool(n, c, hw, x), TOL_FORWARD, `${name}: y`);
      assertClose(download(b, dxB), fdGrad((v) => dot(f64.globalAvgPool(n, c, hw, v), r), x), TOL_FINITE_DIFF, `${name}: dx`);
    });
  });
}

interface PoolCase {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  /** all inputs negative: padding must act as -Infinity, not 0 */
  negative: boolean;
}

const poolCases: PoolCase[] = [
  // 3x3 stride 2 padding 1 (the ResNet stem pool), negative inputs
  { n: 2, c: 2, h: 5, w: 6, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, negative: true },
  // overlapping windows (stride 1): one input can be the maximum of several windows
  { n: 1, c: 2, h: 4, w: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, negative: false },
  // 2x2 stride 2, no padding, odd size (last row and column unused); rectangular 2x3 too
  { n: 2, c: 1, h: 5, w: 5, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, negative: false },
  { n: 1, c: 2, h: 5, w: 7, kh: 2, kw: 3, sh: 1, sw: 2, ph: 1, pw: 1, negative: true },
];

for (const b of backends) {
  poolCases.forEach((p, idx) => {
    const s: Pool2dShape = { ...p, oh: outSize(p.h, p.kh, p.sh, p.ph), ow: outSize(p.w, p.kw, p.sw, p.pw) };
    const name = `maxPool2d backward x[${s.n},${s.c},${s.h},${s.w}] kernel ${s.kh}x${s.kw} stride ${s.sh}x${s.sw} ` +
      `pad ${s.ph}x${s.pw}${p.negative ? ' negative' : ''} [${b.name}]`;
    test(name, () => {
      const rng = new Rng(700 + idx);
      const len = s.n * s.c * s.h * s.w;
      // distinct values 0.01 apart (no ties, no argmax change within +-h)
      const perm = rng.permutation(len);
      const x = Float32Array.from(perm, (v) => (p.negative ? -1 - 0.01 * v : 0.01 * (v - len / 2)));
      const r = rng.normals(s.n * s.c * s.oh * s.ow);
      withBuffers(b, (up, out) => {
        const xB = up(x), rB = up(r), yB = out(r.length), dxB = out(len);
        b.maxPool2d(s, xB, yB);
        b.maxPool2dBackward(s, xB, rB, dxB);
        assertClose(download(b, yB), f64.maxPool2d(s, x), TOL_FORWARD, `${name}: y`);
        assertClose(download(b, dxB), fdGrad((v) => dot(f64.maxPool2d(s, v), r), x), TOL_FINITE_DIFF, `${name}: dx`);
      });
    });
  });
}

// ---- linear ----

for (const b of backends) {
  const [n, inF, outF] = [3, 7, 4];
  const name = `linear backward (x, w, b) x[${n},${inF}] w[${outF},${inF}] [${b.name}]`;
  test(name, () => {
    const rng = new Rng(800);
    const x = rng.normals(n * inF);
    const w = rng.normals(outF * inF, 0.5);
    const bias = rng.normals(outF);
    const r = rng.normals(n * outF);
    withBuffers(b, (up, out) => {
      const xB = up(x), wB = up(w), bB = up(bias), rB = up(r);
      const yB = out(n * outF), yNoBiasB = out(n * outF), dxB = out(x.length), dwB = out(w.length), dbB = out(outF);
      const dwOnlyB = out(w.length);
      b.linear(n, inF, outF, xB, wB, bB, yB);
      b.linear(n, inF, outF, xB, wB, null, yNoBiasB);
      b.linearBackward(n, inF, outF, xB, wB, rB, dxB, dwB, dbB);
      b.linearBackward(n, inF, outF, xB, wB, rB, null, dwOnlyB, null); // first layer, no bias
      assertClose(download(b, yB), f64.linear(n, inF, outF, x, w, bias), TOL_FORWARD, `${name}: y`);
      assertClose(download(b, yNoBiasB), f64.linear(n, inF, outF, x, w, null), TOL_FORWARD, `${name}: y without bias`);
      const loss = (xv: ArrayLike<number>, wv: ArrayLike<number>, bv: ArrayLike<number>): number =>
        dot(f64.linear(n, inF, outF, xv, wv, bv), r);
      const dw = fdGrad((v) => loss(x, v, bias), w);
      assertClose(download(b, dxB), fdGrad((v) => loss(v, w, bias), x), TOL_FINITE_DIFF, `${name}: dx`);
      assertClose(download(b, dwB), dw, TOL_FINITE_DIFF, `${name}: dw`);
      assertClose(download(b, dbB), fdGrad((v) => loss(x, w, v), bias), TOL_FINITE_DIFF, `${name}: db`);
      assertClose(download(b, dwOnlyB), dw, TOL_FINITE_DIFF, `${name}: dw (dx and db null)`);
    });
  });
}

// ---- loss ----

const lossCases = [
  { n: 4, classes: 5, smoothing: 0, offset: 0 },
  { n: 4, classes: 5, smoothing: 0.1, offset: 0 },
  // logits near 1000: exp overflows without the max-subtraction trick
  { n: 3, classes: 6, smoothing: 0.2, offset: 1000 },
];

for (const b of backends) {
  lossCases.forEach(({ n, classes, smoothing, offset }, idx) => {
    const name = `softmaxCrossEntropy backward logits[${n},${classes}] smoothing ${smoothing}` +
      `${offset ? ` offset ${offset}` : ''} [${b.name}]`;
    test(name, () => {
      const rng = new Rng(900 + idx);
      const logits = rng.normals(n * classes, 2, offset);
      const labels = rng.ints(n, classes);
      withBuffers(b, (up, out) => {
        const lB = up(logits), dB = out(logits.length);
        const loss = b.softmaxCrossEntropy(n, classes, lB, labels, smoothing, dB);
        const ref = f64.softmaxCrossEntropy(n, classes, logits, labels, smoothing);
        assert.ok(Number.isFinite(loss), `${name}: loss ${loss} is not finite`);
        assertClose([loss], [ref], TOL_FORWARD, `${name}: loss`);
        const fd = fdGrad((v) => f64.softmaxCrossEntropy(n, classes, v, labels, smoothing), logits);
        assertClose(download(b, dB), fd, TOL_FINITE_DIFF, `${name}: dlogits`);
      });
    });
  });
}

// ---- kinks and ties: where finite differences cannot decide, PyTorch's conventions ----

for (const b of backends) {
  const name = `relu backward at x = 0 and -0 gives 0 x[4] [${b.name}]`;
  test(name, () => {
    withBuffers(b, (up, out) => {
      const dxB = out(4);
      b.reluBackward(up([0, -0, 1, -1]), up([3, 5, 7, 11]), dxB);
      assert.equal(Array.from(download(b, dxB)), [0, 0, 7, 0], name);
    });
  });
}

for (const b of backends) {
  // A constant input: every element of a window ties, so each dy goes to its window's first
  // in-bounds element in row-major order. Negative, so a padding read as 0 would win instead.
  const s: Pool2dShape = { n: 1, c: 2, h: 4, w: 5, kh: 3, kw: 3, sh: 1, sw: 2, ph: 1, pw: 1, oh: 4, ow: 3 };
  const name = `maxPool2d backward ties go to the first maximum x[1,2,4,5] kernel 3x3 stride 1x2 pad 1x1 [${b.name}]`;
  test(name, () => {
    const len = s.n * s.c * s.h * s.w;
    const dy = Float32Array.from({ length: s.c * s.oh * s.ow }, (_, i) => i + 1); // small integers: exact sums
    const expected = new Float32Array(len);
    for (let ch = 0; ch < s.c; ch++) {
      for (let oy = 0; oy < s.oh; oy++) {
        for (let ox = 0; ox < s.ow; ox++) {
          const iy = Math.max(oy * s.sh - s.ph, 0);
          const ix = Math.max(ox * s.sw - s.pw, 0);
          expected[(ch * s.h + iy) * s.w + ix] += dy[(ch * s.oh + oy) * s.ow + ox];
        }
      }
    }
    withBuffers(b, (up, out) => {
      const xB = up(new Float32Array(len).fill(-3)), yB = out(dy.length), dxB = out(len);
      b.maxPool2d(s, xB, yB);
      b.maxPool2dBackward(s, xB, up(dy), dxB);
      assert.equal(Array.from(download(b, yB)), new Array<number>(dy.length).fill(-3), `${name}: y`);
      assert.equal(Array.from(download(b, dxB)), Array.from(expected), `${name}: dx`);
    });
  });
}

test.run();
