// Loading the kernel module, with no Node-only calls: bytes, a compiled module, a Response or a
// URL (fetched). Node's file-system lookup lives in node-file.ts and is imported only on Node.
import { asKernelExports, type KernelExports } from './exports.js';

export type WasmSource = BufferSource | WebAssembly.Module | Response | URL | string;

// (module (func (result v128) v128.const i32x4 0 0 0 0)): validates only where SIMD exists.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

export function wasmSimdSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function toModule(source: WasmSource | undefined): Promise<WebAssembly.Module> {
  if (source === undefined) {
    if (isNode) {
      const { readPackagedWasm } = await import('./node-file.js');
      return WebAssembly.compile(await readPackagedWasm());
    }
    source = new URL('../../../wasm/repvgg.wasm', import.meta.url);
  }
  if (source instanceof WebAssembly.Module) return source;
  if (typeof Response !== 'undefined' && source instanceof Response) {
    return WebAssembly.compile(await source.arrayBuffer());
  }
  if (source instanceof URL || typeof source === 'string') {
    const url = source.toString();
    if (isNode && url.startsWith('file:')) {
      const { readWasmFile } = await import('./node-file.js');
      return WebAssembly.compile(await readWasmFile(url));
    }
    const res = await fetch(url);
    if (!res.ok) throw new Error(`could not fetch the kernel module from ${url}: HTTP ${res.status}`);
    return WebAssembly.compile(await res.arrayBuffer());
  }
  return WebAssembly.compile(source as BufferSource);
}

export async function instantiateKernels(source?: WasmSource): Promise<KernelExports> {
  if (!wasmSimdSupported()) {
    throw new Error('this runtime has no WebAssembly SIMD: use the "reference" backend (createBackend("auto") picks it)');
  }
  const module = await toModule(source);
  const instance = await WebAssembly.instantiate(module, {});
  return asKernelExports(instance.exports);
}
