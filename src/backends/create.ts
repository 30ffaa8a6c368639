// Chooses and builds a backend: WASM SIMD by default, the TypeScript reference where SIMD is missing.
import type { Backend } from '../backend.js';
import { ReferenceBackend } from './reference/index.js';
import { createWasmBackend, wasmSimdSupported, type WasmSource } from './wasm/index.js';

export type BackendKind = 'auto' | 'wasm-simd' | 'reference';

export interface CreateBackendOptions {
  /** Where the .wasm comes from: bytes, a compiled module, a Response or a URL. Node finds the
   *  packaged file by itself and browsers fetch it next to the module when this is left out. */
  wasm?: WasmSource;
}

/** 'auto' (the default) picks 'wasm-simd' where the runtime has WebAssembly SIMD, else 'reference'. */
export async function createBackend(kind: BackendKind = 'auto', options: CreateBackendOptions = {}): Promise<Backend> {
  if (kind === 'auto') kind = wasmSimdSupported() ? 'wasm-simd' : 'reference';
  if (kind === 'reference') return new ReferenceBackend();
  if (kind === 'wasm-simd') return createWasmBackend(options.wasm);
  throw new Error(`createBackend: unknown backend "${String(kind)}" (expected "auto", "wasm-simd" or "reference")`);
}
