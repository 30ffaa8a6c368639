// Chooses and builds a backend: WASM SIMD by default, the TypeScript reference where SIMD is missing.
import type { Backend } from '../backend.js';
import { ReferenceBackend } from './reference/index.js';
import { createWasmBackend, wasmSimdSupported, type WasmSource } from './wasm/index.js';
import type { PoolOptions } from './wasm/pool.js';

export type BackendKind = 'auto' | 'wasm-simd' | 'reference';

export interface CreateBackendOptions {
  /** Where the .wasm comes from: bytes, a compiled module, a Response or a URL. Node finds the
   *  packaged file by itself and browsers fetch it next to the module when this is left out. */
  wasm?: WasmSource;
  /** 'auto' (default): the relaxed-SIMD build (fused multiply-add) where the runtime has relaxed
   *  SIMD, turning V8's flag on in Node 20, else the plain-SIMD build; true: relaxed or an error;
   *  false: plain. Ignored when `wasm` is given. `backend.isa` says which runs. */
  relaxedSimd?: boolean | 'auto';
  /** Threads the kernels run on (wasm-simd): default the cores available (os.availableParallelism()
   *  in Node, navigator.hardwareConcurrency in browsers), or REPVGG_THREADS in Node's environment.
   *  `backend.threads` says how many really run and `backend.threadsReason` why when fewer (threads
   *  need SharedArrayBuffer and, today, Node's worker_threads). Results are the same bits on any
   *  number of threads. `backend.dispose()` ends the threads. */
  threads?: number;
  /** Tuning and fault limits of the worker threads (see PoolOptions). */
  pool?: PoolOptions;
}

/** REPVGG_RELAXED_SIMD=0 (or 1) in Node's environment sets the default of `relaxedSimd`: the test
 *  suite runs once per build this way, and a user can pin the plain build without code changes. */
function relaxedFromEnv(): boolean | 'auto' {
  const v = typeof process !== 'undefined' ? process.env?.REPVGG_RELAXED_SIMD : undefined;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === '0' || v === '1') return v === '1';
  throw new Error(`REPVGG_RELAXED_SIMD must be 0, 1 or auto, got "${v}"`);
}

/** REPVGG_THREADS=N in Node's environment sets the default of `threads` (the suite runs its plain
 *  SIMD pass on one thread this way, and a user can pin a count without code changes). */
function threadsFromEnv(): number | undefined {
  const v = typeof process !== 'undefined' ? process.env?.REPVGG_THREADS : undefined;
  if (v === undefined || v === '') return undefined;
  if (!/^[1-9]\d*$/.test(v)) throw new Error(`REPVGG_THREADS must be a whole number >= 1, got "${v}"`);
  return Number(v);
}

/** 'auto' (the default) picks 'wasm-simd' where the runtime has WebAssembly SIMD, else 'reference'. */
export async function createBackend(kind: BackendKind = 'auto', options: CreateBackendOptions = {}): Promise<Backend> {
  const threads = options.threads ?? threadsFromEnv();
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new RangeError(`createBackend: threads must be a whole number >= 1, got ${threads}`);
  }
  if (kind === 'auto') kind = wasmSimdSupported() ? 'wasm-simd' : 'reference';
  if (kind === 'reference') {
    return new ReferenceBackend(threads !== undefined && threads > 1 ? 'the reference backend runs on one thread' : null);
  }
  if (kind === 'wasm-simd') return createWasmBackend(options.wasm, options.relaxedSimd ?? relaxedFromEnv(), threads, options.pool);
  throw new Error(`createBackend: unknown backend "${String(kind)}" (expected "auto", "wasm-simd" or "reference")`);
}
