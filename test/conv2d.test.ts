// conv2d (assembly/conv2d.ts, src/backends/*/conv2d.ts, src/ops/conv2d.ts): the kernels against
// PyTorch, finite differences, the WASM blocking cases against the reference backend, and the op's
// input validation and equality with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { outSize, type Buf, type Conv2dShape } from '../src/backend.js';
import { conv2d, conv2dBackward, conv2dSupports } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { assertClose } from './helpers/compare.js';
import * as f64 from './helpers/f64.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { hasTensor, tensor } from './helpers/fixtures.js';
import { gradcheck } from './helpers/gradcheck.js';
import { rand, rng, same } from './helpers/ops.js';
import { Rng } from './helpers/random.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_FORWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('conv2d', (r, c) => {
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

  // Winograd on the cases it applies to (3x3, stride 1), forward and input gradient, with the
  // same tolerances (its own error is measured in conv2d_winograd.test.ts).
  if (conv2dSupports(s, 'winograd4')) {
    for (const algorithm of ['winograd2', 'winograd4'] as const) {
      const yw = r.outLike('y');
      r.b.conv2d(s, x, w, bias, yw, algorithm);
      r.check(yw, 'y', TOL_FORWARD, `y by ${algorithm}`);
      const dxw = r.outLike('dx');
      r.b.conv2dBackwardInput(s, dy, w, dxw, algorithm);
      r.check(dxw, 'dx', TOL_BACKWARD, `dx by ${algorithm}`);
    }
  }

  const dw = r.outLike('dw');
  const db = p.bias ? r.outLike('db') : null;
  r.b.conv2dBackwardWeight(s, x, dy, dw, db);
  r.check(dw, 'dw', TOL_BACKWARD);
  if (db) r.check(db, 'db', TOL_BACKWARD);
});

// ---- finite differences ----

interface ConvCase {
  n: number; c: number; h: number; w: number; k: number;
  kh: number; kw: number; sh: number; sw: number; ph: number; pw: number;
  groups: number; bias: boolean;
}

const gradCases: ConvCase[] = [
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

for (const [idx, p] of gradCases.entries()) {
  const s: Conv2dShape = { ...p, oh: outSize(p.h, p.kh, p.sh, p.ph), ow: outSize(p.w, p.kw, p.sw, p.pw) };
  const r = new Rng(100 + idx);
  const x = r.normals(s.n * s.c * s.h * s.w);
  const w = r.normals(s.k * (s.c / s.groups) * s.kh * s.kw, 0.5);
  const inputs: Record<string, Float32Array> = p.bias ? { x, w, bias: r.normals(s.k) } : { x, w };
  await gradcheck({
    name: `conv2d backward (input, weight, bias) x[${s.n},${s.c},${s.h},${s.w}] w[${s.k},${s.c / s.groups},${s.kh},${s.kw}] ` +
      `stride ${s.sh}x${s.sw} pad ${s.ph}x${s.pw} groups ${s.groups}${p.bias ? ' +bias' : ''}`,
    inputs,
    dy: r.normals(s.n * s.k * s.oh * s.ow),
    f64: (v) => f64.conv2d(s, v.x, v.w, v.bias ?? null),
    run: (b, t, dy, out) => {
      const y = out(dy.length), dx = out(x.length), dw = out(w.length), dbias = p.bias ? out(s.k) : null;
      b.conv2d(s, t.x, t.w, t.bias ?? null, y);
      b.conv2dBackwardInput(s, dy, t.w, dx);
      b.conv2dBackwardWeight(s, t.x, dy, dw, dbias);
      const grads: Record<string, Buf> = { x: dx, w: dw };
      if (dbias) grads.bias = dbias;
      return { y, grads };
    },
  });
}

// ---- blocking ----
// The WASM convolutions batch small maps across images (a GEMM's columns run over several images'
// positions) and split large batches into image blocks. The PyTorch fixtures have batches of 1
// and 2; these shapes make the blocks split unevenly (n not a multiple of the block), span 1x1 and
// 2x2 maps, and cross an output row inside a block, compared with the reference backend (itself
// checked against PyTorch above).

const [reference, wasm] = backends;

// n, c, hw, k, kernel, stride, pad, groups
const blockCases: [number, number, number, number, number, number, number, number][] = [
  [5, 8, 13, 12, 3, 1, 1, 1],   // 169 positions: blocks of 3 images, then 2
  [9, 16, 7, 16, 3, 2, 1, 2],   // 16 positions per image, stride 2, groups
  [7, 24, 2, 20, 3, 1, 1, 1],   // 2x2 maps: 4 positions, every panel spans two images
  [6, 16, 2, 32, 3, 2, 1, 1],   // 2x2 -> 1x1, stride 2 (col2im across images)
  [3, 12, 5, 12, 1, 1, 0, 3],   // 1x1, 25 positions
  [130, 4, 2, 4, 3, 1, 1, 1],   // more images than one block (512 / 4 = 128): a block of 2 after
  // The weight gradient tap by tap (small maps: conv2d_backward_weight_taps.ts):
  [600, 8, 2, 12, 3, 1, 1, 2],  // 2400 positions: two parts of 512 images, added in a second phase
  [40, 16, 2, 8, 3, 1, 1, 4],   // groups of 4 and 2 channels (half a panel, of a column panel)
  [9, 6, 2, 10, 3, 1, 1, 2],    // 3 in and 5 out channels per group: partial panels both ways
  [5, 8, 3, 12, 3, 2, 1, 1],    // 3x3 -> 2x2, stride 2 (25 of 36 pairs valid: im2col instead)
  // Dead taps (conv2d_crop.ts): the forward and input gradient run the kernel cropped to its live taps.
  [6, 16, 2, 32, 3, 2, 1, 2],   // 2x2 -> 1x1, stride 2, groups: taps 1..2 of each axis live (2x2 kernel, padding 0)
  [5, 12, 1, 8, 3, 1, 1, 1],    // 1x1 maps, 3x3 padding 1: only the centre tap (a 1x1 conv)
  [4, 8, 2, 8, 5, 1, 2, 1],     // 2x2 maps, 5x5 padding 2: taps 1..3 live (3x3, padding 1)
];

for (const [n, c, hw, k, ks, st, pad, groups] of blockCases) {
  const name = `conv2d blocks: n=${n} ${c}->${k} ${hw}x${hw} k${ks} s${st} p${pad} g${groups}`;
  test(name, () => {
    const s: Conv2dShape = {
      n, c, h: hw, w: hw, k, kh: ks, kw: ks, sh: st, sw: st, ph: pad, pw: pad, groups,
      oh: outSize(hw, ks, st, pad), ow: outSize(hw, ks, st, pad),
    };
    const r = new Rng(n * 1000 + c);
    const x = r.normals(n * c * hw * hw);
    const w = r.normals(k * (c / groups) * ks * ks);
    const bias = r.normals(k);
    const dy = r.normals(n * k * s.oh * s.ow);
    const results = [reference, wasm].map((b) => {
      const [X, W, B, DY] = [x, w, bias, dy].map((a) => upload(b, a));
      const Y = b.alloc(dy.length), DX = b.alloc(x.length), DW = b.alloc(w.length), DB = b.alloc(k);
      b.conv2d(s, X, W, B, Y);
      b.conv2dBackwardInput(s, DY, W, DX);
      b.conv2dBackwardWeight(s, X, DY, DW, DB);
      const out = { y: download(b, Y), dx: download(b, DX), dw: download(b, DW), db: download(b, DB) };
      for (const buf of [X, W, B, DY, Y, DX, DW, DB]) b.free(buf);
      return out;
    });
    const [ref, ours] = results;
    assertClose(ours.y, ref.y, TOL_FORWARD, `${name}: y`);
    assertClose(ours.dx, ref.dx, TOL_BACKWARD, `${name}: dx`);
    assertClose(ours.dw, ref.dw, TOL_BACKWARD, `${name}: dw`);
    assertClose(ours.db, ref.db, TOL_BACKWARD, `${name}: db`);
  });
}

test('dead taps: conv2d and its input gradient crop the kernel to its live taps (one more phase)', () => {
  const k = (wasm as unknown as { kernels: Record<string, (...a: number[]) => number> }).kernels;
  const phases = (fn: string, shape: number[]) => {
    let p = 0;
    while (k[fn](...shape, 0, 1, p) > 0) p++;
    return p;
  };
  // (n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow)
  const dead = [6, 16, 2, 2, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1];     // 2x2 -> 1x1: 5 of 9 taps read only padding
  const live = [6, 16, 3, 3, 32, 3, 3, 2, 2, 1, 1, 1, 2, 2];     // 3x3 -> 2x2: every tap reads the map somewhere
  assert.is(phases('conv2d_items', dead), phases('conv2d_items', live) + 1, 'conv2d: the cropping phase');
  assert.is(phases('conv2d_backward_input_items', dead), phases('conv2d_backward_input_items', live) + 1,
    'conv2d_backward_input: the cropping phase');
});

// ---- the op: validation ----

test('conv2d: ranks, channels per group, groups dividing both channel counts, bias, kernel vs padded input', () => {
  const x = rand([2, 6, 5, 5]);
  throwsWith(() => conv2d(rand([6, 5, 5]), rand([4, 6, 3, 3]), null), [/^conv2d: x must be 4-D \[n, c, h, w\], got shape \[6,5,5\]/]);
  throwsWith(() => conv2d(x, rand([4, 6, 3]), null), [/conv2d: weight must be 4-D/, /got shape \[4,6,3\]/]);
  throwsWith(() => conv2d(x, rand([4, 5, 3, 3]), null, { groups: 2 }),
    [/^conv2d: weight has 5 input channels per group but x has 6 channels and groups=2 \(expected 3\)$/]);
  throwsWith(() => conv2d(x, rand([4, 5, 3, 3]), null), [/weight has 5 input channels per group but x has 6 channels and groups=1 \(expected 6\)/]);
  throwsWith(() => conv2d(x, rand([4, 1, 3, 3]), null, { groups: 4 }), [/conv2d: x has 6 channels \(shape \[2,6,5,5\]\), not divisible by groups=4/]);
  throwsWith(() => conv2d(x, rand([5, 3, 3, 3]), null, { groups: 2 }), [/conv2d: weight has 5 output channels \(shape \[5,3,3,3\]\), not divisible by groups=2/]);
  throwsWith(() => conv2d(x, rand([4, 6, 3, 3]), rand([5])), [/conv2d: bias has shape \[5\] but weight has 4 output channels \(expected \[4\]\)/]);
  throwsWith(() => conv2d(x, rand([4, 6, 3, 3]), rand([4, 1])), [/bias has shape \[4,1\]/]);
  throwsWith(() => conv2d(x, rand([4, 6, 7, 7]), null), [/conv2d: kernel 7x7 is larger than the padded input 5x5 \(x \[2,6,5,5\], padding \[0,0\]\)/]);
  throwsWith(() => conv2d(x, rand([4, 6, 9, 3]), null, { padding: 1 }), [/kernel 9x3 is larger than the padded input 7x7/]);
  // With padding the same kernel fits.
  assert.equal(conv2d(x, rand([4, 6, 7, 7]), null, { padding: 1 }).shape, [2, 4, 1, 1]);
});

test('conv2d: stride, padding and groups must be integers in range; unknown options are refused', () => {
  const x = rand([1, 4, 6, 6]);
  const w = rand([4, 4, 3, 3]);
  throwsWith(() => conv2d(x, w, null, { stride: 0 }), [/^conv2d: stride must be a positive integer or a pair \[h, w\] of them, got 0/], RangeError);
  throwsWith(() => conv2d(x, w, null, { stride: -1 }), [/stride must be a positive integer/, /got -1/], RangeError);
  throwsWith(() => conv2d(x, w, null, { stride: 1.5 }), [/stride .* got 1\.5/], RangeError);
  throwsWith(() => conv2d(x, w, null, { stride: [1, 0] }), [/stride .* got \[1, 0\]/], RangeError);
  throwsWith(() => conv2d(x, w, null, { stride: [2] as unknown as [number, number] }), [/stride .* got \[2\]/], RangeError);
  throwsWith(() => conv2d(x, w, null, { stride: NaN }), [/stride .* got NaN/], RangeError);
  throwsWith(() => conv2d(x, w, null, { padding: -1 }), [/conv2d: padding must be a non-negative integer/, /got -1/], RangeError);
  throwsWith(() => conv2d(x, w, null, { padding: [1, 0.5] }), [/padding .* got \[1, 0\.5\]/], RangeError);
  throwsWith(() => conv2d(x, w, null, { groups: 0 }), [/conv2d: groups must be a positive integer, got 0/], RangeError);
  throwsWith(() => conv2d(x, w, null, { groups: 1.5 }), [/groups must be a positive integer, got 1\.5/], RangeError);
  throwsWith(() => conv2d(x, w, null, { pad: 1 } as never), [/conv2d: unknown key "pad" in opts \(known: stride, padding, groups, algorithm\)/], TypeError);
});

test('conv2dBackward: dy must have the forward output shape; needs are checked', () => {
  const x = rand([2, 4, 6, 6]);
  const w = rand([8, 2, 3, 3]);
  const opts = { stride: 2, padding: 1, groups: 2 };
  throwsWith(() => conv2dBackward(x, w, rand([2, 8, 6, 6]), opts),
    [/^conv2dBackward: dy has shape \[2,8,6,6\]/, /conv2d's output for x \[2,4,6,6\] and weight \[8,2,3,3\]/, /expected \[2,8,3,3\]/]);
  throwsWith(() => conv2dBackward(x, rand([8, 4, 3, 3]), rand([2, 8, 3, 3]), opts), [/conv2dBackward: weight has 4 input channels per group/]);
  throwsWith(() => conv2dBackward(x, w, rand([2, 8, 3, 3]), opts, { inputs: false } as never), [/conv2dBackward: unknown key "inputs" in needs/], TypeError);
  throwsWith(() => conv2dBackward(x, w, rand([2, 8, 3, 3]), opts, { bias: 1 } as never), [/needs\.bias must be true or false, got 1/], TypeError);
  const g = conv2dBackward(x, w, rand([2, 8, 3, 3]), opts, { input: false });
  assert.is(g.dx, null);
  assert.is(g.db, null);
  assert.equal(g.dw.shape, [8, 2, 3, 3]);
});

// ---- the op: exactly the backend ----

test('conv2d and conv2dBackward give exactly what the backend gives (both backends)', () => {
  for (const b of backends) {
    const xs = rng.normals(2 * 4 * 7 * 6);
    const ws = rng.normals(6 * 2 * 3 * 3);
    const bs = rng.normals(6);
    const s: Conv2dShape = { n: 2, c: 4, h: 7, w: 6, k: 6, kh: 3, kw: 3, sh: 2, sw: 1, ph: 1, pw: 0, groups: 2, oh: 4, ow: 4 };
    const opts = { stride: [2, 1] as [number, number], padding: [1, 0] as [number, number], groups: 2 };
    const x = Tensor.from(b, xs, [2, 4, 7, 6]);
    const w = Tensor.from(b, ws, [6, 2, 3, 3]);
    const bias = Tensor.from(b, bs, [6]);
    const y = conv2d(x, w, bias, opts);
    assert.equal(y.shape, [2, 6, 4, 4]);
    const dys = rng.normals(y.size);
    const dy = Tensor.from(b, dys, y.shape);
    const g = conv2dBackward(x, w, dy, opts, { bias: true });

    const [bx, bw, bb, bdy] = [xs, ws, bs, dys].map((d) => upload(b, d));
    const by = b.alloc(y.size);
    const bdx = b.alloc(x.size);
    const bdw = b.alloc(w.size);
    const bdb = b.alloc(6);
    b.conv2d(s, bx, bw, bb, by);
    b.conv2dBackwardInput(s, bdy, bw, bdx);
    b.conv2dBackwardWeight(s, bx, bdy, bdw, bdb);
    same(y, download(b, by), `${b.name} conv2d y`);
    same(g.dx!, download(b, bdx), `${b.name} conv2d dx`);
    same(g.dw, download(b, bdw), `${b.name} conv2d dw`);
    same(g.db!, download(b, bdb), `${b.name} conv2d db`);
    for (const buf of [bx, bw, bb, bdy, by, bdx, bdw, bdb]) b.free(buf);
  }
});

test.run();
