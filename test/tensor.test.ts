// Tensor (src/tensor.ts): shapes are checked and named, data and shape are what was given, and a
// disposed tensor refuses every use (including as an op's argument).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { add, addInPlace, relu, sgdStep } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { testBackends } from './helpers/backends.js';
import { rand, ref } from './helpers/ops.js';
import { throwsWith } from './helpers/throws.js';

const backends = await testBackends();

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

test.run();
