// max_pool2d (assembly/max_pool2d.ts, src/backends/*/max_pool2d.ts, src/ops/max_pool2d.ts): the
// kernels against PyTorch, finite differences and PyTorch's convention for ties, and the ops'
// input validation and equality with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outSize, type Pool2dShape } from '../src/backend.js';
import { maxPool2d, maxPool2dBackward } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, testEachBackend, upload } from './helpers/backends.js';
import * as f64 from './helpers/f64.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { tensor } from './helpers/fixtures.js';
import { gradcheck, withBuffers } from './helpers/gradcheck.js';
import { rand, rng, same } from './helpers/ops.js';
import { Rng } from './helpers/random.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_FORWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('max_pool2d', (r, c) => {
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
});

// ---- finite differences, and ties ----

interface PoolCase {
  n: number; c: number; h: number; w: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  /** all inputs negative: padding must act as -Infinity, not 0 */
  negative: boolean;
}

const gradCases: PoolCase[] = [
  // 3x3 stride 2 padding 1 (the ResNet stem pool), negative inputs
  { n: 2, c: 2, h: 5, w: 6, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, negative: true },
  // overlapping windows (stride 1): one input can be the maximum of several windows
  { n: 1, c: 2, h: 4, w: 5, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, negative: false },
  // 2x2 stride 2, no padding, odd size (last row and column unused); rectangular 2x3 too
  { n: 2, c: 1, h: 5, w: 5, kh: 2, kw: 2, sh: 2, sw: 2, ph: 0, pw: 0, negative: false },
  { n: 1, c: 2, h: 5, w: 7, kh: 2, kw: 3, sh: 1, sw: 2, ph: 1, pw: 1, negative: true },
];

for (const [idx, p] of gradCases.entries()) {
  const s: Pool2dShape = { ...p, oh: outSize(p.h, p.kh, p.sh, p.ph), ow: outSize(p.w, p.kw, p.sw, p.pw) };
  const r = new Rng(700 + idx);
  const len = s.n * s.c * s.h * s.w;
  // distinct values 0.01 apart (no ties, no argmax change within +-h)
  const perm = r.permutation(len);
  const x = Float32Array.from(perm, (v) => (p.negative ? -1 - 0.01 * v : 0.01 * (v - len / 2)));
  await gradcheck({
    name: `maxPool2d backward x[${s.n},${s.c},${s.h},${s.w}] kernel ${s.kh}x${s.kw} stride ${s.sh}x${s.sw} ` +
      `pad ${s.ph}x${s.pw}${p.negative ? ' negative' : ''}`,
    inputs: { x },
    dy: r.normals(s.n * s.c * s.oh * s.ow),
    f64: (v) => f64.maxPool2d(s, v.x),
    run: (b, t, dy, out) => {
      const y = out(dy.length), dx = out(len);
      b.maxPool2d(s, t.x, y);
      b.maxPool2dBackward(s, t.x, dy, dx);
      return { y, grads: { x: dx } };
    },
  });
}

{
  // Where finite differences cannot decide, PyTorch's convention. A constant input: every element
  // of a window ties, so each dy goes to its window's first in-bounds element in row-major order.
  // Negative, so a padding read as 0 would win instead.
  const s: Pool2dShape = { n: 1, c: 2, h: 4, w: 5, kh: 3, kw: 3, sh: 1, sw: 2, ph: 1, pw: 1, oh: 4, ow: 3 };
  await testEachBackend('maxPool2d backward ties go to the first maximum x[1,2,4,5] kernel 3x3 stride 1x2 pad 1x1', (b, name) => {
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
      const x = up(new Float32Array(len).fill(-3)), y = out(dy.length), dx = out(len);
      b.maxPool2d(s, x, y);
      b.maxPool2dBackward(s, x, up(dy), dx);
      assert.equal(Array.from(download(b, y)), new Array<number>(dy.length).fill(-3), `${name}: y`);
      assert.equal(Array.from(download(b, dx)), Array.from(expected), `${name}: dx`);
    });
  });
}

// ---- the ops ----

test('maxPool2d: kernel, stride and padding rules (padding at most half the kernel), dy shape', () => {
  const x = rand([1, 2, 6, 6]);
  throwsWith(() => maxPool2d(x, { kernelSize: 3, padding: 2 }), [/^maxPool2d: padding \[2,2\] must be at most half of kernelSize \[3,3\]/], RangeError);
  throwsWith(() => maxPool2d(x, { kernelSize: [2, 4], padding: [1, 3] }), [/padding \[1,3\] must be at most half of kernelSize \[2,4\]/], RangeError);
  throwsWith(() => maxPool2d(x, { kernelSize: 0 }), [/maxPool2d: kernelSize must be a positive integer/, /got 0/], RangeError);
  throwsWith(() => maxPool2d(x, { kernelSize: 2, stride: 0 }), [/maxPool2d: stride must be a positive integer/, /got 0/], RangeError);
  throwsWith(() => maxPool2d(x, { kernelSize: 2, padding: -1 }), [/padding must be a non-negative integer/], RangeError);
  throwsWith(() => maxPool2d(x, {} as never), [/maxPool2d: opts\.kernelSize is required/], TypeError);
  throwsWith(() => maxPool2d(x, { kernelSize: 7 }), [/maxPool2d: kernel 7x7 is larger than the padded input 6x6/]);
  throwsWith(() => maxPool2d(x, { kernelSize: 2, dilation: 2 } as never), [/maxPool2d: unknown key "dilation" in opts/], TypeError);
  assert.equal(maxPool2d(x, { kernelSize: 2 }).shape, [1, 2, 3, 3], 'stride defaults to kernelSize');
  throwsWith(() => maxPool2dBackward(x, rand([1, 2, 6, 6]), { kernelSize: 2 }),
    [/^maxPool2dBackward: dy has shape \[1,2,6,6\] but it must match maxPool2d's output for x \[1,2,6,6\] \(expected \[1,2,3,3\]\)/]);
});

test('maxPool2d and maxPool2dBackward give exactly what the backend gives', () => {
  for (const b of backends) {
    const xs = rng.normals(2 * 3 * 7 * 7);
    const x = Tensor.from(b, xs, [2, 3, 7, 7]);
    const bx = upload(b, xs);
    const ps: Pool2dShape = { n: 2, c: 3, h: 7, w: 7, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, oh: 4, ow: 4 };
    const mp = maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
    const bmp = b.alloc(2 * 3 * 16);
    b.maxPool2d(ps, bx, bmp);
    same(mp, download(b, bmp), `${b.name} maxPool2d`);
    const mdx = b.alloc(xs.length);
    b.maxPool2dBackward(ps, bx, bmp, mdx);
    same(maxPool2dBackward(x, mp, { kernelSize: 3, stride: 2, padding: 1 }), download(b, mdx), `${b.name} maxPool2dBackward`);
    for (const buf of [bx, bmp, mdx]) b.free(buf);
  }
});

test.run();
