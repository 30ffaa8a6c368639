// The `repvgg` command line (src/cli), run as a user runs it: `node dist/src/cli/main.js ...` in a
// child process. Also the summary (src/models/summary.ts) against the models it describes.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import { REPVGG_VARIANTS, RepVGG, type RepVGGConfig } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { formatSummary, summarize } from '../src/models/summary.js';
import { Tensor } from '../src/tensor.js';
import { Rng } from './helpers/random.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Run { status: number | null; stdout: string; stderr: string }

function cli(...args: string[]): Run {
  const env = { ...process.env };
  delete env.REPVGG_DEBUG;
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(r: Run, what: string): Run {
  assert.is(r.status, 0, `${what}: exit 0 (stderr: ${r.stderr})`);
  return r;
}

/** Fails unless the run failed with a short message on stderr containing every `needle`. */
function fails(r: Run, what: string, ...needles: string[]): void {
  assert.ok(r.status !== 0 && r.status !== null, `${what}: non-zero exit (got ${r.status}, stdout: ${r.stdout})`);
  for (const n of needles) assert.ok(r.stderr.includes(n), `${what}: stderr names "${n}": ${r.stderr}`);
  assert.not.match(r.stderr, /\n\s+at /, `${what}: no stack trace`);
}

/** A file's bytes as a plain Uint8Array (readers are handed what the library's readFileBytes gives). */
function bytesOf(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

function relErr(a: Float32Array, b: Float32Array): number {
  assert.is(a.length, b.length, 'same length');
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** An .npy of float64 values (writeNpy writes float32, int64 and int32 only). */
function npyFloat64(shape: number[], data: ArrayLike<number>): Uint8Array {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - 10 - dict.length - 1) + '\n';
  const out = new Uint8Array(total + data.length * 8);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  new Float64Array(out.buffer, total).set(Array.from(data));
  return out;
}

// ---------------------------------------------------------------- help and usage errors

test('repvgg --help and each subcommand --help exit 0', () => {
  const r = ok(cli('--help'), 'repvgg --help');
  for (const c of ['info', 'convert', 'predict']) assert.ok(r.stdout.includes(c), `main help lists ${c}`);
  for (const c of ['info', 'convert', 'predict']) {
    const h = ok(cli(c, '--help'), `${c} --help`);
    assert.ok(h.stdout.startsWith(`usage: repvgg ${c}`), `${c} --help: usage line: ${h.stdout}`);
  }
  const none = cli();
  assert.is(none.status, 2, 'no command: usage error');
  assert.ok(none.stderr.includes('usage: repvgg'), 'no command: usage on stderr');
});

test('unknown subcommands, flags and architectures are errors naming them', () => {
  fails(cli('frobnicate'), 'unknown subcommand', 'frobnicate');
  fails(cli('info', 'a0', '--bogus'), 'unknown flag', '--bogus');
  fails(cli('info', 'a0', '--classes'), 'flag without a value', '--classes');
  fails(cli('info', 'a0', '--classes', 'ten'), 'non-integer value', '--classes', 'ten');
  fails(cli('info', 'a0', '--classes', '3', '--classes', '4'), 'flag given twice', '--classes');
  fails(cli('info', 'Z9'), 'unknown architecture', 'Z9');
  fails(cli('convert', '--arch', 'a0', '--out', 'x.safetensors'), 'missing required flag', '--in');
  assert.is(cli('info', 'a0', '--bogus').status, 2, 'usage errors exit with 2');
});

// ---------------------------------------------------------------- info / summary

test('info a0 --classes 10 --json: the parameter counts of the official definition', () => {
  const r = ok(cli('info', 'a0', '--classes', '10', '--json'), 'info --json');
  const s = JSON.parse(r.stdout);
  assert.is(s.arch, 'RepVGG-A0');
  assert.is(s.totals.params.train, 7840778, 'training form (PyTorch sum of parameters().numel())');
  assert.is(s.totals.params.deploy, 7041194, 'deploy form');
  assert.equal(s.rows.map((x: { name: string }) => x.name), ['stage0', 'stage1', 'stage2', 'stage3', 'stage4', 'gap', 'linear']);
  assert.equal(s.rows[4].outShape, [1280, 7, 7], 'stage4 at 224x224');
  assert.equal(s.inputShape, [1, 3, 224, 224]);
  // Other spellings and flag forms give the same answer.
  const again = JSON.parse(ok(cli('info', 'RepVGG-A0', '--classes=10', '--size=224,224', '--json'), 'info RepVGG-A0').stdout);
  assert.equal(again, s);
  const table = ok(cli('info', 'repvgg-a0', '--classes', '10', '--size', '32', '32'), 'info table').stdout;
  assert.ok(table.includes('7,840,778') && table.includes('7,041,194'), `table shows the totals:\n${table}`);
  assert.ok(table.includes('1280x1x1'), 'stage4 at 32x32 is 1x1');
});

test('info with an input smaller than 32x32 is an error naming the size', () => {
  fails(cli('info', 'a0', '--size', '16', '16'), 'size 16x16', '16x16', '32');
  fails(cli('info', 'a0', '--size', '224', '31'), 'size 224x31', '224x31');
  assert.throws(() => summarize({ ...REPVGG_VARIANTS.A0 }, { inputSize: [16, 64] }), /16x64/);
});

test('summary: official MACs and params, and the totals of each form equal parameterCount()', async () => {
  // The paper's table (deploy form, 224x224, 1000 classes): params (M) and multiply-adds (G).
  const paper: [string, number, number][] = [
    ['A0', 8.30, 1.4], ['A1', 12.78, 2.4], ['A2', 25.49, 5.1], ['B0', 14.33, 3.1], ['B1', 51.82, 11.8],
    ['B1g2', 41.36, 8.8], ['B1g4', 36.12, 7.3], ['B2', 80.31, 18.4], ['B2g4', 55.77, 11.3], ['B3', 110.96, 26.2],
    ['B3g4', 75.62, 16.1],
  ];
  for (const [name, params, gmacs] of paper) {
    const s = summarize({ ...REPVGG_VARIANTS[name] }, { inputSize: [224, 224] });
    assert.ok(Math.abs(s.totals.params.deploy / 1e6 - params) < 0.01, `${name}: ${s.totals.params.deploy} params`);
    assert.ok(Math.abs(s.totals.macs.deploy / 1e9 - gmacs) < 0.05, `${name}: ${s.totals.macs.deploy} MACs`);
  }
  const b = await createBackend('reference');
  const custom: RepVGGConfig = {
    numBlocks: [2, 2, 3, 1], widthMultiplier: [0.5, 0.5, 0.5, 0.5], overrideGroupsMap: { 2: 2, 4: 4 }, useSE: true, numClasses: 7,
  };
  for (const cfg of [{ ...REPVGG_VARIANTS.A0, numClasses: 10 }, custom]) {
    const s = summarize(cfg, { inputSize: [40, 36], batch: 3 });
    for (const deploy of [false, true]) {
      const m = new RepVGG(b, { ...cfg, deploy });
      const form = deploy ? 'deploy' : 'train';
      assert.is(s.totals.params[form], m.parameterCount(), `${form} params`);
      const buffers = m.namedBuffers().reduce((a, [, t]) => a + t.size, 0);
      assert.is(s.totals.buffers[form], buffers, `${form} buffers`);
      assert.is(summarize(m, { inputSize: [40, 36], batch: 3 }).totals.params[form], m.parameterCount(), 'summary of a model');
      m.dispose();
    }
    const rowParams = s.rows.reduce((a, r) => a + r.params.train, 0);
    assert.is(rowParams, s.totals.params.train, 'rows add up');
  }
  const s = summarize(custom, { inputSize: [40, 36] });
  assert.is(s.arch, null, 'custom configuration');
  assert.equal(s.rows[1].groups, [1, 2], 'stage1: blocks 1 and 2 -> groups 1 and 2');
  assert.equal(s.rows[1].outShape, [32, 10, 9], 'stage1 output at 40x36');
  assert.ok(formatSummary(s).includes('total'), 'formats');
});

// ---------------------------------------------------------------- convert and predict

test('convert and predict round trip (A0, 10 classes, 32x32): training, deploy and --deploy agree', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-cli-'));
  try {
    const backend = await createBackend('wasm-simd');
    const rng = new Rng(7);
    const model = new RepVGG(backend, { ...REPVGG_VARIANTS.A0, numClasses: 10, seed: 3 });
    // Non-trivial BN statistics and affine parameters, so fusing has something to fold.
    for (const [, m] of model.namedModules()) {
      if (!(m instanceof BatchNorm2d)) continue;
      const c = m.numFeatures;
      m.runningMean.data.set(rng.normals(c, 0.1));
      m.runningVar.data.set(rng.uniforms(c, 0.5, 1.5));
      m.weight.value.data.set(rng.uniforms(c, 0.5, 1.5));
      m.bias.value.data.set(rng.normals(c, 0.1));
      m.numBatchesTracked = 42;
    }
    const train = join(dir, 'train.safetensors');
    writeFileSync(train, writeSafetensors(stateDict(model)));
    const n = 3;
    const xData = rng.normals(n * 3 * 32 * 32);
    writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [n, 3, 32, 32], data: xData }));
    writeFileSync(join(dir, 'x64.npy'), npyFloat64([n, 3, 32, 32], xData));
    model.eval();
    const xt = Tensor.from(backend, xData, [n, 3, 32, 32]);
    const yt = model.forward(xt);
    const expected = yt.toFloat32Array();
    xt.dispose();
    yt.dispose();
    model.dispose();

    const deploy = join(dir, 'deploy.safetensors');
    const conv = ok(cli('convert', '--arch', 'A0', '--in', train, '--out', deploy), 'convert');
    assert.ok(conv.stdout.includes('7,840,778') && conv.stdout.includes('7,041,194'), `convert reports params:\n${conv.stdout}`);
    const fused = readSafetensors(bytesOf(deploy));
    assert.ok(fused.tensors.has('stage0.rbr_reparam.weight') && fused.tensors.has('linear.weight'), 'deploy keys');
    for (const [k, t] of fused.tensors) {
      assert.not.ok(/rbr_dense|rbr_1x1|rbr_identity|num_batches_tracked/.test(k), `no training-form key ${k}`);
      assert.is(t.dtype, 'float32', `${k} float32`);
    }
    assert.is(fused.metadata.arch, 'RepVGG-A0');

    const run = (weights: string, out: string, ...extra: string[]) => {
      const r = ok(cli('predict', '--arch', 'a0', '--weights', weights, '--input', join(dir, 'x.npy'), '--output', join(dir, out), ...extra), `predict ${out}`);
      const y = readNpy(bytesOf(join(dir, out)));
      assert.equal(y.shape, [n, 10], `${out}: logits [n, classes]`);
      assert.is(y.dtype, 'float32');
      return { r, y: y.data as Float32Array };
    };
    const multi = run(train, 'y_train.npy');
    assert.ok(multi.r.stdout.includes('0: class '), `prints top-1:\n${multi.r.stdout}`);
    const fusedOut = run(deploy, 'y_deploy.npy');
    const converted = run(train, 'y_converted.npy', '--deploy', '--quiet');
    assert.is(converted.r.stdout, '', '--quiet prints nothing');
    assert.ok(relErr(multi.y, expected) < 1e-5, `training file vs the library in-process: ${relErr(multi.y, expected)}`);
    assert.ok(relErr(fusedOut.y, multi.y) < 1e-4, `deploy vs training form: ${relErr(fusedOut.y, multi.y)}`);
    assert.ok(relErr(converted.y, multi.y) < 1e-4, `--deploy vs training form: ${relErr(converted.y, multi.y)}`);
    // A float64 input is converted; with the batch split in two passes the result is the same.
    const from64 = ok(cli('predict', '--arch', 'a0', '--weights', deploy, '--input', join(dir, 'x64.npy'),
      '--output', join(dir, 'y64.npy'), '--batch-size', '2'), 'predict float64');
    assert.ok(from64.stdout.includes('wrote'));
    assert.ok(relErr(readNpy(bytesOf(join(dir, 'y64.npy'))).data as Float32Array, fusedOut.y) < 1e-6, 'float64 input');

    // Refusals, each with a message that says what is wrong.
    fails(cli('convert', '--arch', 'a0', '--in', deploy, '--out', join(dir, 'again.safetensors')), 'deploy-form input', 'already in deploy form');
    assert.not.ok(existsSync(join(dir, 'again.safetensors')), 'nothing written on failure');
    const bytes = bytesOf(train);
    const truncated = join(dir, 'truncated.safetensors');
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    fails(cli('convert', '--arch', 'a0', '--in', truncated, '--out', join(dir, 't.safetensors')), 'truncated checkpoint', truncated, 'truncated');
    fails(cli('predict', '--arch', 'a0', '--weights', truncated, '--input', join(dir, 'x.npy'), '--output', join(dir, 't.npy')),
      'truncated checkpoint (predict)', 'truncated');
    const wrongArch = cli('convert', '--arch', 'B0', '--in', train, '--out', join(dir, 'b0.safetensors'));
    fails(wrongArch, '--arch B0 on an A0 checkpoint', 'RepVGG-B0', 'missing keys', 'stage1.2.rbr_dense.conv.weight', 'mis-shaped', 'RepVGG-A0');
    fails(cli('predict', '--arch', 'a0', '--classes', '5', '--weights', deploy, '--input', join(dir, 'x.npy'), '--output', join(dir, 'c.npy')),
      'wrong --classes', 'linear.weight', '[5,1280]');
    fails(cli('convert', '--arch', 'a0', '--in', join(dir, 'nope.pt'), '--out', join(dir, 'n.safetensors')), 'missing file', 'nope.pt', 'no such file');
    fails(cli('convert', '--arch', 'a0', '--in', join(dir, 'x.npy'), '--out', join(dir, 'n.safetensors')), 'npy as checkpoint', '.npy');

    writeFileSync(join(dir, 'x3.npy'), writeNpy({ dtype: 'float32', shape: [3, 32, 32], data: xData.subarray(0, 3 * 32 * 32) }));
    fails(cli('predict', '--arch', 'a0', '--weights', deploy, '--input', join(dir, 'x3.npy'), '--output', join(dir, 'z.npy')),
      'rank-3 input', '[3, 32, 32]', '[n, 3, h, w]');
    writeFileSync(join(dir, 'x1.npy'), writeNpy({ dtype: 'float32', shape: [3, 1, 32, 32], data: xData.subarray(0, 3 * 32 * 32) }));
    fails(cli('predict', '--arch', 'a0', '--weights', deploy, '--input', join(dir, 'x1.npy'), '--output', join(dir, 'z.npy')),
      'one-channel input', '[3, 1, 32, 32]');
    writeFileSync(join(dir, 'xi.npy'), writeNpy({ dtype: 'int32', shape: [1, 3, 32, 32], data: new Int32Array(3 * 32 * 32) }));
    fails(cli('predict', '--arch', 'a0', '--weights', deploy, '--input', join(dir, 'xi.npy'), '--output', join(dir, 'z.npy')),
      'integer input', 'int32');
    assert.not.ok(existsSync(join(dir, 'z.npy')), 'no output on failure');
    assert.equal(readdirSync(dir).filter((f) => f.includes('.tmp-')), [], 'no temporary files left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
