// The reference backend's memory (src/backends/reference/index.ts): zeroed allocations, the
// free-list pool, the byte count, flat memory over a training loop, and clear errors for misuse
// (double free, foreign buffers, bad lengths, use after free).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { ReferenceBackend } from '../src/backends/reference/index.js';
import { LABELS, setup } from './helpers/training-block.js';

test('reference alloc returns zeros, and reuses freed arrays of the same length zeroed', () => {
  const b = new ReferenceBackend();
  const a = b.alloc(10);
  assert.is(a.length, 10);
  assert.equal(Array.from(b.view(a)), new Array<number>(10).fill(0));
  const storage = b.view(a);
  storage.fill(7);
  b.free(a);
  const again = b.alloc(10);
  assert.ok(b.view(again) === storage, 'the pooled array is reused');
  assert.equal(Array.from(b.view(again)), new Array<number>(10).fill(0), 'and zeroed');
  const other = b.alloc(10); // pool for 10 is empty now: a new array
  assert.ok(b.view(other) !== storage);
});

test('reference memoryBytes counts live and pooled arrays; trim drops the pooled ones', () => {
  const b = new ReferenceBackend();
  assert.is(b.memoryBytes(), 0);
  const x = b.alloc(100);
  const y = b.alloc(28);
  assert.is(b.memoryBytes(), 4 * 128);
  b.free(x);
  assert.is(b.memoryBytes(), 4 * 128, 'freed arrays stay in the pool');
  const z = b.alloc(100); // from the pool: no growth
  assert.is(b.memoryBytes(), 4 * 128);
  b.free(z);
  b.free(y);
  b.trim();
  assert.is(b.memoryBytes(), 0);
  const empty = b.alloc(0);
  assert.is(b.view(empty).length, 0);
  b.free(empty);
});

test('reference free of a buffer twice, or of a foreign buffer, throws', () => {
  const b = new ReferenceBackend();
  const other = new ReferenceBackend();
  const x = b.alloc(4);
  b.free(x);
  assert.throws(() => b.free(x), /already freed/);
  assert.throws(() => b.view(x), /already freed/);
  assert.throws(() => b.relu(x, b.alloc(4)), /relu: .*already freed/);
  assert.throws(() => b.free(other.alloc(4)), /not allocated by this backend/);
  assert.throws(() => b.free({ length: 4 }), /not allocated by this backend/);
});

test('reference alloc rejects non-integer, negative and absurd lengths, naming them', () => {
  const b = new ReferenceBackend();
  for (const bad of [1.5, -1, 2 ** 30 + 1, NaN, Infinity]) {
    assert.throws(() => b.alloc(bad), (e: Error) => e.message.includes(`alloc(${String(bad)})`), `alloc(${bad})`);
  }
  assert.is(b.memoryBytes(), 0);
});

test('100 training steps of a block through the ops: memory flat after warm-up (as on wasm-simd, see allocator.test.ts)', async () => {
  const b = await createBackend('reference');
  const { block, x } = setup(b);
  let memoryAt10 = NaN;
  for (let step = 1; step <= 100; step++) {
    block.step(x, LABELS);
    if (step === 10) memoryAt10 = b.memoryBytes();
  }
  assert.is(b.memoryBytes(), memoryAt10);
});

test.run();
