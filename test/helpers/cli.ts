// Runs the `repvgg` command line as a user does: `node dist/src/cli/main.js ...` in a child process.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';

/** dist/src/cli/main.js (this file runs from dist/test/helpers/). */
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliRun { status: number | null; stdout: string; stderr: string }

export function cli(...args: string[]): CliRun {
  const env = { ...process.env };
  delete env.REPVGG_DEBUG;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Fails unless the run exited with 0; returns it. */
export function ok(r: CliRun, what: string): CliRun {
  assert.is(r.status, 0, `${what}: exit 0 (stderr: ${r.stderr})`);
  return r;
}

/** Fails unless the run failed with a short message on stderr containing every `needle`. */
export function fails(r: CliRun, what: string, ...needles: string[]): void {
  assert.ok(r.status !== 0 && r.status !== null, `${what}: non-zero exit (got ${r.status}, stdout: ${r.stdout})`);
  for (const n of needles) assert.ok(r.stderr.includes(n), `${what}: stderr names "${n}": ${r.stderr}`);
  assert.not.match(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}
