// `repvgg convert` and `repvgg predict` (src/cli/convert.ts, src/cli/predict.ts, and the checkpoint
// reading of src/cli/checkpoint.ts they share), through the executable: one round trip from a
// training checkpoint to the deploy form and logits, then the refusals. One file for both: the
// predictions check what convert wrote.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import { METADATA_KEY, imagenetPreprocessing, readModelMetadata } from '../src/models/metadata.js';
import { REPVGG_VARIANTS, RepVGG, repvggModelConvert } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { cli, fails, ok } from './helpers/cli.js';
import { sameBytes } from './helpers/data.js';
import { relErr } from './helpers/compare.js';
import { Rng } from './helpers/random.js';
import { TOL_FORWARD, TOL_NETWORK, TOL_SAME_MATH } from './helpers/tolerances.js';

/** A file's bytes as a plain Uint8Array (readers are handed what the library's readFileBytes gives). */
function bytesOf(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** relErr of two outputs that must have the same length. */
function rel(a: Float32Array, b: Float32Array): number {
  assert.is(a.length, b.length, 'same length');
  return relErr(a, b);
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
    // The input had no metadata: the deploy file records what --arch said and what was assumed.
    const meta = readModelMetadata(fused.metadata)!;
    assert.equal([meta.arch, meta.numClasses, meta.inChannels, meta.inputSize, meta.classNames], ['A0', 10, 3, [224, 224], null]);
    assert.equal(meta.preprocessing, imagenetPreprocessing());
    assert.match(conv.stderr, /assuming ImageNet's preprocessing/);

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
    // --threads: the same bits on one thread and on three.
    const oneThread = run(deploy, 'y_t1.npy', '--threads', '1', '--quiet');
    const threeThreads = run(deploy, 'y_t3.npy', '--threads', '3', '--quiet');
    assert.ok(sameBytes(oneThread.y, threeThreads.y), '--threads 1 and 3 give the same logits');
    // The same network, weights and backend in two processes: only float32 rounding may differ.
    assert.ok(rel(multi.y, expected) < TOL_FORWARD, `training file vs the library in-process: ${rel(multi.y, expected)}`);
    assert.ok(rel(fusedOut.y, multi.y) < TOL_NETWORK, `deploy vs training form: ${rel(fusedOut.y, multi.y)}`);
    assert.ok(rel(converted.y, multi.y) < TOL_NETWORK, `--deploy vs training form: ${rel(converted.y, multi.y)}`);
    // A float64 input is converted; with the batch split in two passes the result is the same.
    const from64 = ok(cli('predict', '--arch', 'a0', '--weights', deploy, '--input', join(dir, 'x64.npy'),
      '--output', join(dir, 'y64.npy'), '--batch-size', '2'), 'predict float64');
    assert.ok(from64.stdout.includes('wrote'));
    assert.ok(rel(readNpy(bytesOf(join(dir, 'y64.npy'))).data as Float32Array, fusedOut.y) < TOL_SAME_MATH, 'float64 input');

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
    fails(cli('predict', '--arch', 'a0', '--classes', '5', '--weights', train, '--input', join(dir, 'x.npy'), '--output', join(dir, 'c.npy')),
      'wrong --classes', 'linear.weight', '[5,1280]');
    fails(cli('predict', '--classes', '5', '--weights', deploy, '--input', join(dir, 'x.npy'), '--output', join(dir, 'c.npy')),
      '--classes against the metadata', '--classes 5 does not match', 'its metadata says 10 classes');
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

test('predict without --arch: a custom one-channel deploy file (as the browser demo writes) runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-cli-'));
  try {
    const backend = await createBackend('wasm-simd');
    const rng = new Rng(11);
    const model = new RepVGG(backend, { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.5, 0.5], numClasses: 10, inChannels: 1, seed: 5 });
    model.eval();
    const n = 2;
    const xData = rng.normals(n * 32 * 32);
    const xt = Tensor.from(backend, xData, [n, 1, 32, 32]);
    const yt = model.forward(xt);
    const expected = yt.toFloat32Array();
    xt.dispose();
    yt.dispose();
    const deploy = join(dir, 'digits-deploy.safetensors');
    const fused = repvggModelConvert(model);
    writeFileSync(deploy, writeSafetensors(stateDict(fused)));
    fused.dispose();
    model.dispose();
    writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [n, 1, 32, 32], data: xData }));
    const r = ok(cli('predict', '--weights', deploy, '--input', join(dir, 'x.npy'), '--output', join(dir, 'y.npy')), 'predict, no --arch');
    assert.match(r.stdout, /custom RepVGG \(blocks 1,1,1,1, widths 0\.25,0\.25,0\.5,0\.5\), deploy form/);
    const y = readNpy(bytesOf(join(dir, 'y.npy')));
    assert.equal(y.shape, [n, 10]);
    assert.ok(rel(y.data as Float32Array, expected) < TOL_NETWORK, `fused file vs the multi-branch model: ${rel(y.data as Float32Array, expected)}`);
    writeFileSync(join(dir, 'x3.npy'), writeNpy({ dtype: 'float32', shape: [n, 3, 32, 32], data: rng.normals(n * 3 * 32 * 32) }));
    fails(cli('predict', '--weights', deploy, '--input', join(dir, 'x3.npy'), '--output', join(dir, 'z.npy')),
      'three channels into a one-channel model', '[2, 3, 32, 32]', '[n, 1, h, w]');
    writeFileSync(join(dir, 'junk.safetensors'), writeSafetensors({
      'stage0.rbr_reparam.weight': { shape: [8, 1, 3, 3], data: new Float32Array(72) },
      'linear.weight': { shape: [10, 8], data: new Float32Array(80) },
    }));
    fails(cli('predict', '--weights', join(dir, 'junk.safetensors'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'z.npy')),
      'an unreadable architecture', 'cannot be read off its weights', 'stage1 has no blocks', 'pass --arch');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('files this library writes need no --arch: train, predict, convert and info on a custom 1-channel model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-meta-'));
  try {
    const run = join(dir, 'run');
    ok(cli('train', '--arch', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5', '--data', 'mnist', '--limit', '64',
      '--epochs', '1', '--batch-size', '32', '--seed', '2', '--out', run), 'train');
    const deploy = join(run, 'deploy.safetensors');
    const checkpoint = join(run, 'checkpoint.safetensors');
    const rng = new Rng(3);
    writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [2, 1, 32, 32], data: rng.normals(2 * 32 * 32) }));
    const predict = (weights: string, out: string, ...extra: string[]) => {
      ok(cli('predict', '--weights', weights, '--input', join(dir, 'x.npy'), '--output', join(dir, out), ...extra), `predict ${out}`);
      return readNpy(bytesOf(join(dir, out))).data as Float32Array;
    };
    // The command of issue 12 that failed ("unknown RepVGG architecture custom"), and without --arch.
    const a = predict(deploy, 'a.npy', '--arch', 'custom');
    const b = predict(deploy, 'b.npy');
    assert.equal(b, a);
    // The training checkpoint (model.* and optimizer.* tensors) runs too, and converts without --arch.
    const c = predict(checkpoint, 'c.npy');
    assert.ok(rel(c, b) < TOL_NETWORK, `checkpoint vs deploy file: ${rel(c, b)}`);
    const conv = ok(cli('convert', '--in', checkpoint, '--out', join(dir, 'converted.safetensors')), 'convert the checkpoint');
    assert.match(conv.stdout, /custom RepVGG \(blocks 1,1,1,1, widths 0\.25,0\.25,0\.25,0\.5\), 10 classes, 1x32x32 input \(from its metadata\)/);
    const converted = readSafetensors(bytesOf(join(dir, 'converted.safetensors')));
    assert.equal(readModelMetadata(converted.metadata), readModelMetadata(readSafetensors(bytesOf(deploy)).metadata), 'metadata carried over');
    assert.ok(rel(predict(join(dir, 'converted.safetensors'), 'd.npy'), b) < TOL_NETWORK, 'converted file');

    const info = ok(cli('info', deploy), 'info on the deploy file').stdout;
    assert.match(info, /model {6}custom RepVGG .*10 classes, 1x32x32 input/);
    assert.match(info, /classes {4}0, 1, 2, 3, 4, 5, 6, 7, \.\.\. \(10\)/);
    assert.match(info, /input {6}resize shorter side to 28, center crop 32x32, scale to \[0, 1\], mean \[0\.1307\], std \[0\.3081\]/);
    assert.match(info, /input 1x1x32x32/, 'the summary at the trained size and channels');
    const json = JSON.parse(ok(cli('info', checkpoint, '--json'), 'info --json').stdout);
    assert.equal([json.file.form, json.file.hasMetadata, json.metadata.numClasses, json.inputShape], ['train', true, 10, [1, 1, 32, 32]]);

    // Disagreements and files that say nothing are errors that say what to do.
    fails(cli('predict', '--arch', 'A0', '--weights', deploy, '--input', join(dir, 'x.npy'), '--output', join(dir, 'z.npy')),
      '--arch against the metadata', '--arch A0 does not match', 'a custom RepVGG', 'leave --arch out');
    writeFileSync(join(dir, 'x3.npy'), writeNpy({ dtype: 'float32', shape: [1, 3, 32, 32], data: new Float32Array(3 * 1024) }));
    fails(cli('predict', '--weights', deploy, '--input', join(dir, 'x3.npy'), '--output', join(dir, 'z.npy')),
      'three channels into a one-channel model', '[1, 3, 32, 32]', '[n, 1, h, w]', 'takes 1 input channel');
    const bare = readSafetensors(bytesOf(deploy));
    writeFileSync(join(dir, 'bare.safetensors'), writeSafetensors(bare.tensors as Map<string, never>));
    // Without metadata and without --arch (or with --arch custom alone), the architecture is read off the weights.
    assert.equal(predict(join(dir, 'bare.safetensors'), 'f.npy'), b);
    assert.equal(predict(join(dir, 'bare.safetensors'), 'g.npy', '--arch', 'custom'), b);
    // Without metadata, --arch custom with the shape flags works, and the channels come from stage0.
    const e = predict(join(dir, 'bare.safetensors'), 'e.npy', '--arch', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5');
    assert.equal(e, b);
    // Hostile metadata: a clear error, nothing allocated for the network it claims.
    const evil = JSON.parse(bare.metadata[METADATA_KEY]);
    const withMeta = (m: unknown) => writeSafetensors(bare.tensors as Map<string, never>, { [METADATA_KEY]: JSON.stringify(m) });
    writeFileSync(join(dir, 'evil1.safetensors'), withMeta({ ...evil, numClasses: 11 }));
    fails(cli('predict', '--weights', join(dir, 'evil1.safetensors'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'z.npy')),
      'class names vs classes', 'evil1.safetensors: model metadata: classNames (one per class) must be a list of 11');
    writeFileSync(join(dir, 'evil2.safetensors'), withMeta({ ...evil, arch: 'custom', numBlocks: [1000, 1000, 1000, 1000], widthMultiplier: [64, 64, 64, 64] }));
    fails(cli('predict', '--weights', join(dir, 'evil2.safetensors'), '--input', join(dir, 'x.npy'), '--output', join(dir, 'z.npy')),
      'a huge network over a small file', 'does not fit the custom RepVGG', 'values, the file');
    assert.not.ok(existsSync(join(dir, 'z.npy')), 'no output on failure');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
