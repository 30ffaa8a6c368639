// The fuzz harness (fuzz/): that its runner tells every kind of failure apart, a short seeded run
// over every reader (the long one is `npm run fuzz -- --cases 100000`), and the regression files
// in test/fixtures/fuzz/found/: cases that broke the readers before issue 9's fixes.
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BAD_OUTCOMES, classifyError } from '../fuzz/classify.js';
import { formatSummary, makeCase, runFuzz } from '../fuzz/run.js';
import { FuzzRunner } from '../fuzz/runner.js';
import { TARGETS } from '../fuzz/targets.js';

const FOUND = new URL('../../test/fixtures/fuzz/found/', import.meta.url);
const MiB = 2 ** 20;

test('classifyError: ours vs built-in classes, unchecked values in messages, quoted file text', () => {
  assert.is(classifyError(new Error('npy: header is not a dict')).outcome, 'clean-error');
  assert.is(classifyError(new TypeError('x is not a function')).outcome, 'internal-error');
  assert.is(classifyError(new RangeError('Invalid array length')).outcome, 'internal-error');
  assert.is(classifyError(new Error('offset undefined is bad')).outcome, 'internal-error');
  assert.is(classifyError(new Error('memo key NaN was never stored')).outcome, 'internal-error');
  assert.is(classifyError(new Error('shape [object Object] is bad')).outcome, 'internal-error');
  assert.is(classifyError('a string').outcome, 'internal-error');
  assert.is(classifyError(new Error('')).outcome, 'internal-error');
  assert.is(classifyError(new Error(`npy: ${'x'.repeat(6000)}`)).outcome, 'internal-error', 'unbounded message');
  // A name the file chose is the file's business, when quoted.
  assert.is(classifyError(new Error("safetensors: tensor 'NaN': dtype \"undefined\" is not supported")).outcome, 'clean-error');
});

test('the runner tells ok, clean and internal errors, crash, hang, over-memory and slow apart', async () => {
  const runner = new FuzzRunner({ heapMb: 64, memoryLimitBytes: 64 * MiB, timeoutMs: 2000, slowMs: 150 });
  try {
    const expect: [string, string][] = [
      ['selftest-ok', 'ok'], ['selftest-clean', 'clean-error'], ['selftest-type-error', 'internal-error'],
      ['selftest-undefined', 'internal-error'], ['selftest-crash', 'crash'], ['selftest-ok', 'ok'],
      ['selftest-hang', 'hang'], ['selftest-heap', 'over-memory'], ['selftest-buffers', 'over-memory'],
      ['selftest-slow', 'slow'], ['selftest-ok', 'ok'],
    ];
    for (const [target, outcome] of expect) {
      const r = await runner.run(target, new Uint8Array(5));
      assert.is(r.outcome, outcome, `${target}: ${r.outcome} (${r.message ?? ''})`);
    }
    // A worker that died is replaced: the case after a crash, a hang or an OOM still runs.
    assert.is((await runner.run('selftest-ok', new Uint8Array(7))).returnedBytes, 7);
  } finally {
    await runner.close();
  }
});

test('cases are reproducible: the same (seed, index) gives the same bytes', () => {
  for (const i of [0, 1, 17, 1234]) {
    const a = makeCase(TARGETS, 5, i);
    const b = makeCase(TARGETS, 5, i);
    assert.is(a.target, b.target);
    assert.is(a.how, b.how);
    assert.ok(Buffer.from(a.bytes).equals(Buffer.from(b.bytes)), `case ${i}`);
  }
  assert.not.ok(Buffer.from(makeCase(TARGETS, 5, 0).bytes).equals(Buffer.from(makeCase(TARGETS, 6, 0).bytes)), 'seeds differ');
});

test('500 mutated files per reader (6,000 in all): no crash, hang, internal error, over-memory or slow case', async () => {
  const cases = 500 * TARGETS.length;
  const s = await runFuzz({ cases, seed: 20240905 });
  const table = formatSummary(s);
  assert.is(s.failures.length, 0, table);
  for (const [target, c] of s.counts) {
    // Both outcomes, per reader: the mutations keep some files readable and break others.
    assert.ok(c.ok > 0 && c['clean-error'] > 0, `${target}: ${c.ok} ok, ${c['clean-error']} clean errors\n${table}`);
  }
  assert.ok(s.ms < 60_000, `${cases} cases took ${s.ms} ms`);
  console.log(`  ${table.split('\n').slice(-2).join('\n  ')}`);
});

test('regression files (test/fixtures/fuzz/found/): each reads or fails cleanly, fast and small', async () => {
  const runner = new FuzzRunner({ memoryLimitBytes: 64 * MiB, slowMs: 2000 });
  let n = 0;
  try {
    for (const target of readdirSync(FOUND, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      for (const file of readdirSync(new URL(`${target.name}/`, FOUND)).filter((f) => f.endsWith('.bin'))) {
        const bytes = new Uint8Array(readFileSync(new URL(`${target.name}/${file}`, FOUND)));
        const r = await runner.run(target.name, bytes);
        assert.not.ok(BAD_OUTCOMES.has(r.outcome), `${target.name}/${file}: ${r.outcome}: ${r.errorName} ${r.message}`);
        n++;
      }
    }
  } finally {
    await runner.close();
  }
  assert.ok(n >= 25, `${n} regression files`);
});

test.run();
