// For the tests of the typed ops (src/ops/): random tensors, BN parameters, and the bitwise
// comparison of an op's result with a direct backend call on the same data.
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend.js';
import type { BatchNormParams } from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor.js';
import { testBackends } from './backends.js';
import { Rng } from './random.js';

/** The reference backend of testBackends(): where validation tests make their tensors. */
export const [ref] = await testBackends();

/** The random stream of rand() (one per test process: the values only feed shape checks and
 *  op-vs-backend comparisons, which hold for any values). */
export const rng = new Rng(7);

/** A tensor of normal values on `b` (the reference backend unless said otherwise). */
export function rand(shape: number[], b: Backend = ref): Tensor {
  return Tensor.from(b, rng.normals(shape.reduce((a, d) => a * d, 1)), shape);
}

/** BN parameters for `c` channels: random affine, running mean 0 and variance 1. */
export function bnParams(c: number, b: Backend = ref): BatchNormParams {
  return {
    weight: rand([c], b), bias: rand([c], b),
    runningMean: Tensor.zeros(b, [c]), runningVar: Tensor.fill(b, [c], 1),
  };
}

/** Bitwise equality: the ops must call exactly the kernels, on exactly the data. */
export function same(ours: Tensor | Float32Array, direct: Float32Array, what: string): void {
  const a = ours instanceof Tensor ? ours.toFloat32Array() : ours;
  assert.is(a.length, direct.length, `${what}: length`);
  assert.ok(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(direct.buffer, direct.byteOffset, direct.byteLength)),
    `${what}: op and direct backend call differ`);
}
