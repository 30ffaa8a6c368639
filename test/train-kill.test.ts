// Killing `repvgg train` (SIGKILL: no handler runs, nothing is flushed) at random moments - during
// start-up, mid-epoch, inside the checkpoint write, inside the final writes - then running it again
// with --resume until it finishes, ends with what an uninterrupted run writes: deploy.safetensors
// bit for bit, checkpoint.safetensors's tensors bit for bit and its progress metadata but for
// timings (each epoch's seconds and images/s, kept in it for metrics.json), and metrics.json but
// for timings (src/train/checkpoint.ts, src/train/train.ts, src/cli/train.ts; writeFileAtomic and
// removeStaleTempFiles of src/io/node.ts).
//
// The runs are child processes, as a user runs the command. A write's dangerous window (temporary
// file complete, not yet renamed) lasts microseconds; REPVGG_TEST_RENAME_PAUSE_MS makes the writer
// announce it on stderr and hold it open, so the kills inside it happen every time, not by luck.
// The moments come from a seeded generator: the batch, the delays; where a delay lands depends on
// the machine's speed, so each such kill is bounded by an event that guarantees it happens.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng } from './helpers/random.js';

/** dist/src/cli/main.js (this file runs from dist/test/). */
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const EPOCHS = 3;
const STEPS = 8; // 256 images, batches of 32
const TRAIN = ['train', '--arch', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5', '--data', 'mnist',
  '--limit', '256', '--batch-size', '32', '--epochs', String(EPOCHS), '--seed', '5', '--log-every', '1', '--backend', 'wasm-simd'];
/** Long enough for the test to see the announcement and kill, short enough not to slow the runs
 *  that pass through writes they are not killed in. */
const PAUSE_MS = 300;
const TMP = /\.tmp-\d+-[0-9a-z]+$/;

interface Run {
  lines: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunPlan {
  resume?: boolean;
  /** hold every atomic write open between temporary file and rename (REPVGG_TEST_RENAME_PAUSE_MS) */
  pause?: boolean;
  /** kill this long after the spawn */
  killAfterMs?: number;
  /** called with each stderr line as it arrives (and all before it); returns true to kill now, a
   *  number to kill that many milliseconds later. It must not throw: record, and assert after. */
  onLine?: (line: string, before: readonly string[]) => boolean | number | void;
}

/** One `repvgg train` process in `dir`, killed (SIGKILL) as `plan` says; resolves when it is gone. */
function runTrain(dir: string, plan: RunPlan): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REPVGG_DEBUG;
  delete env.REPVGG_TEST_RENAME_PAUSE_MS;
  if (plan.pause) env.REPVGG_TEST_RENAME_PAUSE_MS = String(PAUSE_MS);
  const child = spawn(process.execPath, [MAIN, ...TRAIN, '--out', dir, ...(plan.resume ? ['--resume'] : [])],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let killed = false;
  const kill = () => {
    if (!killed) child.kill('SIGKILL');
    killed = true;
  };
  const timers: NodeJS.Timeout[] = plan.killAfterMs === undefined ? [] : [setTimeout(kill, plan.killAfterMs)];
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      // What the process printed between the kill and its death is kept (it says how far it got)
      // but not acted on.
      const then = killed ? undefined : plan.onLine?.(line, lines);
      lines.push(line);
      if (then === true) kill();
      else if (typeof then === 'number') timers.push(setTimeout(kill, then));
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      if (partial) lines.push(partial);
      resolve({ lines, code, signal });
    });
  });
}

const BATCH = /^epoch (\d+)\/\d+ \[[#.]+\] (\d+)\/(\d+) /;
const EPOCH_DONE = /^epoch (\d+)\/\d+: train loss/;
const START = /^[\d,]+ parameters, \d+ steps per epoch(?:; resuming after epoch (\d+))?$/;
const PAUSE = /^test pause: (.+) written, renaming to (.+) in \d+ ms$/;

/** Where a killed run was, from the last line it printed. */
function phase(lines: readonly string[]): string {
  if (lines.length === 0) return 'start-up (nothing printed yet)';
  const last = lines.at(-1)!;
  let m: RegExpExecArray | null;
  if ((m = BATCH.exec(last))) return Number(m[2]) < Number(m[3]) ? `mid-epoch ${m[1]} (after batch ${m[2]}/${m[3]})` : `epoch ${m[1]}'s evaluation`;
  if ((m = EPOCH_DONE.exec(last))) return `after epoch ${m[1]}'s evaluation (checkpoint check or write)`;
  if (START.test(last)) return 'just after start (before the first batch)';
  if ((m = PAUSE.exec(last))) return `inside the write of ${basename(m[2])}`;
  return `start-up (last line: ${JSON.stringify(last.slice(0, 40))})`;
}

/** The checkpoint's progress metadata (epoch, steps, history, ...). */
function trainerMeta(path: string): { epoch: number; history: Record<string, unknown>[] } & Record<string, unknown> {
  const { header } = splitSafetensors(readFileSync(path));
  return JSON.parse((header.__metadata__ as Record<string, string>).trainer);
}

/** A safetensors file's JSON header and its data bytes. */
function splitSafetensors(bytes: Buffer): { header: Record<string, unknown>; data: Buffer } {
  const n = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), data: bytes.subarray(8 + n) };
}

/** Wall-clock values (and the memory of the last process, which on a resume is not the run's) removed. */
function withoutTimings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimings);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value)
    .filter(([k]) => !['seconds', 'imagesPerSecond', 'memoryBytes'].includes(k))
    .map(([k, v]) => [k, withoutTimings(v)]));
}

/** A run folder's results: checkpoint (tensors as bytes, header with timings removed), deploy, metrics. */
function results(dir: string) {
  const ck = splitSafetensors(readFileSync(join(dir, 'checkpoint.safetensors')));
  const meta = ck.header.__metadata__ as Record<string, string>;
  const header = { ...ck.header, __metadata__: { ...meta, trainer: withoutTimings(JSON.parse(meta.trainer)) } };
  return {
    files: readdirSync(dir).sort(),
    checkpointHeader: header,
    checkpointData: ck.data,
    deploy: readFileSync(join(dir, 'deploy.safetensors')),
    metrics: withoutTimings(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'))),
  };
}

test('SIGKILL at random moments (start-up, mid-epoch, inside the checkpoint and final writes), then --resume: the files of an uninterrupted run', async () => {
  const root = mkdtempSync(join(tmpdir(), 'repvgg-kill-'));
  const straightDir = join(root, 'straight');
  const dir = join(root, 'killed');
  const rng = new Rng(2024);
  const log: string[] = [];
  try {
    // The uninterrupted run, alongside the killed ones (two cores: the wall time of one).
    const straight = runTrain(straightDir, {});

    // 1. A random moment of a fresh run: somewhere in start-up or the first epoch (on a fast machine
    //    maybe later: at the latest, the first batch of epoch 2, so that the kill always happens).
    const r1 = await runTrain(dir, {
      killAfterMs: Math.round(rng.uniform(200, 1500)), onLine: (line) => Number(BATCH.exec(line)?.[1]) >= 2,
    });
    assert.is(r1.signal, 'SIGKILL', `kill 1 happened (exit ${r1.code})`);
    log.push(`1: random time: ${phase(r1.lines)}`);

    // 2. Mid-epoch: after batch k of the first epoch the run trains (k < 8, so the epoch is not over).
    const k = 1 + Math.floor(rng.next() * (STEPS - 2));
    const r2 = await runTrain(dir, { resume: true, onLine: (line) => Number(BATCH.exec(line)?.[2]) === k });
    assert.is(r2.signal, 'SIGKILL', 'kill 2 happened');
    // It died before finishing the epoch: its last words are a batch of that epoch, not its last one.
    const last2 = BATCH.exec(r2.lines.at(-1) ?? '');
    assert.ok(last2 && Number(last2[2]) >= k && Number(last2[2]) < STEPS, `kill 2 was mid-epoch, after batch ${k}: ${r2.lines.at(-1)}`);
    log.push(`2: ${phase(r2.lines)}`);

    // 3. Inside the write of epoch 2's checkpoint: its temporary file complete, not yet renamed.
    let tmp3 = '';
    const r3 = await runTrain(dir, {
      resume: true, pause: true, onLine: (line, before) => {
        const m = PAUSE.exec(line);
        const epoch = Number([...before].reverse().map((l) => EPOCH_DONE.exec(l)?.[1]).find(Boolean));
        if (m && basename(m[2]) === 'checkpoint.safetensors' && epoch === 2) {
          tmp3 = m[1];
          return true;
        }
        return false;
      },
    });
    assert.is(r3.signal, 'SIGKILL', 'kill 3 happened');
    assert.ok(tmp3 !== '', `kill 3 was inside the checkpoint write: ${r3.lines.slice(-3).join(' | ')}`);
    assert.ok(existsSync(tmp3), 'the killed write left its temporary file');
    assert.is(trainerMeta(tmp3).epoch, 2, 'the temporary file is the whole epoch-2 checkpoint');
    assert.is(trainerMeta(join(dir, 'checkpoint.safetensors')).epoch, 1, 'the checkpoint in place is still epoch 1\'s, intact');
    log.push(`3: ${phase(r3.lines)} after epoch 2 (left ${basename(tmp3)})`);

    // 4. The next start removes that leftover before anything else; then a random moment of epoch 2
    //    (or later; at the latest the first batch of epoch 3, whatever the machine's speed: a run
    //    that finished here would leave no final write to kill in).
    let start4: { line: string; leftovers: string[] } | null = null;
    const r4 = await runTrain(dir, {
      resume: true, onLine: (line) => {
        if (Number(BATCH.exec(line)?.[1]) >= 3) return true;
        if (!START.test(line)) return false;
        start4 = { line, leftovers: readdirSync(dir).filter((f) => TMP.test(f)) };
        return Math.round(rng.uniform(0, 600));
      },
    });
    assert.ok(start4, `run 4 started: ${r4.lines.join(' | ')}`);
    const { line: line4, leftovers } = start4 as { line: string; leftovers: string[] };
    assert.is(START.exec(line4)![1], '1', `run 4 resumed after epoch 1: ${line4}`);
    assert.equal(leftovers, [], 'the stale temporary file was gone by the start');
    assert.is(r4.signal, 'SIGKILL', 'kill 4 happened');
    log.push(`4: random time: ${phase(r4.lines)}`);

    // 5, 6. Inside each of the final writes, all epochs checkpointed: deploy.safetensors, then (the next
    //    run writing the deploy weights again) metrics.json.
    for (const target of ['deploy.safetensors', 'metrics.json']) {
      let tmp = '';
      const r = await runTrain(dir, {
        resume: true, pause: true, onLine: (line) => {
          const m = PAUSE.exec(line);
          if (!m || basename(m[2]) !== target) return false;
          tmp = m[1];
          return true;
        },
      });
      assert.is(r.signal, 'SIGKILL', `kill in the write of ${target} happened`);
      assert.ok(tmp !== '' && existsSync(tmp), `the kill was inside the write of ${target}: ${r.lines.slice(-3).join(' | ')}`);
      assert.is(trainerMeta(join(dir, 'checkpoint.safetensors')).epoch, EPOCHS, 'every epoch was checkpointed');
      assert.is(existsSync(join(dir, 'deploy.safetensors')), target === 'metrics.json', 'deploy.safetensors only once written whole');
      assert.not.ok(existsSync(join(dir, 'metrics.json')), 'no metrics.json yet: the run never finished');
      log.push(`${log.length + 1}: ${phase(r.lines)}`);
    }

    // 7. The last resume has no epoch left: it writes the deploy weights and metrics.json.
    const last = await runTrain(dir, { resume: true });
    assert.is(last.code, 0, `the last resume finished: ${last.lines.slice(-5).join('\n')}`);
    assert.ok(last.lines.some((l) => START.exec(l)?.[1] === String(EPOCHS)), 'it resumed after the last epoch');
    assert.not.ok(last.lines.some((l) => BATCH.test(l)), 'and trained nothing');

    const s = await straight;
    assert.is(s.code, 0, `the uninterrupted run finished: ${s.lines.slice(-5).join('\n')}`);
    const a = results(straightDir);
    const b = results(dir);
    assert.equal(b.files, ['checkpoint.safetensors', 'deploy.safetensors', 'metrics.json'], 'nothing else left in the folder');
    assert.equal(a.files, b.files);
    assert.ok(a.checkpointData.equals(b.checkpointData), 'checkpoint tensors: bit for bit');
    assert.equal(b.checkpointHeader, a.checkpointHeader, 'checkpoint header and progress (but timings)');
    assert.ok(a.deploy.equals(b.deploy), 'deploy.safetensors: bit for bit');
    assert.equal(b.metrics, a.metrics, 'metrics.json (but timings)');
    // A weak run would pass the comparison trivially: this one learned something.
    assert.ok((a.metrics as { testAccuracy: number }).testAccuracy > 0.3, 'the run learned');
    console.log(`    kills: ${log.join('; ')}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
