// Node-only file helpers for the formats in src/io (which themselves work on bytes, so they run
// in browsers too). Imported dynamically by ./index.ts, so browsers never load node:fs.
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

function pathOf(path: string | URL): string {
  return path instanceof URL ? fileURLToPath(path) : path;
}

/** The bytes of a file, as a Uint8Array over exactly those bytes. */
export async function readFileBytes(path: string | URL): Promise<Uint8Array> {
  const b = await readFile(pathOf(path));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Writes `bytes` to a temporary file beside `path`, flushes it, then renames it over `path`: a
 * crash mid-write leaves the old file intact instead of a truncated checkpoint.
 */
export async function writeFileAtomic(path: string | URL, bytes: Uint8Array): Promise<void> {
  const target = pathOf(path);
  const tmp = `${target}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await testPauseBeforeRename(tmp, target);
  try {
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * For tests only: with REPVGG_TEST_RENAME_PAUSE_MS=<ms> set, every atomic write says on stderr that
 * its temporary file is complete and flushed, then waits that long before the rename. The window
 * between the two is otherwise microseconds wide; test/train-kill.test.ts kills a training run
 * inside it every time instead of by luck. Unset (always, outside that test), this does nothing.
 */
async function testPauseBeforeRename(tmp: string, target: string): Promise<void> {
  const ms = Number(process.env.REPVGG_TEST_RENAME_PAUSE_MS);
  if (!(ms > 0)) return;
  process.stderr.write(`test pause: ${tmp} written, renaming to ${target} in ${ms} ms\n`);
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates a folder and its parents if missing. */
export async function ensureDir(path: string | URL): Promise<void> {
  await mkdir(pathOf(path), { recursive: true });
}

/** The temporary files writeFileAtomic leaves when its process is killed mid-write
 *  (`<name>.tmp-<pid>-<time>`) in `dir`, whose writer is no longer running: removed. Returns their names. */
export async function removeStaleTempFiles(dir: string | URL): Promise<string[]> {
  const folder = pathOf(dir);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return []; // no folder yet: nothing left over
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /\.tmp-(\d+)-[0-9a-z]+$/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await unlink(`${folder}/${name}`).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, but not ours to signal
  }
}

