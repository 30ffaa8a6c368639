// Chooses and builds a backend: WASM SIMD by default, the TypeScript reference where SIMD is missing.
import type { Backend } from '../backend.js';
import { ReferenceBackend } from './reference/index.js';
import { createWasmBackend, wasmSimdSupported, type WasmSource } from './wasm/index.js';

export type BackendKind = 'auto' | 'wasm-simd' | 'reference';

export interface CreateBackendOptions {
  /** Where the .wasm comes from: bytes, a compiled module, a Response or a URL. Node finds the
   *  packaged file by itself and browsers fetch it next to the module when this is left out. */
  wasm?: WasmSource;
  /** 'auto' (default): the relaxed-SIMD build (fused multiply-add) where the runtime has relaxed
   *  SIMD, turning V8's flag on in Node 20, else the plain-SIMD build; true: relaxed or an error;
   *  false: plain. Ignored when `wasm` is given. `backend.isa` says which runs. */
  relaxedSimd?: boolean | 'auto';
}

/** REPVGG_RELAXED_SIMD=0 (or 1) in Node's environment sets the default of `relaxedSimd`: the test
 *  suite runs once per build this way, and a user can pin the plain build without code changes. */
function relaxedFromEnv(): boolean | 'auto' {
  const v = typeof process !== 'undefined' ? process.env?.REPVGG_RELAXED_SIMD : undefined;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === '0' || v === '1') return v === '1';
  throw new Error(`REPVGG_RELAXED_SIMD must be 0, 1 or auto, got "${v}"`);
}

/** 'auto' (the default) picks 'wasm-simd' where the runtime has WebAssembly SIMD, else 'reference'. */
export async function createBackend(kind: BackendKind = 'auto', options: CreateBackendOptions = {}): Promise<Backend> {
  if (kind === 'auto') kind = wasmSimdSupported() ? 'wasm-simd' : 'reference';
  if (kind === 'reference') return new ReferenceBackend();
  if (kind === 'wasm-simd') return createWasmBackend(options.wasm, options.relaxedSimd ?? relaxedFromEnv());
  throw new Error(`createBackend: unknown backend "${String(kind)}" (expected "auto", "wasm-simd" or "reference")`);
}
