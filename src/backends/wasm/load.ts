// Loading the kernel module, with no Node-only calls: bytes, a compiled module, a Response or a
// URL (fetched). Node's file-system lookup lives in node-file.ts and is imported only on Node.
import { asKernelExports, type KernelExports } from './exports.js';

export type WasmSource = BufferSource | WebAssembly.Module | Response | URL | string;

// (module (func (result v128) v128.const i32x4 0 0 0 0)): validates only where SIMD exists.
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11,
]);

// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))):
// validates only where relaxed SIMD exists.
const zeros16 = new Array(16).fill(0);
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 61, 1, 59, 0,
  253, 12, ...zeros16, 253, 12, ...zeros16, 253, 12, ...zeros16, 253, 133, 2, 11,
]);

function validates(probe: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(probe);
  } catch {
    return false;
  }
}

export function wasmSimdSupported(): boolean {
  return validates(SIMD_PROBE);
}

/** Whether this runtime validates relaxed SIMD now (see relaxedSimdAvailable for Node 20). */
export function relaxedSimdSupported(): boolean {
  return validates(RELAXED_PROBE);
}

/** Relaxed SIMD here, after turning V8's flag on where that is what it takes (Node 20). */
export async function relaxedSimdAvailable(): Promise<boolean> {
  if (relaxedSimdSupported()) return true;
  if (!isNode) return false;
  const { enableRelaxedSimdFlag } = await import('./node-file.js');
  return (await enableRelaxedSimdFlag()) && relaxedSimdSupported();
}

export const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The packaged builds' file names, next to each other in dist/wasm. */
async function toModule(source: WasmSource | undefined, relaxed: boolean, threads = false): Promise<WebAssembly.Module> {
  if (source === undefined) {
    if (isNode) {
      const { readPackagedWasm } = await import('./node-file.js');
      return WebAssembly.compile(await readPackagedWasm(relaxed, threads));
    }
    // Literal `new URL(..., import.meta.url)` expressions, not one with a computed path: bundlers
    // (Vite, webpack, esbuild) find and copy an asset only when its path is a literal.
    source = threads
      ? (relaxed ? new URL('../../../wasm/repvgg-threads-relaxed.wasm', import.meta.url)
        : new URL('../../../wasm/repvgg-threads.wasm', import.meta.url))
      : (relaxed ? new URL('../../../wasm/repvgg-relaxed.wasm', import.meta.url)
        : new URL('../../../wasm/repvgg.wasm', import.meta.url));
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

/**
 * Compiles and instantiates the kernel module. With no `source`, the packaged build: the
 * relaxed-SIMD one when `relaxed` is 'auto' (the default) and the runtime has relaxed SIMD, or
 * when `relaxed` is true (an error where it is missing); the plain-SIMD one otherwise. A threads
 * build given as `source` gets a shared memory of its own.
 */
export async function instantiateKernels(source?: WasmSource, relaxed: boolean | 'auto' = 'auto'): Promise<KernelExports> {
  const module = await toModule(source, await chooseRelaxed(source, relaxed));
  if (importsMemory(module)) return (await instantiateShared(module)).kernels;
  const instance = await WebAssembly.instantiate(module, {});
  return asKernelExports(instance.exports);
}

/** Whether to load the relaxed-SIMD build (only the packaged builds are chosen from). */
async function chooseRelaxed(source: WasmSource | undefined, relaxed: boolean | 'auto'): Promise<boolean> {
  if (!wasmSimdSupported()) {
    throw new Error('this runtime has no WebAssembly SIMD: use the "reference" backend (createBackend("auto") picks it)');
  }
  if (source !== undefined || relaxed === false) return false;
  const useRelaxed = await relaxedSimdAvailable();
  if (relaxed === true && !useRelaxed) {
    throw new Error('relaxedSimd: true, but this runtime has no relaxed SIMD (Chrome 114+, Node 20 with ' +
      '--experimental-wasm-relaxed-simd, Node 21+); leave it "auto" to fall back to the plain SIMD build');
  }
  return useRelaxed;
}

/** A threads build imports its memory (env.memory, shared); the other builds own theirs. */
function importsMemory(module: WebAssembly.Module): boolean {
  return WebAssembly.Module.imports(module).some((i) => i.module === 'env' && i.name === 'memory' && i.kind === 'memory');
}

/** The kernel module on a shared memory, for threads: the module (each worker instantiates it), the
 *  memory and the calling thread's instance. */
export interface SharedKernels {
  kernels: KernelExports;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

/** wasm32's 4 GiB, in 64 KiB pages: a shared memory declares its maximum up front. */
const MAX_PAGES = 65536;
/** Pages the shared memory starts with: more than the module's static data needs. */
const INITIAL_PAGES = 16;

async function instantiateShared(module: WebAssembly.Module): Promise<SharedKernels> {
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { kernels: asKernelExports(instance.exports), module, memory };
}

/** The threads build (the packaged one, or `source` when it is one) on a new shared memory; or,
 *  when `source` is a build with its own memory, the reason threads cannot run it. */
export async function instantiateSharedKernels(source: WasmSource | undefined, relaxed: boolean | 'auto'): Promise<SharedKernels | string> {
  const module = await toModule(source, await chooseRelaxed(source, relaxed), true);
  if (!importsMemory(module)) {
    return 'the given kernel module is not a threads build (use repvgg-threads.wasm or repvgg-threads-relaxed.wasm)';
  }
  return instantiateShared(module);
}
