// npm run fuzz -- [--cases N] [--seed S] [--targets a,b] [--save DIR] [--no-save]
//                 [--replay FILE --target T] [--write-case I --target T --out FILE] [--make-fixtures]
//
// Runs N mutated cases (default 10,000) over every reader and prints the outcome table; failing
// cases are written to DIR (default test/fixtures/fuzz/found/<target>/) to be committed as
// regression files (test/fuzz.test.ts reads them all). Exits 1 if any case failed.
// --replay runs one file through a target; --write-case writes case I of the run to a file;
// --make-fixtures regenerates the seeds and hostile files (./make-fixtures.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BAD_OUTCOMES } from './classify.js';
import { makeFixtures } from './make-fixtures.js';
import { formatSummary, makeCase, runFuzz } from './run.js';
import { FuzzRunner } from './runner.js';
import { ROOT, TARGETS, targetByName } from './targets.js';

function args(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      m.set(a.slice(2), next);
      i++;
    } else {
      m.set(a.slice(2), 'true');
    }
  }
  return m;
}

function count(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
}

async function main(): Promise<number> {
  const a = args(process.argv.slice(2));
  if (a.has('make-fixtures')) {
    await makeFixtures((line) => console.log(line));
    return 0;
  }
  const seed = count(a.get('seed'), 'seed', 1);
  if (a.has('replay')) {
    const file = a.get('replay')!;
    const runner = new FuzzRunner();
    const r = await runner.run(targetByName(a.get('target') ?? 'any-tensor-file').name, new Uint8Array(readFileSync(file)));
    await runner.close();
    console.log(JSON.stringify(r, null, 2));
    return BAD_OUTCOMES.has(r.outcome) ? 1 : 0;
  }
  if (a.has('write-case')) {
    const t = targetByName(a.get('target') ?? TARGETS[0].name);
    const c = makeCase([t], seed, count(a.get('write-case'), 'write-case', 0));
    writeFileSync(a.get('out') ?? 'case.bin', c.bytes);
    console.log(`${c.target} case ${c.index}: ${c.seedFile}; ${c.how}`);
    return 0;
  }
  const cases = count(a.get('cases'), 'cases', 10_000);
  const saveDir = a.has('no-save') ? null : a.get('save') ?? fileURLToPath(new URL('test/fixtures/fuzz/found/', ROOT));
  const targets = a.get('targets')?.split(',');
  let done = 0;
  const every = Math.max(1, Math.floor(cases / 20));
  const summary = await runFuzz({
    cases, seed, targets,
    onCase: (c, r) => {
      if (++done % every === 0) process.stderr.write(`${done}/${cases}\n`);
      if (saveDir && BAD_OUTCOMES.has(r.outcome)) {
        const dir = `${saveDir.replace(/\/$/, '')}/${c.target}`;
        mkdirSync(dir, { recursive: true });
        const file = `${dir}/${r.outcome}-seed${seed}-case${c.index}.bin`;
        writeFileSync(file, c.bytes);
        process.stderr.write(`${r.outcome}: ${c.target} #${c.index} (${c.how}) saved to ${file}: ${r.message ?? ''}\n`);
      }
    },
  });
  console.log(formatSummary(summary));
  return summary.failures.length ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(2);
});
