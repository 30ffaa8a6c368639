// Loading the kernel module (src/backends/wasm/load.ts, with the Node adapter node-file.ts): from
// bytes, a compiled module or a file URL as well as from the package, refusing a module that is
// not ours; and Node-only code stays in its few adapters (so the library loads in a browser).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/index.js';
import { Tensor } from '../src/tensor.js';
import { relu } from '../src/ops/index.js';
import type { WasmSource } from '../src/backends/wasm/load.js';

const WASM_URL = new URL('../wasm/repvgg.wasm', import.meta.url); // dist/test -> dist/wasm
const SRC_DIR = fileURLToPath(new URL('../../src/', import.meta.url));

async function works(kind: string, wasm?: WasmSource) {
  const b = await createBackend('wasm-simd', wasm === undefined ? {} : { wasm });
  const x = Tensor.from(b, [-1, 2, -3, 4], [4]);
  const y = relu(x);
  assert.equal(Array.from(y.toFloat32Array()), [0, 2, 0, 4], kind);
  assert.is(b.name, 'wasm-simd');
}

test('the packaged module, found by the Node adapter', async () => {
  await works('default');
});

test('from bytes, from a compiled module and from a file URL', async () => {
  const bytes = new Uint8Array(readFileSync(WASM_URL));
  await works('bytes', bytes);
  await works('module', await WebAssembly.compile(bytes));
  await works('url', WASM_URL);
});

test('a .wasm that is not the kernel module is refused by name', async () => {
  // (module (memory (export "memory") 1))
  const other = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0]);
  await createBackend('wasm-simd', { wasm: other }).then(
    () => assert.unreachable('should have thrown'),
    (e: Error) => assert.match(e.message, /not a repvgg-wasm kernel module: missing exports/),
  );
});

test('Node-only imports live only in the Node adapters', () => {
  // Browser-safe code must not import node: modules; these files are the adapters (loaded lazily)
  // and the command line.
  const allowed = new Set(['backends/wasm/node-file.ts', 'backends/wasm/spawn-node.ts', 'backends/wasm/worker.ts', 'io/node.ts',
    'data/files.ts']);
  const offenders: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path).isDirectory()) walk(path, r);
      else if (name.endsWith('.ts') && !r.startsWith('cli/') && !allowed.has(r) &&
        /from ['"]node:|import\(['"]node:/.test(readFileSync(path, 'utf8'))) offenders.push(r);
    }
  };
  walk(SRC_DIR, '');
  assert.equal(offenders, [], `node: imports outside the adapters: ${offenders.join(', ')}`);
});

test.run();
