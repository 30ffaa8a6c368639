// The only Node-specific code of the loader: reading the packaged .wasm from disk, and the V8 flag
// that turns relaxed SIMD on in Node 20.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The two builds: plain SIMD, and relaxed SIMD (fused multiply-add). */
const PACKAGED = {
  simd: new URL('../../../wasm/repvgg.wasm', import.meta.url),
  relaxed: new URL('../../../wasm/repvgg-relaxed.wasm', import.meta.url),
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

export function readPackagedWasm(relaxed: boolean): Promise<Uint8Array<ArrayBuffer>> {
  return readWasmFile(relaxed ? PACKAGED.relaxed : PACKAGED.simd);
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
