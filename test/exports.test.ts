// The TypeScript description of the kernel module (src/backends/wasm/exports.ts) against the built
// dist/wasm/repvgg.wasm: the same names, the same kinds, the same arities. A renamed, missing or
// re-shaped export fails here rather than in a user's call.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { KERNEL_EXPORTS, asKernelExports } from '../src/backends/wasm/exports.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { relaxedSimdAvailable, relaxedSimdSupported } from '../src/backends/wasm/load.js';

const bytes = readFileSync(new URL('../wasm/repvgg.wasm', import.meta.url));
const module = new WebAssembly.Module(bytes);
const declared = Object.keys(KERNEL_EXPORTS).sort();

test('the built module exports exactly the declared names', () => {
  const built = WebAssembly.Module.exports(module).map((e) => e.name).sort();
  assert.equal(built, declared);
});

test('the threads builds export the same names and import one shared memory', async () => {
  // The relaxed build compiles where relaxed SIMD is on (Node 20: behind a flag the loader sets).
  const relaxed = await relaxedSimdAvailable();
  for (const file of relaxed ? ['repvgg-threads.wasm', 'repvgg-threads-relaxed.wasm'] : ['repvgg-threads.wasm']) {
    const m = new WebAssembly.Module(readFileSync(new URL(`../wasm/${file}`, import.meta.url)));
    assert.equal(WebAssembly.Module.exports(m).map((e) => e.name).sort(), declared, file);
    assert.equal(WebAssembly.Module.imports(m), [{ module: 'env', name: 'memory', kind: 'memory' }], file);
  }
});

test('memory is a memory, everything else a function of the declared arity', () => {
  const instance = new WebAssembly.Instance(module, {});
  for (const d of WebAssembly.Module.exports(module)) {
    if (d.name === 'memory') {
      assert.is(d.kind, 'memory');
      continue;
    }
    assert.is(d.kind, 'function', d.name);
    const fn = instance.exports[d.name] as (...a: unknown[]) => unknown;
    assert.is(fn.length, KERNEL_EXPORTS[d.name as keyof typeof KERNEL_EXPORTS], `${d.name} arity`);
  }
  assert.ok(asKernelExports(instance.exports).conv2d, 'the real module passes the load-time check');
});

test('a module with one export renamed, or of another arity, is refused with its name', () => {
  const instance = new WebAssembly.Instance(module, {});
  const renamed: Record<string, unknown> = { ...instance.exports };
  renamed.conv2d_forward = renamed.conv2d;
  delete renamed.conv2d;
  assert.throws(() => asKernelExports(renamed as WebAssembly.Exports), /missing exports conv2d\b/);
  const reshaped: Record<string, unknown> = { ...instance.exports, relu: (a: number, b: number) => a + b };
  assert.throws(() => asKernelExports(reshaped as WebAssembly.Exports), /relu takes 2 arguments, expected 3/);
});

test('relaxed_simd tells the two builds apart; the backend reports the one it runs', async () => {
  const plain = await createBackend('wasm-simd', { relaxedSimd: false }) as WasmBackend;
  assert.is(plain.isa, 'simd');
  assert.is(plain.kernels.relaxed_simd(), 0);
  const auto = await createBackend('wasm-simd') as WasmBackend;
  const env = process.env.REPVGG_RELAXED_SIMD;
  // Node 20 has relaxed SIMD behind a V8 flag the loader turns on: 'auto' gets it here.
  const expected = env === '0' ? 'simd' : 'relaxed-simd';
  assert.is(auto.isa, expected, `REPVGG_RELAXED_SIMD=${String(env)}`);
  if (expected === 'relaxed-simd') {
    assert.ok(relaxedSimdSupported());
    const relaxed = await createBackend('wasm-simd', { relaxedSimd: true }) as WasmBackend;
    assert.is(relaxed.kernels.relaxed_simd(), 1);
  }
  console.log(`exports: this run's wasm-simd backend runs the ${auto.isa} build`);
});

test.run();
