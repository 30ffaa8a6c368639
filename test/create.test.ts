// Choosing a backend (src/backends/create.ts): 'auto' takes WASM SIMD where the runtime has it,
// 'reference' always works, anything else is refused by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/index.js';

test('auto picks wasm-simd here; reference is always available', async () => {
  assert.is((await createBackend()).name, 'wasm-simd');
  assert.is((await createBackend('reference')).name, 'reference');
  await createBackend('gpu' as never).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /unknown backend "gpu"/));
});

test.run();
