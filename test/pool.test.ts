// The worker pool (src/backends/wasm/pool.ts, worker.ts): how many threads a backend reports and
// why fewer; faults (a worker's item throws, a worker exits in the middle of a call, a worker
// hangs, a worker is terminated between calls): the call fails with a clear error, never hangs, and
// the next call works on restarted workers with the right result; dispose() ends the workers, and a
// process that used a threaded backend exits by itself, with or without dispose().
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Conv2dShape } from '../src/backend.js';
import { createBackend } from '../src/index.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { sameBytes } from './helpers/data.js';
import { Rng } from './helpers/random.js';

const SHAPE: Conv2dShape = { n: 4, c: 32, h: 24, w: 24, k: 32, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, groups: 1, oh: 24, ow: 24 };

/** A conv on `b` over fixed data: its output. */
function convOnce(b: Backend): Float32Array {
  const rng = new Rng(1);
  const x = b.alloc(SHAPE.n * SHAPE.c * SHAPE.h * SHAPE.w);
  const w = b.alloc(SHAPE.k * SHAPE.c * 9);
  const y = b.alloc(SHAPE.n * SHAPE.k * SHAPE.oh * SHAPE.ow);
  b.view(x).set(rng.normals(x.length));
  b.view(w).set(rng.normals(w.length, 0.1));
  try {
    b.conv2d(SHAPE, x, w, null, y, 'direct');
    return b.view(y).slice();
  } finally {
    for (const buf of [x, w, y]) b.free(buf);
  }
}

const expected = convOnce(await createBackend('wasm-simd', { threads: 1 }));

async function threaded(threads = 2, hangTimeoutMs?: number): Promise<WasmBackend> {
  const b = (await createBackend('wasm-simd', { threads, pool: hangTimeoutMs ? { hangTimeoutMs } : {} })) as WasmBackend;
  assert.is(b.threads, threads, `threads: ${b.threadsReason}`);
  return b;
}

/** Calls convOnce until it throws (the injected fault acts at the worker's next item, and the main
 *  thread may take every item of a call before the worker wakes); returns the error. */
function callUntilFailure(b: Backend, tries = 200): Error {
  for (let i = 0; i < tries; i++) {
    try {
      convOnce(b);
    } catch (e) {
      return e as Error;
    }
  }
  throw new Error(`no call failed in ${tries} tries`);
}

test('threads reported: as asked; fewer with the reason when they cannot run', async () => {
  const b = await threaded(3);
  assert.is(b.threadsReason, null);
  b.dispose();
  const ref = await createBackend('reference', { threads: 4 });
  assert.is(ref.threads, 1);
  assert.match(ref.threadsReason ?? '', /reference backend runs on one thread/);
  const plainBytes = new Uint8Array(readFileSync(new URL('../wasm/repvgg.wasm', import.meta.url)));
  const own = await createBackend('wasm-simd', { threads: 2, wasm: plainBytes });
  assert.is(own.threads, 1);
  assert.match(own.threadsReason ?? '', /not a threads build/);
  const threadsBytes = new Uint8Array(readFileSync(new URL('../wasm/repvgg-threads.wasm', import.meta.url)));
  const shared = await createBackend('wasm-simd', { threads: 2, wasm: threadsBytes, relaxedSimd: false });
  assert.is(shared.threads, 2);
  assert.ok(sameBytes(convOnce(shared), convOnce(await createBackend('wasm-simd', { threads: 1, relaxedSimd: false }))));
  shared.dispose();
  await createBackend('wasm-simd', { threads: 0 }).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /threads must be/));
});

test('a worker whose item throws: the call throws its error, the next call works', async () => {
  const b = await threaded();
  b.pool!.injectFault(1, 'throw');
  const e = callUntilFailure(b);
  assert.match(e.message, /conv2d_range: worker thread 1 failed: Error: fault injected into thread 1/);
  assert.ok(sameBytes(convOnce(b), expected));
  b.dispose();
});

test('a worker that exits in the middle of a call: the call throws, the workers restart, the next call is right', async () => {
  const b = await threaded();
  b.pool!.injectFault(1, 'exit');
  const t0 = performance.now();
  const e = callUntilFailure(b);
  assert.match(e.message, /worker thread 1 exited while running one of the call's items/);
  assert.ok(performance.now() - t0 < 20_000, 'no hang');
  assert.is(b.threads, 2);
  assert.ok(sameBytes(convOnce(b), expected));
  assert.ok(sameBytes(convOnce(b), expected));
  b.dispose();
});

test('a worker that hangs: the call fails after the hang timeout (no deadlock), the next call works', async () => {
  const b = await threaded(2, 1000);
  b.pool!.injectFault(1, 'hang');
  const t0 = performance.now();
  const e = callUntilFailure(b);
  assert.match(e.message, /no thread finished an item for 1\.0 s \(worker thread 1 still busy\)/);
  assert.ok(performance.now() - t0 < 20_000, 'no hang');
  assert.ok(sameBytes(convOnce(b), expected));
  b.dispose();
});

test('a worker terminated between calls: the next call restarts the workers and is right', async () => {
  const b = await threaded();
  const handles = (b.pool as unknown as { handles: { terminate(): Promise<number> }[] }).handles;
  await handles[0].terminate();
  await new Promise((r) => setTimeout(r, 20)); // the 'exit' event
  assert.ok(sameBytes(convOnce(b), expected));
  b.dispose();
});

test('dispose() ends the workers; the backend goes on on one thread', async () => {
  const b = await threaded();
  b.dispose();
  assert.is(b.threads, 1);
  assert.match(b.threadsReason ?? '', /disposed/);
  assert.ok(sameBytes(convOnce(b), expected));
  b.dispose(); // twice is fine
});

test('a process that used a threaded backend exits by itself, with and without dispose(); V8 flags do not stop the workers', () => {
  const index = new URL('../src/index.js', import.meta.url).href;
  for (const dispose of [true, false]) {
    const script = `
      import { createBackend, Tensor, relu } from ${JSON.stringify(index)};
      const b = await createBackend('wasm-simd', { threads: 2 });
      const x = Tensor.zeros(b, [4, 1 << 18]); x.data.fill(-1);
      relu(x);
      console.log('threads ' + b.threads);
      ${dispose ? 'b.dispose();' : ''}`;
    const t0 = performance.now();
    // With a V8 flag on the command line too (workers refuse such flags in their own options).
    const flags = dispose ? ['--experimental-wasm-relaxed-simd'] : [];
    const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const ms = performance.now() - t0;
    assert.is(r.status, 0, `dispose=${dispose}: exit code ${r.status} (signal ${r.signal}); stderr: ${r.stderr}`);
    assert.match(r.stdout, /threads 2/, `stdout: ${r.stdout}`);
    assert.ok(ms < 10_000, `dispose=${dispose}: exited after ${ms.toFixed(0)} ms`);
  }
});

test.run();
