// The ops' shared validation (src/ops/check.ts), where it is the same for every op: arguments must
// be tensors of one backend instance, and a call that fails validation allocates nothing. The
// op-specific rules are tested in each op's file (test/<op>.test.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend, type WasmBackend } from '../src/index.js';
import { add, batchNormTrain, conv2d, conv2dBackward, linear, relu } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { testBackends } from './helpers/backends.js';
import { bnParams, rand, ref } from './helpers/ops.js';
import { throwsWith } from './helpers/throws.js';

const [, wasm] = await testBackends();

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

test('failed validation leaks nothing: it happens before any output is allocated', async () => {
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
});

test.run();
