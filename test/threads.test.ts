// Threads give the same bits: every kernel that splits its work (the convolutions' three passes by
// every algorithm, batch norm, the element-wise ops, pooling, linear, the optimizer updates) on 2
// and 3 threads against 1, on odd shapes (batch 1, groups, strides, Winograd, channel counts that
// are not multiples of 4, reductions long enough for several partial sums); and a few training
// steps of a small RepVGG on 1, 2 and 3 threads, every parameter and BN statistic compared byte
// for byte. One thread runs the plain (non-shared) build, more the threads build: same source,
// same relaxed-SIMD choice, so the same bits are expected of all of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Buf, ConvAlgorithm, Conv2dShape } from '../src/backend.js';
import { outSize } from '../src/backend.js';
import { createBackend } from '../src/index.js';
import { RepVGG } from '../src/models/repvgg.js';
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { Optimizer } from '../src/train/optimizer.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { sameBytes } from './helpers/data.js';
import { Rng } from './helpers/random.js';

const backends = [
  await createBackend('wasm-simd', { threads: 1 }),
  await createBackend('wasm-simd', { threads: 2 }),
  await createBackend('wasm-simd', { threads: 3 }),
] as WasmBackend[];

test('the backends run 1, 2 and 3 threads, on the same build flavour', () => {
  assert.equal(backends.map((b) => b.threads), [1, 2, 3], backends.map((b) => b.threadsReason).join('; '));
  assert.equal(new Set(backends.map((b) => b.isa)).size, 1);
});

function upload(b: Backend, data: Float32Array): Buf {
  const buf = b.alloc(data.length);
  b.view(buf).set(data);
  return buf;
}

/** Runs `body` on every backend (the same inputs: `body` draws them from a fresh Rng(seed)) and
 *  checks that the buffers it returns hold the same bytes as on one thread. */
function sameOnAllThreads(what: string, seed: number, body: (b: Backend, rng: Rng) => Buf[]): void {
  const results = backends.map((b) => {
    const out = body(b, new Rng(seed)).map((buf) => b.view(buf).slice());
    return out;
  });
  for (let t = 1; t < backends.length; t++) {
    results[t].forEach((r, i) => {
      assert.ok(sameBytes(r, results[0][i]), `${what}: output ${i} on ${backends[t].threads} threads differs from 1 thread`);
    });
  }
}

interface ConvCase { n: number; c: number; k: number; h: number; w: number; kh: number; stride: number; pad: number; groups: number }

function convShape(s: ConvCase): Conv2dShape {
  return {
    n: s.n, c: s.c, h: s.h, w: s.w, k: s.k, kh: s.kh, kw: s.kh, sh: s.stride, sw: s.stride, ph: s.pad, pw: s.pad,
    groups: s.groups, oh: outSize(s.h, s.kh, s.stride, s.pad), ow: outSize(s.w, s.kh, s.stride, s.pad),
  };
}

const CONV_CASES: ConvCase[] = [
  { n: 1, c: 3, k: 48, h: 33, w: 31, kh: 3, stride: 2, pad: 1, groups: 1 },      // a stem at batch 1
  { n: 1, c: 40, k: 44, h: 14, w: 14, kh: 3, stride: 1, pad: 1, groups: 1 },     // output-channel panels, Winograd
  { n: 1, c: 24, k: 96, h: 7, w: 9, kh: 3, stride: 1, pad: 1, groups: 2 },       // groups, odd map
  { n: 3, c: 18, k: 20, h: 9, w: 10, kh: 3, stride: 2, pad: 1, groups: 2 },      // strided, channels not multiples of 4
  { n: 2, c: 16, k: 12, h: 12, w: 12, kh: 1, stride: 2, pad: 0, groups: 4 },     // 1x1 stride 2 (col2im)
  { n: 5, c: 8, k: 8, h: 4, w: 4, kh: 3, stride: 1, pad: 1, groups: 1 },         // small maps, images in blocks
  { n: 1, c: 6, k: 10, h: 11, w: 11, kh: 5, stride: 1, pad: 2, groups: 1 },      // 5x5: direct only
  { n: 3, c: 12, k: 16, h: 32, w: 32, kh: 3, stride: 1, pad: 1, groups: 1 },     // 3072 positions: 2 partial dW sums
  { n: 1, c: 64, k: 640, h: 4, w: 4, kh: 3, stride: 2, pad: 1, groups: 1 },      // wide, 2x2 output
  { n: 1, c: 120, k: 140, h: 5, w: 7, kh: 3, stride: 1, pad: 1, groups: 1 },     // batch 1, U >= 2 MiB: Winograd by output channels
  { n: 600, c: 8, k: 12, h: 2, w: 2, kh: 3, stride: 1, pad: 1, groups: 2 },      // dW tap by tap, two parts
  { n: 7, c: 16, k: 40, h: 2, w: 2, kh: 3, stride: 2, pad: 1, groups: 1 },       // dW tap by tap, cut by output channels; y, dx cropped (dead taps)
];

const ALGORITHMS: ConvAlgorithm[] = ['direct', 'winograd2', 'winograd4'];

for (const cc of CONV_CASES) {
  const s = convShape(cc);
  const label = `n=${s.n} ${s.c}->${s.k} g${s.groups} ${s.h}x${s.w} k${s.kh} s${s.sh} p${s.ph}`;
  test(`conv2d, conv2dPacked, both backward passes: same bits on 1, 2, 3 threads (${label})`, () => {
    for (const algorithm of ALGORITHMS) {
      sameOnAllThreads(`${label} ${algorithm}`, 11, (b, rng) => {
        const x = upload(b, rng.normals(s.n * s.c * s.h * s.w));
        const w = upload(b, rng.normals(s.k * (s.c / s.groups) * s.kh * s.kw, 0.2));
        const bias = upload(b, rng.normals(s.k, 0.1));
        const dy = upload(b, rng.normals(s.n * s.k * s.oh * s.ow));
        const y = b.alloc(s.n * s.k * s.oh * s.ow);
        const yp = b.alloc(y.length);
        const dx = b.alloc(x.length);
        const dw = b.alloc(w.length);
        const db = b.alloc(s.k);
        b.conv2d(s, x, w, bias, y, algorithm);
        const packed = b.alloc(Math.ceil(b.conv2dPackedBytes(s, algorithm) / 4));
        b.conv2dPackWeight(s, algorithm, w, packed);
        b.conv2dPacked(s, algorithm, x, packed, bias, yp, true);
        b.conv2dBackwardInput(s, dy, w, dx, algorithm);
        b.conv2dBackwardWeight(s, x, dy, dw, db);
        return [y, yp, dx, dw, db];
      });
    }
  });
}

test('the conv passes really split: several work items on 2 threads for each case', () => {
  const k = backends[1].kernels;
  /** The largest item count over the phases of a pass. */
  const most = (items: (phase: number) => number) => {
    let best = 0;
    for (let phase = 0, n = items(0); n > 0; n = items(++phase)) best = Math.max(best, n);
    return best;
  };
  for (const cc of CONV_CASES) {
    const s = convShape(cc);
    const shape = [s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow];
    const items = [most((p) => k.conv2d_packed_items(...shape, 0, 2, p)), most((p) => k.conv2d_backward_weight_items(...shape, 2, p))];
    // The strided input gradient splits by images and by 4 input channels (its windows overlap
    // along the map): one image of 3 channels is one item.
    if (!(s.sh > 1 && s.n === 1 && s.c / s.groups < 8)) items.push(most((p) => k.conv2d_backward_input_items(...shape, 0, 2, p)));
    assert.ok(items.every((i) => i > 1), `${JSON.stringify(cc)}: items ${items}`);
  }
  // The wide batch-1 case runs F(4,3) in one phase of one item per thread (each a slice of output
  // channels), forward and input gradient: the path the cases above must cover.
  const wide = convShape(CONV_CASES.find((cc) => cc.c === 120)!);
  const shape = [wide.n, wide.c, wide.h, wide.w, wide.k, 3, 3, 1, 1, 1, 1, 1, wide.oh, wide.ow];
  // With the weights packed in the call, each of those items packs its own slice of them: still one
  // phase (conv2d, and the input gradient, whose transposed conv has the same shape here).
  const flipped = [wide.n, wide.k, wide.h, wide.w, wide.k, 3, 3, 1, 1, 1, 1, 1, wide.oh, wide.ow];
  for (const t of [2, 3]) {
    assert.equal([k.conv2d_packed_items(...shape, 4, t, 0), k.conv2d_packed_items(...shape, 4, t, 1)], [t, 0]);
    assert.equal([k.conv2d_items(...shape, 4, t, 0), k.conv2d_items(...shape, 4, t, 1)], [t, 0]);
    assert.equal([k.conv2d_backward_input_items(...flipped, 4, t, 0), k.conv2d_backward_input_items(...flipped, 4, t, 1)], [t, 0]);
  }
});

test('batch norm (train, eval, backward): same bits on 1, 2, 3 threads', () => {
  // The last two: small planes, whose forward sums run four channels at a time, and channel pieces that
  // end inside a four (the rest run one by one): the two paths must agree bit for bit.
  for (const [n, c, hw] of [[4, 64, 1024], [1, 48, 3136], [3, 7, 4096], [256, 36, 16], [512, 18, 4]]) {
    sameOnAllThreads(`bn ${n}x${c}x${hw}`, 3, (b, rng) => {
      const x = upload(b, rng.normals(n * c * hw, 2, 0.5));
      const dy = upload(b, rng.normals(n * c * hw));
      const gamma = upload(b, rng.uniforms(c, 0.5, 1.5));
      const beta = upload(b, rng.normals(c, 0.1));
      const rm = upload(b, rng.normals(c, 0.1));
      const rv = upload(b, rng.uniforms(c, 0.5, 2));
      const [y, ye, dx] = [b.alloc(x.length), b.alloc(x.length), b.alloc(x.length)];
      const [mean, inv, dg, dbeta] = [b.alloc(c), b.alloc(c), b.alloc(c), b.alloc(c)];
      b.batchNormTrain(n, c, hw, x, gamma, beta, rm, rv, 0.1, 1e-5, y, mean, inv);
      b.batchNormEval(n, c, hw, x, gamma, beta, rm, rv, 1e-5, ye);
      b.batchNormBackward(n, c, hw, x, dy, gamma, mean, inv, dx, dg, dbeta);
      return [y, ye, dx, mean, inv, dg, dbeta, rm, rv];
    });
  }
});

test('element-wise ops, pooling, channel scale, linear, SGD and AdamW: same bits on 1, 2, 3 threads', () => {
  const len = 300_001; // odd: the last piece is short
  sameOnAllThreads('element-wise', 5, (b, rng) => {
    const a = upload(b, rng.normals(len));
    const c = upload(b, rng.normals(len));
    const outs = Array.from({ length: 6 }, () => b.alloc(len));
    b.relu(a, outs[0]);
    b.reluBackward(a, c, outs[1]);
    b.add(a, c, outs[2]);
    b.sigmoid(a, outs[3]);
    b.sigmoidBackward(outs[3], c, outs[4]);
    b.addInPlace(outs[5], a);
    b.addInPlace(outs[5], c);
    const p1 = upload(b, rng.normals(len)), m1 = b.alloc(len);
    b.sgdStep(p1, c, m1, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    const p2 = upload(b, rng.normals(len)), m2 = b.alloc(len), v2 = b.alloc(len);
    b.adamwStep(p2, c, m2, v2, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step: 1 });
    return [...outs, p1, m1, p2, m2, v2];
  });
  sameOnAllThreads('pooling, channel scale', 6, (b, rng) => {
    const [n, c, h, w] = [3, 37, 33, 31];
    const x = upload(b, rng.normals(n * c * h * w));
    const s = upload(b, rng.normals(n * c));
    const pool = { n, c, h, w, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, oh: outSize(h, 3, 2, 1), ow: outSize(w, 3, 2, 1) };
    const dyPool = upload(b, rng.normals(n * c * pool.oh * pool.ow));
    const dyPlane = upload(b, rng.normals(n * c * h * w));
    const [gap, gapBack, mp, mpBack, cs, csDx, csDs] = [b.alloc(n * c), b.alloc(x.length), b.alloc(dyPool.length),
      b.alloc(x.length), b.alloc(x.length), b.alloc(x.length), b.alloc(n * c)];
    b.globalAvgPool(n, c, h * w, x, gap);
    b.globalAvgPoolBackward(n, c, h * w, s, gapBack);
    b.maxPool2d(pool, x, mp);
    b.maxPool2dBackward(pool, x, dyPool, mpBack);
    b.channelScale(n, c, h * w, x, s, cs);
    b.channelScaleBackward(n, c, h * w, x, s, dyPlane, csDx, csDs);
    return [gap, gapBack, mp, mpBack, cs, csDx, csDs];
  });
  // Split by rows (9 images), and by outputs when the rows are fewer than the threads (1 and 2
  // images: a classifier at batch 1), with and without bias.
  sameOnAllThreads('linear', 7, (b, rng) => {
    const out: Buf[] = [];
    for (const [n, inF, outF, withBias] of [[9, 1280, 100, 1], [1, 1280, 1001, 1], [2, 640, 999, 0]]) {
      const x = upload(b, rng.normals(n * inF));
      const w = upload(b, rng.normals(outF * inF, 0.05));
      const bias = withBias ? upload(b, rng.normals(outF)) : null;
      const y = b.alloc(n * outF);
      b.linear(n, inF, outF, x, w, bias, y);
      out.push(y);
    }
    return out;
  });
});

test('a small RepVGG trained 3 steps (SGD, BN in training mode) on 1, 2 and 3 threads: every state byte the same', () => {
  const states = backends.map((b) => {
    const model = new RepVGG(b, { numBlocks: [1, 2, 1, 1], widthMultiplier: [0.5, 0.5, 0.5, 0.5], numClasses: 10, seed: 4 });
    model.train();
    const opt = new Optimizer(model.namedParameters(), { kind: 'sgd', weightDecay: 1e-4, momentum: 0.9, nesterov: true });
    const rng = new Rng(9);
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const x = Tensor.from(b, rng.normals(16 * 3 * 32 * 32), [16, 3, 32, 32]);
      const labels = Int32Array.from({ length: 16 }, () => Math.floor(rng.next() * 10));
      const logits = model.forward(x);
      const { loss, dlogits } = softmaxCrossEntropy(logits, labels);
      losses.push(loss);
      model.backward(dlogits)?.dispose();
      opt.step(0.05);
      model.zeroGrad();
      for (const t of [x, logits, dlogits]) t.dispose();
    }
    const bytes = new Map<string, Float32Array>();
    for (const [name, p] of model.namedParameters()) bytes.set(name, p.value.toFloat32Array());
    for (const [name, t] of model.namedBuffers()) bytes.set(name, t.toFloat32Array());
    return { losses, bytes };
  });
  for (let t = 1; t < states.length; t++) {
    assert.equal(states[t].losses, states[0].losses, `losses on ${t + 1} threads`);
    for (const [name, v] of states[0].bytes) {
      assert.ok(sameBytes(states[t].bytes.get(name)!, v), `${name} after 3 steps on ${t + 1} threads differs from 1 thread`);
    }
  }
});

test.after(() => { for (const b of backends) b.dispose(); });

test.run();
