// The backends every kernel test runs on: both, always (the WASM build is part of `npm test`).
import type { Backend } from '../../src/backend.js';
import { createBackend } from '../../src/index.js';

let cached: Backend[] | null = null;

export async function testBackends(): Promise<Backend[]> {
  if (!cached) {
    cached = [await createBackend('reference'), await createBackend('wasm-simd')];
  }
  return cached;
}

/** A buffer on `b` holding a copy of `data`. */
export function upload(b: Backend, data: ArrayLike<number>): import('../../src/backend.js').Buf {
  const buf = b.alloc(data.length);
  b.view(buf).set(data);
  return buf;
}

/** A copy of the buffer's contents (safe to keep across later allocations). */
export function download(b: Backend, buf: import('../../src/backend.js').Buf): Float32Array {
  return b.view(buf).slice();
}
