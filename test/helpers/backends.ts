// The backends every kernel test runs on: both, always (the WASM build is part of `npm test`).
import { test } from 'uvu';
import type { Backend, Buf } from '../../src/backend.js';
import { createBackend } from '../../src/index.js';

let cached: Backend[] | null = null;

export async function testBackends(): Promise<Backend[]> {
  if (!cached) {
    cached = [await createBackend('reference'), await createBackend('wasm-simd')];
  }
  return cached;
}

/** Registers `body` as one test per backend, named `${name} [${backend.name}]`. */
export async function testEachBackend(name: string, body: (b: Backend, name: string) => void | Promise<void>): Promise<void> {
  for (const b of await testBackends()) {
    const full = `${name} [${b.name}]`;
    test(full, () => body(b, full));
  }
}

/** A buffer on `b` holding a copy of `data`. */
export function upload(b: Backend, data: ArrayLike<number>): Buf {
  const buf = b.alloc(data.length);
  b.view(buf).set(data);
  return buf;
}

/** A copy of the buffer's contents (safe to keep across later allocations). */
export function download(b: Backend, buf: Buf): Float32Array {
  return b.view(buf).slice();
}
