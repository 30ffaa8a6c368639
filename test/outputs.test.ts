// An op's outputs (src/ops/outputs.ts): when a kernel fails after the outputs were allocated, they
// are disposed before the error propagates, so a failed call strands nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend.js';
import { createBackend, type WasmBackend } from '../src/index.js';
import { conv2dBackward } from '../src/ops/index.js';
import { rand } from './helpers/ops.js';
import { throwsWith } from './helpers/throws.js';

test('a kernel that throws after dx, dw and db were allocated: all three are freed', async () => {
  const b = (await createBackend('wasm-simd')) as WasmBackend;
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

test.run();
