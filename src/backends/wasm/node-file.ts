// The only Node-specific code of the loader: reading the packaged .wasm from disk.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const PACKAGED = new URL('../../../wasm/repvgg.wasm', import.meta.url);

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

export function readPackagedWasm(): Promise<Uint8Array<ArrayBuffer>> {
  return readWasmFile(PACKAGED);
}
