// `repvgg bench` (src/cli/bench.ts, measuring in src/cli/bench-run.ts), through the executable, on
// a tiny custom RepVGG at 32x32 with as few samples as the command allows (the figures are not
// checked, only what they are): the --json rows' fields, types and arithmetic, the table's columns,
// a deploy checkpoint, and the refusals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { TABLE_COLUMNS } from '../src/cli/bench.js';
import { runCli } from '../src/cli/index.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { RepVGG, repvggModelConvert, type RepVGGConfig } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { summarize } from '../src/models/summary.js';
import { cli, fails, ok, type CliRun } from './helpers/cli.js';
import { TOL_NETWORK } from './helpers/tolerances.js';

// Stage widths 16, 16, 32, 64, 128; at 32x32 stage2's second block is a stride-1 conv on 4x4 (the
// one Winograd F(4,3) layer under 'auto'), every other block a stride-2 conv (direct).
const MODEL = ['--arch', 'custom', '--blocks', '1,2,1,1', '--widths', '0.25,0.25,0.25,0.25', '--classes', '10', '--size', '32'];
const CFG: RepVGGConfig = { numBlocks: [1, 2, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.25], numClasses: 10 };
const FAST = ['--repeat', '2', '--warmup', '0', '--time', '0'];

interface Row {
  arch: string; size: number; classes: number; batch: number; form: string; threads: number; backend: string; isa: string;
  algorithm: string; convAlgorithms: Record<string, number>;
  msMedian: number; msMin: number; msMax: number; msP25: number; msP75: number; samples: number; callsPerSample: number;
  imagesPerSecond: number; gflops: number; macs: number; activationBytes: number; plannedActivationBytes: number | null;
  weightBytes: number; vsFused: number | null; logitsRelErr: number;
}

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-9 * Math.abs(b), `${what}: ${a} vs ${b}`);
/** The build the tests' environment asks for (npm test runs the suite with REPVGG_RELAXED_SIMD=auto and =0). */
const expectedIsa = ((await createBackend('wasm-simd')) as WasmBackend).isa;

/** The command in this process (the refusals need no executable of their own, and spawning one
 *  costs a Node start each). */
async function inProcess(...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCli(args, { out: (t) => out.push(t), err: (t) => err.push(t) }, {});
  return { status, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Bytes of the plan's two activation buffers: 2 x batch x the largest block output (stage0's
 *  16 x 16 x 16), float32. */
const plannedBytes = (batch: number) => 2 * batch * 16 * 16 * 16 * 4;

test('bench --json: one row per batch, algorithm and form, with consistent figures', () => {
  const r = ok(cli('bench', ...MODEL, '--batch', '1,2', '--form', 'multi,fused,deploy', '--algorithm', 'auto,direct', ...FAST, '--json'), 'bench --json');
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
  assert.equal(rows.map((x) => `${x.batch} ${x.algorithm} ${x.form}`), [
    '1 auto multi', '1 auto fused', '1 auto deploy', '1 direct multi', '1 direct fused', '1 direct deploy',
    '2 auto multi', '2 auto fused', '2 auto deploy', '2 direct multi', '2 direct fused', '2 direct deploy',
  ]);
  for (const x of rows) {
    const what = `batch ${x.batch} ${x.algorithm} ${x.form}`;
    assert.is(x.arch, 'custom');
    assert.is(x.size, 32);
    assert.is(x.classes, 10);
    assert.is(x.threads, 1);
    assert.is(x.backend, 'wasm-simd');
    assert.is(x.isa, expectedIsa, `${what}: isa`);
    for (const k of ['msMedian', 'msMin', 'msMax', 'msP25', 'msP75', 'imagesPerSecond', 'gflops', 'macs', 'activationBytes', 'weightBytes'] as const) {
      assert.type(x[k], 'number', `${what}: ${k} is a number`);
      assert.ok(Number.isFinite(x[k]) && x[k] > 0, `${what}: ${k} = ${x[k]} > 0`);
    }
    assert.ok(x.msMin <= x.msP25 && x.msP25 <= x.msMedian && x.msMedian <= x.msP75 && x.msP75 <= x.msMax, `${what}: min <= p25 <= median <= p75 <= max`);
    assert.is(x.samples, 2, `${what}: --repeat 2`);
    assert.is(x.callsPerSample, 1, `${what}: --time 0: one call per sample`);
    close(x.imagesPerSecond, x.batch / x.msMedian * 1000, `${what}: imagesPerSecond = batch / msMedian * 1000`);
    close(x.gflops, 2 * x.macs / x.msMedian / 1e6, `${what}: gflops = 2 macs / time`);
    const macs = summarize(CFG, { inputSize: [32, 32], batch: x.batch }).totals.macs;
    assert.is(x.macs, x.form === 'multi' ? macs.train : macs.deploy, `${what}: MACs as summarize() counts this form`);
    assert.ok(Number.isInteger(x.activationBytes), `${what}: activation bytes are whole bytes`);
    if (x.form === 'fused') {
      assert.is(x.plannedActivationBytes, plannedBytes(x.batch), `${what}: the plan's two buffers`);
      assert.ok(x.activationBytes >= x.plannedActivationBytes!, `${what}: activations include the plan's buffers`);
      assert.is(x.vsFused, 1);
    } else {
      assert.is(x.plannedActivationBytes, null, `${what}: only the plan has planned buffers`);
      assert.type(x.vsFused, 'number');
      assert.ok(x.vsFused! > 0, `${what}: vs fused`);
    }
    assert.ok(x.logitsRelErr >= 0 && x.logitsRelErr <= TOL_NETWORK, `${what}: same logits as the multi-branch form (${x.logitsRelErr})`);
    assert.equal(x.convAlgorithms, x.algorithm === 'auto' ? { direct: 5, winograd4: 1 } : { direct: 6 }, `${what}: conv algorithms`);
  }
  // The multi-branch form's weights carry the 1x1 branches and the BN statistics.
  const at2 = rows.filter((x) => x.batch === 2 && x.algorithm === 'direct');
  assert.ok(at2[0].weightBytes > at2[2].weightBytes, 'multi-branch weights (with BN) are larger than the deploy ones');
});

test('bench (table): a header with every column and one row per thread count, batch and form', () => {
  const r = ok(cli('bench', ...MODEL, '--batch', '1,2', '--threads', '1,2', ...FAST, '--relaxed-simd', 'off'), 'bench table');
  assert.ok(r.stdout.includes('backend wasm-simd (simd)'), `--relaxed-simd off runs the plain build:\n${r.stdout}`);
  assert.ok(r.stdout.includes('algorithm auto: the 6 3x3 convs run direct 5, winograd4 1'), r.stdout);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('|'));
  const cells = (l: string) => l.slice(1, -1).split('|').map((c) => c.trim());
  assert.equal(cells(lines[0]), TABLE_COLUMNS);
  const body = lines.slice(2).map(cells);
  // The second group runs the threads the backend really has for 2 (backend.threads; the same number in every row).
  const two = body[4]?.[0];
  assert.ok(two === '1' || two === '2', `threads of the second group: ${two}`);
  assert.ok(r.stdout.includes(`threads: ${two}`), r.stdout);
  assert.equal(body.map((c) => `${c[0]} ${c[1]} ${c[2]} ${c[3]}`), [
    '1 1 multi auto', '1 1 fused auto', '1 2 multi auto', '1 2 fused auto',
    `${two} 1 multi auto`, `${two} 1 fused auto`, `${two} 2 multi auto`, `${two} 2 fused auto`,
  ]);
  for (const c of body) {
    const form = c[TABLE_COLUMNS.indexOf('form')];
    assert.is(c.length, TABLE_COLUMNS.length);
    assert.match(c[TABLE_COLUMNS.indexOf('vs fused')], form === 'multi' ? /^x\d+\.\d\d$/ : /^-$/);
    assert.match(c[TABLE_COLUMNS.indexOf('planned MiB')], form === 'fused' ? /^\d+\.\d+$/ : /^-$/);
    assert.match(c[TABLE_COLUMNS.indexOf('min-max')], /^[\d.]+-[\d.]+$/);
    assert.is(c[TABLE_COLUMNS.indexOf('samples')], '2 x 1', 'samples x calls per sample');
  }
});

test('bench --weights: a deploy checkpoint times the fused and deploy forms and refuses the multi-branch one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-bench-'));
  try {
    const backend = await createBackend('wasm-simd');
    const model = new RepVGG(backend, { ...CFG, inChannels: 1, seed: 3 });
    const deploy = repvggModelConvert(model);
    const file = join(dir, 'deploy.safetensors');
    writeFileSync(file, writeSafetensors(stateDict(deploy)));
    model.dispose();
    deploy.dispose();
    const args = ['bench', '--arch', 'custom', '--blocks', '1,2,1,1', '--widths', '0.25,0.25,0.25,0.25', '--size', '32', '--weights', file];
    const rows = ok(cli(...args, ...FAST, '--json'), 'bench --weights').stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
    assert.equal(rows.map((x) => x.form), ['fused', 'deploy'], 'a deploy checkpoint: fused and deploy by default');
    assert.is(rows[0].classes, 10, 'classes from the checkpoint');
    fails(await inProcess(...args, '--form', 'multi'), 'multi from a deploy checkpoint', 'deploy form', '--form fused,deploy');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench: bad lists and sizes are usage errors naming them', async () => {
  fails(await inProcess('bench', ...MODEL, '--form', 'multi,fast'), 'unknown form', '--form', 'multi,fast');
  fails(await inProcess('bench', ...MODEL, '--batch', '1,0'), 'batch 0', '--batch');
  fails(await inProcess('bench', ...MODEL, '--threads', '1,0'), 'threads 0', '--threads');
  fails(await inProcess('bench', ...MODEL, '--algorithm', 'fft'), 'unknown algorithm', '--algorithm', 'winograd4');
  fails(await inProcess('bench', ...MODEL, '--relaxed-simd', 'maybe'), 'relaxed-simd', '--relaxed-simd', 'auto, on or off');
  fails(await inProcess('bench', '--arch', 'a0', '--size', '16'), 'size 16', '--size', '32');
  assert.is((await inProcess('bench', ...MODEL, '--batch', 'x')).status, 2, 'usage errors exit with 2');
});

test.run();
