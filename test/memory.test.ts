// Memory through the ops layer: a training loop that disposes its temporaries holds flat memory
// (after the first steps the WASM allocator serves every request from blocks freed by the step
// before, and its heap layout stops changing), and requests that cannot fit fail cleanly, with the
// amount asked, instead of trapping inside a kernel. The allocator alone: allocator.test.ts; whole
// models at batch 128: memory-models.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend } from '../src/backend.js';
import { Allocator, WASM32_MAX_BYTES } from '../src/backends/wasm/allocator.js';
import {
  Tensor, WasmOutOfMemoryError, add, addInPlace, batchNormBackward, batchNormTrain, conv2d, conv2dBackward,
  createBackend, flatten, globalAvgPool, globalAvgPoolBackward, linear, linearBackward, relu, reluBackward,
  reshape, sgdStep, softmaxCrossEntropy, type BatchNormParams, type WasmBackend,
} from '../src/index.js';
import { Rng } from './helpers/random.js';
import { inspectableWasmBackend } from './helpers/wasm-heap.js';

const [N, C, H, W, CLASSES] = [2, 8, 8, 8, 10];

interface Param {
  value: Tensor;
  momentum: Tensor;
}

/** A RepVGG training block (3x3 conv + BN, 1x1 conv + BN, identity BN, summed, ReLU) and a head. */
class Block {
  readonly w3: Tensor;
  readonly w1: Tensor;
  readonly bn3: BatchNormParams;
  readonly bn1: BatchNormParams;
  readonly bnId: BatchNormParams;
  readonly fcW: Tensor;
  readonly fcB: Tensor;
  readonly params: Param[] = [];

  constructor(readonly b: Backend, rng: Rng) {
    this.w3 = this.param(Tensor.from(b, rng.normals(C * C * 9, 0.2), [C, C, 3, 3]));
    this.w1 = this.param(Tensor.from(b, rng.normals(C * C, 0.3), [C, C, 1, 1]));
    this.bn3 = this.bn();
    this.bn1 = this.bn();
    this.bnId = this.bn();
    this.fcW = this.param(Tensor.from(b, rng.normals(CLASSES * C, 0.3), [CLASSES, C]));
    this.fcB = this.param(Tensor.zeros(b, [CLASSES]));
  }

  private param(value: Tensor): Tensor {
    this.params.push({ value, momentum: Tensor.zeros(this.b, value.shape) });
    return value;
  }

  private bn(): BatchNormParams {
    return {
      weight: this.param(Tensor.fill(this.b, [C], 1)),
      bias: this.param(Tensor.zeros(this.b, [C])),
      runningMean: Tensor.zeros(this.b, [C]),
      runningVar: Tensor.fill(this.b, [C], 1),
    };
  }

  /** Forward, backward (down to the block's input, as inside a network) and an SGD step; returns the loss. */
  step(x: Tensor, labels: readonly number[]): number {
    const temps: Tensor[] = [];
    const keep = <T extends Tensor | null>(t: T): T => {
      if (t) temps.push(t);
      return t;
    };

    // forward
    const y3 = keep(conv2d(x, this.w3, null, { padding: 1 }));
    const n3 = batchNormTrain(y3, this.bn3);
    const y1 = keep(conv2d(x, this.w1, null));
    const n1 = batchNormTrain(y1, this.bn1);
    const nId = batchNormTrain(x, this.bnId);
    for (const r of [n3, n1, nId]) [r.y, r.saveMean, r.saveInvStd].forEach(keep);
    const sum = keep(add(keep(add(n3.y, n1.y)), nId.y));
    const out = keep(relu(sum));
    const pooled = keep(globalAvgPool(out));
    const flat = keep(flatten(pooled));
    const logits = keep(linear(flat, this.fcW, this.fcB));
    const { loss, dlogits } = softmaxCrossEntropy(logits, labels);
    keep(dlogits);

    // backward
    const fc = linearBackward(flat, this.fcW, dlogits, { bias: true });
    [fc.dx, fc.dw, fc.db].forEach(keep);
    const dPooled = keep(reshape(fc.dx!, pooled.shape));
    const dOut = keep(globalAvgPoolBackward(dPooled, out.shape));
    const dSum = keep(reluBackward(sum, dOut)); // the sum's gradient goes to each branch unchanged
    const g3 = batchNormBackward(y3, dSum, this.bn3.weight, n3.saveMean, n3.saveInvStd);
    const g1 = batchNormBackward(y1, dSum, this.bn1.weight, n1.saveMean, n1.saveInvStd);
    const gId = batchNormBackward(x, dSum, this.bnId.weight, nId.saveMean, nId.saveInvStd);
    for (const g of [g3, g1, gId]) [g.dx, g.dweight, g.dbias].forEach(keep);
    const c3 = conv2dBackward(x, this.w3, g3.dx, { padding: 1 });
    const c1 = conv2dBackward(x, this.w1, g1.dx);
    [c3.dx, c3.dw, c1.dx, c1.dw].forEach(keep);
    addInPlace(c3.dx!, c1.dx!); // x feeds three branches: its gradient is the sum of theirs
    addInPlace(c3.dx!, gId.dx);

    // update
    const grads = new Map<Tensor, Tensor>([
      [this.w3, c3.dw], [this.w1, c1.dw], [this.fcW, fc.dw], [this.fcB, fc.db!],
      [this.bn3.weight, g3.dweight], [this.bn3.bias, g3.dbias], [this.bn1.weight, g1.dweight],
      [this.bn1.bias, g1.dbias], [this.bnId.weight, gId.dweight], [this.bnId.bias, gId.dbias],
    ]);
    for (const p of this.params) {
      sgdStep(p.value, grads.get(p.value)!, p.momentum, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4, nesterov: true });
    }
    for (const t of temps) t.dispose();
    return loss;
  }
}

const LABELS = [3, 7];

/** A block and a fixed input batch on `b`. */
function setup(b: Backend): { block: Block; x: Tensor } {
  const rng = new Rng(11);
  const block = new Block(b, rng);
  return { block, x: Tensor.from(b, rng.normals(N * C * H * W), [N, C, H, W]) };
}

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

test('the same loop on the reference backend holds flat memory too (100 steps)', async () => {
  const b = await createBackend('reference');
  const { block, x } = setup(b);
  let memoryAt10 = NaN;
  for (let step = 1; step <= 100; step++) {
    block.step(x, LABELS);
    if (step === 10) memoryAt10 = b.memoryBytes();
  }
  assert.is(b.memoryBytes(), memoryAt10);
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
