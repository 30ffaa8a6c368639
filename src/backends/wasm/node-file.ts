// The only Node-specific code of the loader: reading the packaged .wasm from disk, the V8 flag
// that turns relaxed SIMD on in Node 20, and the number of cores (the default thread count).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The builds: plain SIMD and relaxed SIMD (fused multiply-add), each with its own memory or, for
 *  threads, on an imported shared one. */
const PACKAGED = {
  simd: new URL('../../../wasm/repvgg.wasm', import.meta.url),
  relaxed: new URL('../../../wasm/repvgg-relaxed.wasm', import.meta.url),
  threads: new URL('../../../wasm/repvgg-threads.wasm', import.meta.url),
  threadsRelaxed: new URL('../../../wasm/repvgg-threads-relaxed.wasm', import.meta.url),
};

export async function readWasmFile(url: string | URL): Promise<Uint8Array<ArrayBuffer>> {
  const path = fileURLToPath(url);
  try {
    const bytes = await readFile(path);
    return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  } catch (e) {
    throw new Error(`could not read the kernel module ${path}: ${(e as Error).message}` +
      ' (run "npm run build:wasm" in a source checkout)');
  }
}

export function readPackagedWasm(relaxed: boolean, threads = false): Promise<Uint8Array<ArrayBuffer>> {
  if (threads) return readWasmFile(relaxed ? PACKAGED.threadsRelaxed : PACKAGED.threads);
  return readWasmFile(relaxed ? PACKAGED.relaxed : PACKAGED.simd);
}

/** The cores this process may use (os.availableParallelism, Node 18.14+; else the CPU count). */
export async function availableCores(): Promise<number> {
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : Math.max(1, os.cpus().length);
}

/**
 * Node 20 has relaxed SIMD behind a V8 flag (Node 21+ and Chrome 114+ have it on). V8 reads wasm
 * feature flags when a module is compiled, so setting the flag at run time, before compiling,
 * enables it for this process. Returns false when the flag cannot be set.
 */
export async function enableRelaxedSimdFlag(): Promise<boolean> {
  try {
    const v8 = await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return true;
  } catch {
    return false;
  }
}
