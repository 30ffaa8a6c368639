// The WASM allocator (src/backends/wasm/allocator.ts). On its own: random alloc/free sequences
// checked against the heap's invariants after every call, then the individual rules (merging,
// return to the bump pointer, best fit, fresh blocks) on small hand-made heaps. Through the ops: a
// training loop that disposes its temporaries holds flat memory (after the first steps every
// request is served from blocks freed by the step before, and the heap layout stops changing), and
// requests that cannot fit fail cleanly, with the amount asked, instead of trapping inside a kernel.
// Model-sized sequences are in memory-models.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Allocator, WASM32_MAX_BYTES, WasmOutOfMemoryError, blockSize, type HeapLayout } from '../src/backends/wasm/allocator.js';
import { Tensor, createBackend, type WasmBackend } from '../src/index.js';
import { Rng } from './helpers/random.js';
import { LABELS, setup } from './helpers/training-block.js';
import { inspectableWasmBackend } from './helpers/wasm-heap.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const PAGE = 65536;

/** A memory of `maxBytes` at most: a real WebAssembly.Memory, so fresh blocks can be checked to hold zeros. */
function realMemory(maxBytes: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: maxBytes / PAGE });
}

/** A memory that only counts its size (nothing is mapped): for heaps too large to map in a test. */
function countingMemory(): WebAssembly.Memory {
  let bytes = PAGE;
  return {
    get buffer() { return { byteLength: bytes } as ArrayBuffer; },
    grow(pages: number) { const old = bytes / PAGE; bytes += pages * PAGE; return old; },
  } as unknown as WebAssembly.Memory;
}

interface LiveBlock { ptr: number; size: number; bytes: number }

/**
 * Every invariant of the heap, from the allocator's layout and the test's own list of live blocks:
 * live and free blocks tile [base, top) exactly (so nothing overlaps and nothing is lost), all
 * 64-byte aligned; every live block is its request rounded up to 64 bytes; no two free blocks touch
 * and none touches the top (merging is complete); the live byte count is the sum of the live blocks;
 * top <= highWater <= mapped memory.
 */
function checkHeap(a: Allocator, live: Iterable<LiveBlock>, memory: WebAssembly.Memory, where: string): HeapLayout {
  const l = a.layout();
  const blocks: { ptr: number; size: number; free: boolean }[] = [];
  let liveSum = 0;
  for (const b of live) {
    if (b.size !== blockSize(b.bytes)) assert.unreachable(`${where}: a block of ${b.bytes} bytes has size ${b.size}`);
    blocks.push({ ptr: b.ptr, size: b.size, free: false });
    liveSum += b.size;
  }
  for (const f of l.free) blocks.push({ ...f, free: true });
  blocks.sort((x, y) => x.ptr - y.ptr);
  let at = l.base;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (b.ptr !== at) assert.unreachable(`${where}: block ${i} starts at ${b.ptr}, expected ${at} (${b.ptr < at ? 'overlap' : 'gap'})`);
    if (b.ptr % 64 !== 0 || b.size % 64 !== 0 || b.size <= 0) assert.unreachable(`${where}: block [${b.ptr}, +${b.size}) is not 64-byte aligned`);
    if (b.free && i > 0 && blocks[i - 1].free) assert.unreachable(`${where}: free blocks at ${blocks[i - 1].ptr} and ${b.ptr} touch`);
    at += b.size;
  }
  if (at !== l.top) assert.unreachable(`${where}: blocks end at ${at}, top is ${l.top}`);
  if (blocks.length > 0 && blocks[blocks.length - 1].free) assert.unreachable(`${where}: a free block touches the top`);
  if (a.liveBytes() !== liveSum) assert.unreachable(`${where}: liveBytes ${a.liveBytes()}, live blocks sum to ${liveSum}`);
  if (!(l.base <= l.top && l.top <= l.highWater && l.highWater <= memory.buffer.byteLength)) {
    assert.unreachable(`${where}: base ${l.base}, top ${l.top}, highWater ${l.highWater}, mapped ${memory.buffer.byteLength}`);
  }
  return l;
}

test('random alloc/free sequences: every invariant after every call; fresh blocks are exactly those never handed out, and hold zeros', () => {
  const counts = { merges: 0, topReturns: 0, reused: 0, fresh: 0, notFreshFromTop: 0, outOfMemory: 0, ops: 0 };
  for (let seed = 1; seed <= 6; seed++) {
    const rng = new Rng(seed);
    const maxBytes = 3 * MiB; // tight enough that some requests fail
    const memory = realMemory(maxBytes);
    const heapBase = 1000 + seed; // not aligned: the heap starts at the next 64 bytes
    const a = new Allocator(memory, heapBase, maxBytes);
    const live = new Map<number, LiveBlock>(); // by ptr
    const order: number[] = []; // ptrs in allocation order
    let handedOutEnd = Math.ceil(heapBase / 64) * 64; // the test's own mark: end of the highest block ever handed out
    let peak = 0;
    const sizes: number[] = [];
    const randomSize = (): number => {
      const r = rng.next();
      if (r < 0.1 && sizes.length > 0) return sizes[Math.floor(rng.next() * sizes.length)]; // the same shapes again
      if (r < 0.45) return Math.floor(rng.uniform(0, 300)); // 0 included: alloc(0) still gets a block
      if (r < 0.8) return Math.floor(rng.uniform(300, 32 * KiB));
      return Math.floor(rng.uniform(32 * KiB, 768 * KiB));
    };
    const freeOne = (ptr: number) => {
      const b = live.get(ptr)!;
      const before = a.layout();
      a.free(b.ptr, b.size);
      live.delete(ptr);
      order.splice(order.indexOf(ptr), 1);
      const after = a.layout();
      if (after.top < before.top) counts.topReturns++;
      else if (after.free.length <= before.free.length) counts.merges++; // merged with at least one neighbour
    };
    for (let op = 0; op < 2500; op++) {
      counts.ops++;
      const r = rng.next();
      if (r < 0.55 || live.size === 0) {
        const bytes = randomSize();
        sizes.push(bytes);
        const liveBefore = a.liveBytes();
        const topBefore = a.layout().top;
        let block: { ptr: number; size: number; fresh: boolean };
        try {
          block = a.alloc(bytes);
        } catch (e) {
          assert.instance(e, WasmOutOfMemoryError);
          counts.outOfMemory++;
          assert.is(a.liveBytes(), liveBefore, 'a failed alloc changes nothing');
          continue;
        }
        const { ptr, size, fresh } = block;
        // fresh exactly when nothing of the block was handed out before (the mark is contiguous:
        // every byte below it belonged to some block).
        if (fresh !== (ptr >= handedOutEnd)) assert.unreachable(`seed ${seed} op ${op}: block at ${ptr} fresh=${fresh}, handed out up to ${handedOutEnd}`);
        if (fresh) {
          counts.fresh++;
          const u8 = new Uint8Array(memory.buffer, ptr, size);
          for (let i = 0; i < size; i++) if (u8[i] !== 0) assert.unreachable(`seed ${seed} op ${op}: fresh block at ${ptr} has byte ${i} = ${u8[i]}`);
        } else if (ptr >= topBefore) counts.notFreshFromTop++;
        else counts.reused++;
        new Uint8Array(memory.buffer, ptr, size).fill(0xab); // written: must never come back as fresh
        handedOutEnd = Math.max(handedOutEnd, ptr + size);
        live.set(ptr, { ptr, size, bytes });
        order.push(ptr);
        peak = Math.max(peak, a.liveBytes());
      } else if (r < 0.97) {
        // mostly recent blocks (temporaries), sometimes the oldest, sometimes any
        const k = rng.next();
        const i = k < 0.5 ? order.length - 1 - Math.floor(rng.next() * Math.min(4, order.length))
          : k < 0.6 ? 0 : Math.floor(rng.next() * order.length);
        freeOne(order[i]);
      } else {
        // a burst: everything after a random point goes (the end of a step)
        const from = Math.floor(rng.next() * order.length);
        for (const ptr of order.slice(from).reverse()) freeOne(ptr);
      }
      checkHeap(a, live.values(), memory, `seed ${seed} op ${op}`);
      assert.is(a.peakLiveBytes(), peak);
    }
    for (const ptr of [...order]) freeOne(ptr);
    const l = checkHeap(a, [], memory, `seed ${seed} after freeing everything`);
    assert.equal([l.top, l.free], [l.base, []], 'an empty heap is one run from the base to the bump pointer');
  }
  // Each rule was exercised, so the checks above were not vacuous.
  for (const [k, v] of Object.entries(counts)) if (k !== 'ops') assert.ok(v >= 20, `${k}: ${v} times in ${counts.ops} calls`);
});

test('a freed block merges with free neighbours on both sides; the merged run serves a larger request in place', () => {
  const memory = countingMemory();
  const a = new Allocator(memory, 0);
  const [x, y, z, guard] = [1000, 2000, 3000, 64].map((n) => a.alloc(n));
  a.free(x.ptr, x.size);
  a.free(z.ptr, z.size);
  assert.equal(a.layout().free, [{ ptr: x.ptr, size: x.size }, { ptr: z.ptr, size: z.size }]);
  a.free(y.ptr, y.size);
  const run = x.size + y.size + z.size;
  assert.equal(a.layout().free, [{ ptr: x.ptr, size: run }], 'one run where three blocks were');
  const mapped = memory.buffer.byteLength;
  const big = a.alloc(run);
  assert.equal([big.ptr, big.size, big.fresh], [x.ptr, run, false]);
  assert.is(memory.buffer.byteLength, mapped);
  assert.equal(a.layout().free, []);
  assert.ok(guard.ptr > big.ptr);
});

test('freeing the highest block returns it, and any free run below it, to the bump pointer', () => {
  const a = new Allocator(countingMemory(), 64);
  const x = a.alloc(100);
  const y = a.alloc(5000);
  const z = a.alloc(7000);
  a.free(y.ptr, y.size);
  assert.is(a.layout().top, z.ptr + z.size);
  a.free(z.ptr, z.size);
  assert.equal([a.layout().top, a.layout().free], [y.ptr, []], 'z and the free y below it are both gone from the heap');
  a.free(x.ptr, x.size);
  assert.equal([a.layout().top, a.layout().free], [64, []]);
  // The space is reused for any size: one block larger than x, y and z were.
  const w = a.alloc(12_000);
  assert.equal([w.ptr, w.fresh], [64, false], 'reused memory is not fresh even though it came from the bump pointer');
});

test('best fit: the smallest free block that holds the request, the lowest address among equals; the rest stays free', () => {
  const a = new Allocator(countingMemory(), 0);
  const sizes = [4096, 640, 1024, 640, 2048, 4224, 8192];
  const blocks: { ptr: number; size: number }[] = [];
  for (const n of sizes) {
    blocks.push(a.alloc(n));
    a.alloc(64); // a separator: the holes do not merge
  }
  for (const b of blocks) a.free(b.ptr, b.size);
  assert.is(a.alloc(600).ptr, blocks[1].ptr, '600 B: the first 640 B hole (the second is as good, but higher)');
  const r = a.alloc(900);
  assert.is(r.ptr, blocks[2].ptr, '900 B: the 1 KiB hole, not the 2 or 4 KiB ones');
  assert.ok(a.layout().free.some((f) => f.ptr === r.ptr + r.size && f.size === 1024 - r.size), 'the 1 KiB hole keeps its tail free');
  // 4096 and 4224 B share a size bin: the search within it must not stop at its smallest block.
  assert.is(a.alloc(4160).ptr, blocks[5].ptr, '4160 B: the 4224 B hole, not the 8 KiB one');
  assert.is(a.alloc(3000).ptr, blocks[0].ptr, '3000 B: the 4 KiB hole, not the 8 KiB one');
  const top = a.layout().top;
  const t = a.alloc(9000);
  assert.equal([t.ptr, t.fresh], [top, true], 'larger than every hole: from the bump pointer, never written, fresh');
});

test('fresh: a block partly below the highest byte ever handed out is not fresh', () => {
  const a = new Allocator(countingMemory(), 0);
  const x = a.alloc(1024);
  const y = a.alloc(1024);
  a.free(y.ptr, y.size); // top goes back to y; y's bytes were handed out
  const z = a.alloc(4096); // starts at y (written), runs past the old end (never written)
  assert.equal([z.ptr, z.fresh], [y.ptr, false]);
  const w = a.alloc(64);
  assert.equal([w.ptr, w.fresh], [z.ptr + z.size, true]);
  assert.is(x.ptr, 0);
});

test('free() refuses what is not a live block: twice the same block, or a range outside the heap', () => {
  const a = new Allocator(countingMemory(), 0);
  const x = a.alloc(100);
  a.alloc(100);
  a.free(x.ptr, x.size);
  assert.throws(() => a.free(x.ptr, x.size), /not a live block/);
  assert.throws(() => a.free(1 << 20, 64), /not a live block/);
  assert.throws(() => a.alloc(-1), /bytes must be >= 0/);
  assert.is(a.liveBytes(), 128, 'the refused calls changed nothing');
});

test('a request larger than what wasm32 addresses fails before anything is searched or grown', () => {
  const memory = countingMemory();
  const a = new Allocator(memory, 0);
  assert.throws(() => a.alloc(5 * 1024 ** 3), (e: unknown) => e instanceof WasmOutOfMemoryError && e.requestedBytes === 5 * 1024 ** 3);
  assert.is(memory.buffer.byteLength, PAGE);
});

test('growth: memory grows by what is needed or an eighth of what is mapped, at most 64 MiB beyond the request', () => {
  const memory = countingMemory();
  const a = new Allocator(memory, 0);
  a.alloc(10 * MiB);
  const at10 = memory.buffer.byteLength;
  assert.is(at10, Math.ceil(10 * MiB / PAGE) * PAGE, 'from 64 KiB the request itself is the larger step');
  a.alloc(64); // needs one more page: grows by 1/8 of 10 MiB
  assert.is(memory.buffer.byteLength - at10, Math.ceil(at10 / 8 / PAGE) * PAGE);
  a.alloc(1024 * MiB);
  const at1G = memory.buffer.byteLength;
  a.alloc(at1G - a.layout().top + 64); // 64 bytes past the end
  assert.is(memory.buffer.byteLength - at1G, 64 * MiB, 'at 1 GiB the step is capped at 64 MiB, not 128');
});

test('many free blocks: 200,000 calls against 10,000 holes stay fast (no scan over the free blocks)', () => {
  // A linear scan per call would be ~10^9 steps here (many seconds); bins and maps keep it at a
  // few hundred ms even on this shared machine. The bound is loose on purpose.
  const a = new Allocator(countingMemory(), 0);
  const rng = new Rng(5);
  const blocks = Array.from({ length: 20_000 }, () => a.alloc(64 * (1 + Math.floor(rng.next() * 64))));
  for (let i = 0; i < blocks.length; i += 2) a.free(blocks[i].ptr, blocks[i].size);
  assert.ok(a.layout().free.length >= 9_000);
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) {
    const b = a.alloc(64 * (1 + Math.floor(rng.next() * 64)));
    a.free(b.ptr, b.size);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 3000, `200,000 calls took ${ms.toFixed(0)} ms`);
});

// ---- through the ops ----

test('10,000 training steps through the ops on wasm-simd: memory and heap layout flat after warm-up, live bytes back to baseline', async () => {
  // Long enough for a slow drift of a coalescing heap (free blocks creeping apart step after step)
  // to show; the heap layout itself, not only the mapped size, must come back the same.
  const b = await inspectableWasmBackend();
  const { block, x } = setup(b);
  const baseline = b.liveBytes(); // parameters, optimizer state, running statistics and the input
  const offBaseline: number[] = [];
  let first = NaN;
  let last = NaN;
  let memoryAt10 = NaN;
  let layoutAt10 = b.heap.layout();
  const t0 = performance.now();
  for (let step = 1; step <= 10_000; step++) {
    last = block.step(x, LABELS);
    if (step === 1) first = last;
    if (step === 10) {
      memoryAt10 = b.memoryBytes();
      layoutAt10 = b.heap.layout();
    }
    if (b.liveBytes() !== baseline) offBaseline.push(step);
  }
  const ms = performance.now() - t0;
  assert.is(b.memoryBytes(), memoryAt10, `memoryBytes after step 10,000 (${b.memoryBytes()}) equals its value after step 10 (${memoryAt10})`);
  assert.equal(b.heap.layout(), layoutAt10, 'the heap (its end, its free blocks) after step 10,000 is the one after step 10');
  assert.equal(offBaseline, [], `live bytes return to the baseline ${baseline} after every step`);
  assert.ok(Number.isFinite(last) && last < first * 0.5, `the block learns (loss ${first} -> ${last})`);
  assert.ok(ms < 60_000, `10,000 steps took ${ms.toFixed(0)} ms`);

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
  const empty = b.heap.layout();
  assert.equal([empty.top, empty.free], [empty.base, []], 'and every block has merged back into the bump pointer');
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
  // A valid float count (under 4 GiB), 64 bytes more than is left above the module's own data. The
  // allocator sees that before growing memory, so this costs nothing.
  const b = (await createBackend('wasm-simd')) as WasmBackend;
  const memory = b.memoryBytes();
  const heapStart = Math.ceil(b.kernels.heap_base() / 64) * 64;
  const floats = (WASM32_MAX_BYTES - heapStart) / 4 + 16;
  const bytes = floats * 4;
  assert.ok(bytes < WASM32_MAX_BYTES, `${bytes} bytes: the module has static data below the heap`);
  try {
    Tensor.zeros(b, [floats]);
    assert.unreachable(`${bytes} bytes do not fit above ${heapStart}`);
  } catch (e) {
    assert.instance(e, WasmOutOfMemoryError);
    const err = e as WasmOutOfMemoryError;
    assert.is(err.requestedBytes, bytes);
    assert.match(err.message, new RegExp(`asked for 4\\.00 GiB \\(${bytes} bytes\\) with 0 B already in use`));
    assert.match(err.message, /wasm32 addresses at most 4\.00 GiB and the heap already reaches/);
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
  // Freeing one block makes room again, in the freed block, without growing.
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

// This grows a real backend's memory to 3.6 GiB: address space only (fresh blocks are not
// cleared, so no page is touched; under half a second and 70 MB resident here), but not every
// engine or host grants that much, so it runs only when asked for.
if (process.env.REPVGG_TEST_4GIB === '1') {
  test('wasm-simd: four 1.2 GiB tensors fail on the fourth with WasmOutOfMemoryError (REPVGG_TEST_4GIB=1)', async () => {
    const b = (await createBackend('wasm-simd')) as WasmBackend;
    const floats = Math.floor((1.2 * 1024 ** 3) / 4);
    const held: Tensor[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(Tensor.zeros(b, [floats])); // 3 x 1.2 GiB fit
      Tensor.zeros(b, [floats]);
      assert.unreachable('a fourth 1.2 GiB tensor cannot fit in wasm32');
    } catch (e) {
      assert.instance(e, WasmOutOfMemoryError);
      assert.match((e as Error).message, new RegExp(`asked for 1\\.20 GiB \\(${floats * 4} bytes\\) with 3\\.60 GiB already in use`));
    } finally {
      for (const t of held) t.dispose();
    }
  });
}

test.run();
