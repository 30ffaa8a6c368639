// The typed ops layer: every kind of bad input is refused with a message that names the op, the
// argument and the offending shape or value; ops that fail leak nothing; and valid calls give
// exactly what calling the backend directly gives, on both backends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Conv2dShape, Pool2dShape } from '../src/backend.js';
import { createBackend, type WasmBackend } from '../src/index.js';
import {
  Tensor, adamwStep, add, addInPlace, batchNormBackward, batchNormEval, batchNormTrain, channelScale, channelScaleBackward,
  conv2d, conv2dBackward, flatten, globalAvgPool, globalAvgPoolBackward, linear, linearBackward, maxPool2d,
  maxPool2dBackward, relu, reluBackward, reshape, sgdStep, sigmoid, sigmoidBackward, softmaxCrossEntropy,
} from '../src/index.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { Rng } from './helpers/random.js';

const backends = await testBackends();
const [ref, wasm] = backends;
const rng = new Rng(7);

/** A tensor of normal values on `b` (the reference backend unless said otherwise). */
function rand(shape: number[], b: Backend = ref): Tensor {
  return Tensor.from(b, rng.normals(shape.reduce((a, d) => a * d, 1)), shape);
}

/** Asserts that `fn` throws an error of `kind` whose message matches every pattern. */
function throwsWith(fn: () => unknown, patterns: RegExp[], kind: new (...args: never[]) => Error = Error): void {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== null, `expected an error matching ${patterns.join(' and ')}, but nothing was thrown`);
  assert.instance(caught, kind, `expected ${kind.name}, got ${String(caught)}`);
  const message = (caught as Error).message;
  for (const p of patterns) assert.match(message, p, `message "${message}" should match ${p}`);
}

/** Bitwise equality: the ops must call exactly the kernels, on exactly the data. */
function same(ours: Tensor | Float32Array, direct: Float32Array, what: string): void {
  const a = ours instanceof Tensor ? ours.toFloat32Array() : ours;
  assert.is(a.length, direct.length, `${what}: length`);
  assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(direct.buffer, direct.byteOffset, direct.byteLength)),
    `${what}: op and direct backend call differ`);
}

// ---------------------------------------------------------------------------------------------
// Tensor

test('Tensor shapes: zero, negative, NaN, non-integer and non-numeric dimensions are refused by name', () => {
  throwsWith(() => Tensor.zeros(ref, [2, 0, 3]), [/Tensor\.zeros/, /shape \[2,0,3\]/, /dimension 1 = 0/, /positive integer/], RangeError);
  throwsWith(() => Tensor.zeros(ref, [-4]), [/shape \[-4\]/, /dimension 0 = -4/], RangeError);
  throwsWith(() => Tensor.zeros(ref, [2, NaN]), [/shape \[2,NaN\]/, /dimension 1 = NaN/], RangeError);
  throwsWith(() => Tensor.zeros(ref, [2, 1.5]), [/dimension 1 = 1\.5/], RangeError);
  throwsWith(() => Tensor.zeros(ref, [2, Infinity]), [/dimension 1 = Infinity/], RangeError);
  throwsWith(() => Tensor.zeros(ref, [2, '3' as unknown as number]), [/dimension 1 = 3/], RangeError);
  throwsWith(() => Tensor.fill(ref, [3, -1], 1), [/Tensor\.fill/, /dimension 1 = -1/], RangeError);
  throwsWith(() => Tensor.from(ref, [1, 2], [0, 2]), [/Tensor\.from/, /dimension 0 = 0/], RangeError);
  throwsWith(() => Tensor.zeros(ref, 6 as unknown as number[]), [/shape must be an array/], TypeError);
});

test('Tensor.from: the data length must equal the shape product, and both are named', () => {
  throwsWith(() => Tensor.from(ref, [1, 2, 3, 4, 5], [2, 3]), [/Tensor\.from/, /data has 5 values/, /shape \[2,3\] needs 6/], RangeError);
  throwsWith(() => Tensor.from(ref, new Float32Array(7), [2, 3]), [/data has 7 values/, /needs 6/], RangeError);
  throwsWith(() => Tensor.from(ref, null as unknown as number[], [2, 3]), [/data must be an array/], TypeError);
  throwsWith(() => new Tensor(ref, ref.alloc(5), [2, 3]), [/buffer has 5 floats/, /shape \[2,3\] needs 6/], RangeError);
});

test('Tensor: data, toFloat32Array, fill, zeros and an immutable shape', () => {
  for (const b of backends) {
    const shape = [2, 3];
    const t = Tensor.from(b, [1, 2, 3, 4, 5, 6], shape);
    shape[0] = 99; // the caller's array is copied
    assert.equal(t.shape, [2, 3]);
    assert.ok(Object.isFrozen(t.shape));
    assert.is(t.size, 6);
    assert.is(t.backend, b);
    const copy = t.toFloat32Array();
    t.data[0] = 10; // `data` is live
    assert.is(t.toFloat32Array()[0], 10);
    assert.is(copy[0], 1, 'toFloat32Array is a copy');
    assert.equal(Array.from(Tensor.fill(b, [2, 2], 2.5).data), [2.5, 2.5, 2.5, 2.5]);
    assert.equal(Array.from(Tensor.zeros(b, [3]).data), [0, 0, 0]);
    assert.match(t.toString(), /tensor \[2,3\] on (reference|wasm-simd)/);
  }
});

test('Tensor.dispose: a second dispose is harmless; every other use throws "tensor [2,3] was disposed"', () => {
  for (const b of backends) {
    const t = rand([2, 3], b);
    assert.is(t.disposed, false);
    t.dispose();
    assert.is(t.disposed, true);
    t.dispose();
    throwsWith(() => t.data, [/tensor \[2,3\] was disposed/]);
    throwsWith(() => t.toFloat32Array(), [/tensor \[2,3\] was disposed/]);
    throwsWith(() => t.buf, [/tensor \[2,3\] was disposed/]);
    throwsWith(() => relu(t), [/^relu: x: tensor \[2,3\] was disposed/]);
    const live = rand([2, 3], b);
    throwsWith(() => add(live, t), [/^add: b: tensor \[2,3\] was disposed/]);
    throwsWith(() => addInPlace(t, live), [/^addInPlace: dst: tensor \[2,3\] was disposed/]);
    throwsWith(() => sgdStep(live, rand([2, 3], b), t, { lr: 0.1 }), [/sgdStep: momentumBuffer: tensor \[2,3\] was disposed/]);
  }
});

test('ops refuse tensors of two backends, and arguments that are not tensors', async () => {
  const a = rand([2, 3], ref);
  const w = rand([2, 3], wasm);
  throwsWith(() => add(a, w), [/^add: b is on the wasm-simd backend but a is on the reference backend/, /share a backend/]);
  const otherRef = await createBackend('reference');
  throwsWith(() => add(a, Tensor.zeros(otherRef, [2, 3])), [/add: a and b are on two different reference backend instances/]);
  throwsWith(() => conv2d(rand([1, 3, 4, 4], wasm), rand([2, 3, 3, 3], ref), null), [/conv2d: weight is on the reference backend but x is on the wasm-simd backend/]);
  throwsWith(() => conv2d(rand([1, 3, 4, 4]), rand([2, 3, 3, 3]), rand([2], wasm)), [/conv2d: bias is on the wasm-simd backend/]);
  throwsWith(() => relu(new Float32Array(3) as unknown as Tensor), [/^relu: x must be a Tensor, got Float32Array\(3\)/], TypeError);
  throwsWith(() => linear(rand([2, 3]), [[1, 2, 3]] as unknown as Tensor, null), [/linear: weight must be a Tensor/], TypeError);
  throwsWith(() => conv2d(rand([1, 3, 4, 4]), rand([2, 3, 3, 3]), 0 as unknown as null), [/conv2d: bias must be a Tensor, got 0/], TypeError);
  // From plain JavaScript a left-out bias (undefined) means no bias, like null.
  assert.equal(conv2d(rand([1, 3, 4, 4]), rand([2, 3, 3, 3]), undefined as unknown as null).shape, [1, 2, 2, 2]);
});

// ---------------------------------------------------------------------------------------------
// conv2d

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
  throwsWith(() => conv2d(x, w, null, { pad: 1 } as never), [/conv2d: unknown key "pad" in opts \(known: stride, padding, groups\)/], TypeError);
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

// ---------------------------------------------------------------------------------------------
// batch norm

function bnParams(c: number, b: Backend = ref) {
  return {
    weight: rand([c], b), bias: rand([c], b),
    runningMean: Tensor.zeros(b, [c]), runningVar: Tensor.fill(b, [c], 1),
  };
}

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

// ---------------------------------------------------------------------------------------------
// element-wise

test('element-wise ops: operands must have equal shapes (no broadcasting)', () => {
  throwsWith(() => add(rand([2, 3]), rand([3, 2])), [/^add: b has shape \[3,2\] but a has shape \[2,3\]; they must be equal/]);
  throwsWith(() => add(rand([2, 3]), rand([6])), [/add: b has shape \[6\]/]);
  throwsWith(() => addInPlace(rand([2, 3]), rand([2, 4])), [/^addInPlace: src has shape \[2,4\] but dst has shape \[2,3\]/]);
  throwsWith(() => reluBackward(rand([4]), rand([5])), [/^reluBackward: dy has shape \[5\] but x has shape \[4\]/]);
  throwsWith(() => sigmoidBackward(rand([1, 4]), rand([4, 1])), [/^sigmoidBackward: dy has shape \[4,1\] but y has shape \[1,4\]/]);
});

test('channelScale: s must be [n, c] or [n, c, 1, 1] for x [n, c, h, w]', () => {
  const x = rand([2, 8, 4, 4]);
  throwsWith(() => channelScale(x, rand([8])), [/^channelScale: s has shape \[8\] but x \[2,8,4,4\]/, /expected \[2,8\] or \[2,8,1,1\]/]);
  throwsWith(() => channelScale(x, rand([2, 8, 2, 1])), [/s has shape \[2,8,2,1\]/]);
  throwsWith(() => channelScale(x, rand([1, 8])), [/s has shape \[1,8\]/]);
  throwsWith(() => channelScale(rand([2, 8]), rand([2, 8])), [/channelScale: x must be 4-D/]);
  throwsWith(() => channelScaleBackward(x, rand([2, 8]), rand([2, 8, 4, 5])), [/^channelScaleBackward: dy has shape \[2,8,4,5\] but x has shape \[2,8,4,4\]/]);
  throwsWith(() => channelScaleBackward(x, rand([2, 7]), rand([2, 8, 4, 4])), [/channelScaleBackward: s has shape \[2,7\]/]);
});

// ---------------------------------------------------------------------------------------------
// pooling

test('globalAvgPool and its backward: ranks and shapes', () => {
  throwsWith(() => globalAvgPool(rand([2, 8])), [/^globalAvgPool: x must be 4-D \[n, c, h, w\], got shape \[2,8\]/]);
  throwsWith(() => globalAvgPoolBackward(rand([2, 8]), [2, 8, 4, 4]), [/^globalAvgPoolBackward: dy has shape \[2,8\] but the pooled input is \[2,8,4,4\] \(expected \[2,8,1,1\]\)/]);
  throwsWith(() => globalAvgPoolBackward(rand([2, 8, 1, 1]), [2, 8, 0, 4]), [/globalAvgPoolBackward: inputShape: shape \[2,8,0,4\] has dimension 2 = 0/], RangeError);
  throwsWith(() => globalAvgPoolBackward(rand([2, 8, 1, 1]), [2, 8, 16]), [/inputShape must be 4-D/]);
  assert.equal(globalAvgPool(rand([2, 8, 3, 5])).shape, [2, 8, 1, 1]);
});

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

// ---------------------------------------------------------------------------------------------
// linear

test('linear: ranks, feature counts, bias and dy shapes', () => {
  const x = rand([4, 6]);
  throwsWith(() => linear(rand([4, 6, 1, 1]), rand([3, 6]), null), [/^linear: x must be 2-D \[n, in_features\] \(flatten it first\), got shape \[4,6,1,1\]/]);
  throwsWith(() => linear(x, rand([3, 5]), null), [/^linear: weight \[3,5\] takes 5 input features but x \[4,6\] has 6/]);
  throwsWith(() => linear(x, rand([3, 6]), rand([4])), [/linear: bias has shape \[4\] but weight has 3 output features \(expected \[3\]\)/]);
  throwsWith(() => linearBackward(x, rand([3, 6]), rand([4, 4])), [/^linearBackward: dy has shape \[4,4\]/, /expected \[4,3\]/]);
  throwsWith(() => linearBackward(x, rand([3, 6]), rand([4, 3]), { weight: true } as never), [/linearBackward: unknown key "weight" in needs/], TypeError);
  const g = linearBackward(x, rand([3, 6]), rand([4, 3]), { input: false, bias: true });
  assert.is(g.dx, null);
  assert.equal(g.db?.shape, [3]);
});

// ---------------------------------------------------------------------------------------------
// loss

test('softmaxCrossEntropy: labels are integers in [0, classes), one per row; smoothing in [0, 1]', () => {
  const logits = rand([4, 10]);
  throwsWith(() => softmaxCrossEntropy(logits, [1, 2, 3]), [/^softmaxCrossEntropy: 3 labels for a batch of 4 \(logits \[4,10\]\)/]);
  throwsWith(() => softmaxCrossEntropy(logits, new Int32Array(5)), [/5 labels for a batch of 4/]);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 10, 2]), [/softmaxCrossEntropy: labels\[2\] = 10 is not a class index: expected an integer in \[0, 10\)/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, Int32Array.from([0, -1, 2, 3])), [/labels\[1\] = -1/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 2, 1.5]), [/labels\[3\] = 1\.5/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, [NaN, 1, 2, 3]), [/labels\[0\] = NaN/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, new Float32Array(4) as never), [/labels must be an Int32Array or an array of numbers, got Float32Array\(4\)/], TypeError);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 2, 3], { labelSmoothing: 1.5 }), [/softmaxCrossEntropy: labelSmoothing must be a finite number in \[0, 1\], got 1\.5/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 2, 3], { labelSmoothing: -0.1 }), [/labelSmoothing .* got -0\.1/], RangeError);
  throwsWith(() => softmaxCrossEntropy(rand([4, 10, 1]), [0, 1, 2, 3]), [/softmaxCrossEntropy: logits must be 2-D \[n, classes\], got shape \[4,10,1\]/]);
});

// ---------------------------------------------------------------------------------------------
// optimizers

test('sgdStep: finite hyper-parameters, lr >= 0, nesterov needs momentum, equal and distinct state', () => {
  const p = rand([3, 2]);
  const g = rand([3, 2]);
  const m = Tensor.zeros(ref, [3, 2]);
  throwsWith(() => sgdStep(p, g, m, { lr: NaN }), [/^sgdStep: lr must be a finite number >= 0, got NaN/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: -0.1 }), [/lr .* got -0\.1/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: Infinity }), [/lr .* got Infinity/], RangeError);
  throwsWith(() => sgdStep(p, g, m, {} as never), [/sgdStep: lr must be a finite number >= 0, got undefined/], RangeError);
  throwsWith(() => sgdStep(p, g, m, undefined as never), [/sgdStep: opts must be an object with lr/], TypeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, momentum: -0.9 }), [/sgdStep: momentum .* got -0\.9/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, weightDecay: NaN }), [/sgdStep: weightDecay .* got NaN/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, nesterov: true }), [/sgdStep: nesterov needs momentum > 0, got momentum=0/], RangeError);
  throwsWith(() => sgdStep(p, g, m, { lr: 0.1, nestrov: true } as never), [/sgdStep: unknown key "nestrov" in opts/], TypeError);
  throwsWith(() => sgdStep(p, rand([2, 3]), m, { lr: 0.1 }), [/^sgdStep: grad has shape \[2,3\] but param has shape \[3,2\]/]);
  throwsWith(() => sgdStep(p, g, Tensor.zeros(ref, [6]), { lr: 0.1 }), [/sgdStep: momentumBuffer has shape \[6\] but param has shape \[3,2\]/]);
  throwsWith(() => sgdStep(p, g, p, { lr: 0.1 }), [/sgdStep: param and momentumBuffer are the same tensor/]);
});

test('adamwStep: betas in [0, 1), eps and weight decay >= 0, step a positive integer, state shapes', () => {
  const p = rand([5]);
  const g = rand([5]);
  const m = Tensor.zeros(ref, [5]);
  const v = Tensor.zeros(ref, [5]);
  throwsWith(() => adamwStep(p, g, m, v, { lr: NaN, step: 1 }), [/^adamwStep: lr must be a finite number >= 0, got NaN/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, beta1: 1, step: 1 }), [/adamwStep: beta1 must be a finite number in \[0, 1\), got 1/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, beta2: -0.5, step: 1 }), [/beta2 .* got -0\.5/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, eps: -1, step: 1 }), [/adamwStep: eps .* got -1/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, weightDecay: Infinity, step: 1 }), [/weightDecay .* got Infinity/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, step: 0 }), [/adamwStep: step must be a positive integer, got 0/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3, step: 2.5 }), [/step .* got 2\.5/], RangeError);
  throwsWith(() => adamwStep(p, g, m, v, { lr: 1e-3 } as never), [/step .* got undefined/], RangeError);
  throwsWith(() => adamwStep(p, g, m, rand([4]), { lr: 1e-3, step: 1 }), [/^adamwStep: v has shape \[4\] but param has shape \[5\]/]);
  throwsWith(() => adamwStep(p, g, m, m, { lr: 1e-3, step: 1 }), [/adamwStep: m and v are the same tensor/]);
});

// ---------------------------------------------------------------------------------------------
// shapes

test('reshape and flatten: sizes must match; one -1 is inferred; the result is an independent copy', () => {
  const x = rand([2, 3, 4]);
  throwsWith(() => reshape(x, [5, 5]), [/^reshape: cannot reshape x \[2,3,4\] \(24 elements\) to \[5,5\]/]);
  throwsWith(() => reshape(x, [5, -1]), [/cannot reshape x \[2,3,4\] \(24 elements\) to \[5,-1\]/]);
  throwsWith(() => reshape(x, [-1, -1]), [/reshape: shape \[-1,-1\] has more than one -1/], RangeError);
  throwsWith(() => reshape(x, [0, 24]), [/reshape: shape \[0,24\] has dimension 0 = 0/], RangeError);
  throwsWith(() => reshape(x, [-2, -12]), [/dimension 0 = -2/], RangeError);
  const y = reshape(x, [4, -1]);
  assert.equal(y.shape, [4, 6]);
  same(y, x.toFloat32Array(), 'reshape keeps the elements');
  throwsWith(() => flatten(rand([5])), [/flatten: x must have at least 2 dimensions \[n, \.\.\.\], got shape \[5\]/]);
  const f = flatten(x);
  assert.equal(f.shape, [2, 12]);
  x.dispose();
  assert.is(f.toFloat32Array().length, 24, 'the copy outlives its source');
});

// ---------------------------------------------------------------------------------------------
// no leaks

test('failed calls leak nothing: validation happens before allocation, and outputs are freed if a kernel throws', async () => {
  const b = (await createBackend('wasm-simd')) as WasmBackend;
  const x = rand([2, 4, 6, 6], b);
  const w = rand([8, 4, 3, 3], b);
  const live = b.liveBytes();
  assert.throws(() => conv2d(x, rand([8, 3, 3, 3], b), null));
  assert.ok(b.liveBytes() > live, 'the bad weight itself is live');
  const afterWeight = b.liveBytes();
  assert.throws(() => conv2dBackward(x, w, Tensor.zeros(b, [2, 8, 5, 5])));
  assert.throws(() => batchNormTrain(x, bnParams(4, b), { momentum: 2 }));
  assert.ok(b.liveBytes() > afterWeight);

  // A backend whose weight-gradient kernel fails after dx, dw and db were allocated.
  const failing: Backend = Object.create(b);
  failing.conv2dBackwardWeight = () => { throw new Error('kernel failed'); };
  const fx = rand([2, 4, 6, 6], failing);
  const fw = rand([8, 4, 3, 3], failing);
  const fdy = rand([2, 8, 4, 4], failing);
  const before = b.liveBytes();
  throwsWith(() => conv2dBackward(fx, fw, fdy, {}, { input: true, bias: true }), [/kernel failed/]);
  assert.is(b.liveBytes(), before, 'dx, dw and db were disposed');
});

// ---------------------------------------------------------------------------------------------
// ops == backend

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
    assert.equal(e.shape, x.shape, "eval returns just the normalized tensor");
    same(g.dx, download(b, dx), `${b.name} bn dx`);
    same(g.dweight, download(b, dg), `${b.name} bn dweight`);
    same(g.dbias, download(b, db), `${b.name} bn dbias`);
    for (const buf of [bx, bg, bbeta, bdy, rm, rv, y, sm, si, ye, dx, dg, db]) b.free(buf);
  }
});

test('element-wise ops and channelScale give exactly what the backend gives', () => {
  for (const b of backends) {
    const [n, c, hw] = [2, 3, 10];
    const as = rng.normals(n * c * hw);
    const bs = rng.normals(n * c * hw);
    const ss = rng.normals(n * c);
    const a = Tensor.from(b, as, [n, c, 2, 5]);
    const t = Tensor.from(b, bs, [n, c, 2, 5]);
    const sFlat = Tensor.from(b, ss, [n, c]);
    const sKeep = Tensor.from(b, ss, [n, c, 1, 1]);
    const ba = upload(b, as);
    const bb = upload(b, bs);
    const bsc = upload(b, ss);
    const out = (): ReturnType<Backend['alloc']> => b.alloc(as.length);

    const r = out();
    b.relu(ba, r);
    same(relu(a), download(b, r), `${b.name} relu`);
    b.reluBackward(ba, bb, r);
    same(reluBackward(a, t), download(b, r), `${b.name} reluBackward`);
    b.add(ba, bb, r);
    same(add(a, t), download(b, r), `${b.name} add`);
    b.sigmoid(ba, r);
    same(sigmoid(a), download(b, r), `${b.name} sigmoid`);
    b.sigmoidBackward(ba, bb, r);
    same(sigmoidBackward(a, t), download(b, r), `${b.name} sigmoidBackward`);
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
    b.addInPlace(ba, bb);
    addInPlace(a, t);
    same(a, download(b, ba), `${b.name} addInPlace`);
    for (const buf of [ba, bb, bsc, r, ds]) b.free(buf);
  }
});

test('pooling and linear give exactly what the backend gives', () => {
  for (const b of backends) {
    const xs = rng.normals(2 * 3 * 7 * 7);
    const x = Tensor.from(b, xs, [2, 3, 7, 7]);
    const bx = upload(b, xs);

    const gap = globalAvgPool(x);
    const bgap = b.alloc(6);
    b.globalAvgPool(2, 3, 49, bx, bgap);
    same(gap, download(b, bgap), `${b.name} globalAvgPool`);
    const gdx = b.alloc(xs.length);
    b.globalAvgPoolBackward(2, 3, 49, bgap, gdx);
    same(globalAvgPoolBackward(gap, x.shape), download(b, gdx), `${b.name} globalAvgPoolBackward`);

    const ps: Pool2dShape = { n: 2, c: 3, h: 7, w: 7, kh: 3, kw: 3, sh: 2, sw: 2, ph: 1, pw: 1, oh: 4, ow: 4 };
    const mp = maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 });
    const bmp = b.alloc(2 * 3 * 16);
    b.maxPool2d(ps, bx, bmp);
    same(mp, download(b, bmp), `${b.name} maxPool2d`);
    const mdx = b.alloc(xs.length);
    b.maxPool2dBackward(ps, bx, bmp, mdx);
    same(maxPool2dBackward(x, mp, { kernelSize: 3, stride: 2, padding: 1 }), download(b, mdx), `${b.name} maxPool2dBackward`);

    const ls = rng.normals(2 * 5);
    const wls = rng.normals(4 * 5);
    const bls = rng.normals(4);
    const dys = rng.normals(2 * 4);
    const lx = Tensor.from(b, ls, [2, 5]);
    const lw = Tensor.from(b, wls, [4, 5]);
    const y = linear(lx, lw, Tensor.from(b, bls, [4]));
    const g = linearBackward(lx, lw, Tensor.from(b, dys, [2, 4]), { bias: true });
    const [blx, blw, blb, bdy] = [ls, wls, bls, dys].map((d) => upload(b, d));
    const [by, bdx, bdw, bdb] = [8, 10, 20, 4].map((len) => b.alloc(len));
    b.linear(2, 5, 4, blx, blw, blb, by);
    b.linearBackward(2, 5, 4, blx, blw, bdy, bdx, bdw, bdb);
    same(y, download(b, by), `${b.name} linear`);
    same(g.dx!, download(b, bdx), `${b.name} linear dx`);
    same(g.dw, download(b, bdw), `${b.name} linear dw`);
    same(g.db!, download(b, bdb), `${b.name} linear db`);
    for (const buf of [bx, bgap, gdx, bmp, mdx, blx, blw, blb, bdy, by, bdx, bdw, bdb]) b.free(buf);
  }
});

test('softmaxCrossEntropy and the optimizers give exactly what the backend gives', () => {
  for (const b of backends) {
    const ls = rng.normals(3 * 5);
    const labels = [4, 0, 2];
    const r = softmaxCrossEntropy(Tensor.from(b, ls, [3, 5]), labels, { labelSmoothing: 0.1 });
    const r32 = softmaxCrossEntropy(Tensor.from(b, ls, [3, 5]), Int32Array.from(labels), { labelSmoothing: 0.1 });
    const bl = upload(b, ls);
    const bd = b.alloc(15);
    const loss = b.softmaxCrossEntropy(3, 5, bl, Int32Array.from(labels), 0.1, bd);
    assert.is(r.loss, loss, `${b.name} loss`);
    assert.is(r32.loss, loss, `${b.name} loss, Int32Array labels`);
    same(r.dlogits, download(b, bd), `${b.name} dlogits`);

    const ps = rng.normals(7);
    const gs = rng.normals(7);
    const p = Tensor.from(b, ps, [7]);
    const g = Tensor.from(b, gs, [7]);
    const mom = Tensor.zeros(b, [7]);
    const bp = upload(b, ps);
    const bg = upload(b, gs);
    const bm = b.alloc(7);
    for (let i = 0; i < 3; i++) {
      sgdStep(p, g, mom, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
      b.sgdStep(bp, bg, bm, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    }
    same(p, download(b, bp), `${b.name} sgd param`);
    same(mom, download(b, bm), `${b.name} sgd momentum`);

    const m = Tensor.zeros(b, [7]);
    const v = Tensor.zeros(b, [7]);
    const bm2 = b.alloc(7);
    const bv = b.alloc(7);
    for (let step = 1; step <= 3; step++) {
      adamwStep(p, g, m, v, { lr: 1e-2, step });
      b.adamwStep(bp, bg, bm2, bv, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step });
    }
    same(p, download(b, bp), `${b.name} adamw param (torch defaults)`);
    same(m, download(b, bm2), `${b.name} adamw m`);
    same(v, download(b, bv), `${b.name} adamw v`);
    for (const buf of [bl, bd, bp, bg, bm, bm2, bv]) b.free(buf);
  }
});

test.run();
