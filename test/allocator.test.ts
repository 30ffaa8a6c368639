// The WASM backend's allocator (src/backends/wasm/allocator.ts): a training loop through the ops
// that disposes its temporaries holds flat memory (every step after the first is served from the
// free lists), and requests that cannot fit fail cleanly, with the amount asked, instead of
// trapping inside a kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Allocator, WASM32_MAX_BYTES } from '../src/backends/wasm/allocator.js';
import { Tensor, WasmOutOfMemoryError, createBackend, type WasmBackend } from '../src/index.js';
import { LABELS, setup } from './helpers/training-block.js';

test('1,000 training steps through the ops on wasm-simd: memory flat after warm-up, live bytes back to baseline', async () => {
  const b = (await createBackend('wasm-simd')) as WasmBackend;
  const { block, x } = setup(b);
  const baseline = b.liveBytes(); // parameters, optimizer state, running statistics and the input
  const offBaseline: number[] = [];
  let first = NaN;
  let last = NaN;
  let memoryAt10 = NaN;
  const t0 = performance.now();
  for (let step = 1; step <= 1000; step++) {
    last = block.step(x, LABELS);
    if (step === 1) first = last;
    if (step === 10) memoryAt10 = b.memoryBytes();
    if (b.liveBytes() !== baseline) offBaseline.push(step);
  }
  const ms = performance.now() - t0;
  assert.is(b.memoryBytes(), memoryAt10, `memoryBytes after step 1000 (${b.memoryBytes()}) equals its value after step 10 (${memoryAt10})`);
  assert.equal(offBaseline, [], `live bytes return to the baseline ${baseline} after every step`);
  assert.ok(Number.isFinite(last) && last < first * 0.5, `the block learns (loss ${first} -> ${last})`);
  assert.ok(ms < 20_000, `1,000 steps took ${ms.toFixed(0)} ms`);

  x.dispose();
  for (const p of block.params) {
    p.value.dispose();
    p.momentum.dispose();
  }
  for (const bn of [block.bn3, block.bn1, block.bnId]) {
    bn.runningMean.dispose();
    bn.runningVar.dispose();
  }
  assert.is(b.liveBytes(), 0, 'nothing at all is live once the parameters are disposed');
});

// ---------------------------------------------------------------------------------------------
// requests that cannot fit

test('more than wasm32 can hold: Tensor.zeros([1, 1, 40000, 40000]) (6.4 GB) throws a RangeError naming the bytes', async () => {
  const b = (await createBackend('wasm-simd')) as WasmBackend;
  const memory = b.memoryBytes();
  try {
    Tensor.zeros(b, [1, 1, 40000, 40000]);
    assert.unreachable('6.4 GB cannot be allocated in wasm32');
  } catch (e) {
    assert.instance(e, RangeError);
    assert.match((e as Error).message, /6400000000 bytes/);
  }
  assert.is(b.memoryBytes(), memory, 'memory did not grow');
  assert.is(b.liveBytes(), 0);
  // The backend is still usable.
  assert.equal(Array.from(Tensor.fill(b, [2], 3).data), [3, 3]);
});

test('a tensor under the wasm32 limit but too big for what is left fails with WasmOutOfMemoryError naming the amount', async () => {
  // 3.9 GiB: a valid float count, but with the module's own data below the heap it cannot fit
  // (its size class is 4 GiB). The allocator sees that before growing memory, so this costs nothing.
  const b = (await createBackend('wasm-simd')) as WasmBackend;
  const memory = b.memoryBytes();
  const bytes = 32768 * 32000 * 4;
  try {
    Tensor.zeros(b, [1, 1, 32768, 32000]);
    assert.unreachable('3.9 GiB does not fit');
  } catch (e) {
    assert.instance(e, WasmOutOfMemoryError);
    const err = e as WasmOutOfMemoryError;
    assert.is(err.requestedBytes, bytes);
    assert.match(err.message, new RegExp(`asked for 3\\.91 GiB \\(${bytes} bytes\\)`));
    assert.match(err.message, /wasm32 addresses at most 4\.00 GiB/);
  }
  assert.is(b.memoryBytes(), memory, 'memory did not grow');
  assert.is(b.liveBytes(), 0);
});

test('Allocator: three 1.5 MiB blocks under a 4 MiB ceiling (3 x 1.5 GiB under 4 GiB, scaled down): the third fails', () => {
  // The same arithmetic as three 1.5 GiB tensors in wasm32, at 1/1024 of the size so it takes no time.
  const MiB = 1024 * 1024;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 });
  const alloc = new Allocator(memory, 1024, 4 * MiB);
  const a = alloc.alloc(1.5 * MiB);
  alloc.alloc(1.5 * MiB);
  try {
    alloc.alloc(1.5 * MiB);
    assert.unreachable('4.5 MiB do not fit under 4 MiB');
  } catch (e) {
    assert.instance(e, WasmOutOfMemoryError);
    const err = e as WasmOutOfMemoryError;
    assert.is(err.requestedBytes, 1.5 * MiB);
    assert.is(err.inUseBytes, 3 * MiB);
    assert.match(err.message, /asked for 1\.5 MiB \(1572864 bytes\) with 3\.0 MiB already in use/);
    assert.match(err.message, /at most 4\.0 MiB/);
  }
  assert.is(alloc.liveBytes(), 3 * MiB, 'the failed request left the accounting unchanged');
  // Freeing one block makes room again, from the free list, without growing.
  const grown = memory.buffer.byteLength;
  alloc.free(a.ptr, a.size);
  assert.is(alloc.alloc(1.5 * MiB).ptr, a.ptr);
  assert.is(memory.buffer.byteLength, grown);
});

test('Allocator: an engine that refuses to grow memory gives WasmOutOfMemoryError, not a trap', () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 }); // the engine allows 128 KiB
  const alloc = new Allocator(memory, 0);
  alloc.alloc(1000);
  try {
    alloc.alloc(200 * 1024);
    assert.unreachable('the memory cannot grow to 200 KiB');
  } catch (e) {
    assert.instance(e, WasmOutOfMemoryError);
    assert.match((e as Error).message, /asked for 200\.0 KiB \(204800 bytes\)/);
    assert.match((e as Error).message, /the engine refused to grow memory from 64\.0 KiB/);
  }
  assert.ok(WASM32_MAX_BYTES === 4 * 1024 ** 3);
});

// Growing a real backend to nearly 4 GiB takes ~15 s here (the backend zero-fills each new block,
// and touching 3.75 GiB of fresh pages is what costs), so this runs only when asked for.
if (process.env.REPVGG_TEST_4GIB === '1') {
  test('wasm-simd: four 1.2 GiB tensors fail on the fourth with WasmOutOfMemoryError (REPVGG_TEST_4GIB=1)', async () => {
    const b = (await createBackend('wasm-simd')) as WasmBackend;
    const floats = Math.floor((1.2 * 1024 ** 3) / 4);
    const held: Tensor[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(Tensor.zeros(b, [floats])); // 3 x 1.25 GiB size classes fit
      Tensor.zeros(b, [floats]);
      assert.unreachable('a fourth 1.2 GiB tensor cannot fit in wasm32');
    } catch (e) {
      assert.instance(e, WasmOutOfMemoryError);
      assert.match((e as Error).message, new RegExp(`asked for 1\\.20 GiB \\(${floats * 4} bytes\\) with 3\\.75 GiB already in use`));
    } finally {
      for (const t of held) t.dispose();
    }
  });
}

test.run();
