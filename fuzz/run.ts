// A fuzz run: case i mutates a seed of target (i mod targets) with a PRNG seeded by (seed, i),
// runs it through the FuzzRunner and tallies the outcomes. Cases that fail (BAD_OUTCOMES) come
// back with their bytes, to be saved as regression files.
import { BAD_OUTCOMES, OUTCOMES, type Outcome } from './classify.js';
import { mutate, rng } from './mutate.js';
import { FuzzRunner, type CaseResult, type RunnerOptions } from './runner.js';
import { TARGETS, seedBytes, type Target } from './targets.js';

export interface FuzzOptions extends RunnerOptions {
  cases: number;
  seed?: number;
  /** Target names; default all. */
  targets?: readonly string[];
  /** Called after every case (progress, saving failures as they come). */
  onCase?: (c: FuzzCase, r: CaseResult) => void;
}

export interface FuzzCase {
  index: number;
  target: string;
  seedFile: string;
  how: string;
  bytes: Uint8Array;
}

export interface FuzzSummary {
  cases: number;
  seed: number;
  ms: number;
  /** Per target, per outcome. */
  counts: Map<string, Record<Outcome, number>>;
  totals: Record<Outcome, number>;
  /** The failing cases, with their bytes. */
  failures: { c: FuzzCase; r: CaseResult }[];
  slowest: { ms: number; target: string; index: number };
  mostMemory: { bytes: number; target: string; index: number };
}

/** Case `index` of a run with `seed`: the same bytes every time. */
export function makeCase(targets: readonly Target[], seed: number, index: number): FuzzCase {
  const target = targets[index % targets.length];
  const r = rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const seedFile = target.seeds[Math.floor(r() * target.seeds.length)];
  const { bytes, how } = mutate(seedBytes(seedFile), target.kind, r);
  return { index, target: target.name, seedFile, how, bytes };
}

function zeroCounts(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const seed = options.seed ?? 1;
  const targets = options.targets ? TARGETS.filter((t) => options.targets!.includes(t.name)) : TARGETS;
  if (targets.length === 0) throw new Error(`no such fuzz targets: ${options.targets?.join(', ')}`);
  const runner = new FuzzRunner(options);
  const counts = new Map(targets.map((t) => [t.name, zeroCounts()]));
  const totals = zeroCounts();
  const failures: FuzzSummary['failures'] = [];
  const slowest = { ms: 0, target: '', index: -1 };
  const mostMemory = { bytes: 0, target: '', index: -1 };
  const t0 = performance.now();
  try {
    for (let i = 0; i < options.cases; i++) {
      const c = makeCase(targets, seed, i);
      const r = await runner.run(c.target, c.bytes);
      counts.get(c.target)![r.outcome]++;
      totals[r.outcome]++;
      if (BAD_OUTCOMES.has(r.outcome)) failures.push({ c, r });
      if (r.ms > slowest.ms) Object.assign(slowest, { ms: r.ms, target: c.target, index: i });
      if (r.memoryBytes > mostMemory.bytes) Object.assign(mostMemory, { bytes: r.memoryBytes, target: c.target, index: i });
      options.onCase?.(c, r);
    }
  } finally {
    await runner.close();
  }
  return { cases: options.cases, seed, ms: performance.now() - t0, counts, totals, failures, slowest, mostMemory };
}

/** A table of the outcomes per target, and the extremes. */
export function formatSummary(s: FuzzSummary): string {
  const cols = OUTCOMES;
  const rows = [['target', ...cols], ...[...s.counts].map(([t, c]) => [t, ...cols.map((o) => String(c[o]))]),
    ['total', ...cols.map((o) => String(s.totals[o]))]];
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const lines = rows.map((r) => r.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  '));
  lines.push('', `${s.cases} cases, seed ${s.seed}, ${(s.ms / 1000).toFixed(1)} s; ` +
    `slowest case ${s.slowest.ms.toFixed(0)} ms (${s.slowest.target} #${s.slowest.index}); ` +
    `most memory ${(s.mostMemory.bytes / 2 ** 20).toFixed(1)} MiB (${s.mostMemory.target} #${s.mostMemory.index})`);
  const bad = [...BAD_OUTCOMES].reduce((n, o) => n + s.totals[o], 0);
  lines.push(bad === 0 ? 'no crashes, hangs, internal errors, over-memory or slow cases'
    : `${bad} failing cases:\n${s.failures.slice(0, 50).map(({ c, r }) =>
      `  ${r.outcome} ${c.target} #${c.index} (${c.seedFile}; ${c.how}): ${r.errorName ?? ''} ${(r.message ?? '').slice(0, 300)}`).join('\n')}`);
  return lines.join('\n');
}
