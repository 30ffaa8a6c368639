// `repvgg export` (src/cli/export.ts) through the executable: an A0 training checkpoint out as
// .pth (both forms) and ONNX (both forms), read back and compared bit for bit with what the
// library itself holds; a deploy checkpoint cannot become a training one.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { readTorch } from '../src/io/torch.js';
import { readModelMetadata } from '../src/models/metadata.js';
import { createRepVGG, repvggModelConvert } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { cli, fails, ok } from './helpers/cli.js';
import { randomizeBatchNorms } from './helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'repvgg-export-'));
const backend = await createBackend('reference');
const model = createRepVGG(backend, 'A0', { numClasses: 10, seed: 2 });
randomizeBatchNorms(model, 9);
model.eval();
const trainDict = stateDict(model);
const deployDict = stateDict(repvggModelConvert(model));
const trainFile = join(dir, 'train.safetensors');
writeFileSync(trainFile, writeSafetensors(trainDict));

function sameDict(got: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number | bigint> }>,
  want: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number | bigint> }>, what: string, ordered = true): void {
  // .pth keeps the state dict's order (an OrderedDict); safetensors stores names in its own order.
  if (ordered) assert.equal([...got.keys()], [...want.keys()], `${what}: names in order`);
  else assert.equal([...got.keys()].sort(), [...want.keys()].sort(), `${what}: names`);
  for (const [k, t] of want) {
    const g = got.get(k)!;
    assert.equal(g.shape, t.shape, `${what}: ${k} shape`);
    const differ = Array.from(t.data as ArrayLike<number>).findIndex((v, i) => v !== (g.data as ArrayLike<number>)[i]);
    assert.is(differ, -1, `${what}: ${k} equal bit for bit`);
  }
}

test('--format pth: the training form and the deploy form, as the library holds them', () => {
  const a = join(dir, 'train.pth');
  ok(cli('export', '--arch', 'A0', '--weights', trainFile, '--format', 'pth', '--form', 'train', '--out', a), 'export pth train');
  sameDict(readTorch(new Uint8Array(readFileSync(a))).tensors, trainDict, 'training form');
  const b = join(dir, 'deploy.pth');
  const r = ok(cli('export', '--arch', 'A0', '--weights', trainFile, '--format', 'pth', '--out', b), 'export pth deploy');
  assert.match(r.stdout, /pth, RepVGG-A0 deploy form, 10 classes/);
  sameDict(readTorch(new Uint8Array(readFileSync(b))).tensors, deployDict, 'deploy form');
});

test('--format onnx: both forms, with the official names inside; --format safetensors deploy', () => {
  for (const form of ['train', 'deploy']) {
    const out = join(dir, `a0-${form}.onnx`);
    ok(cli('export', '--arch', 'A0', '--weights', trainFile, '--format', 'onnx', '--form', form, '--out', out), `onnx ${form}`);
    const text = new TextDecoder('latin1').decode(readFileSync(out));
    assert.is(text.includes('stage1.0.rbr_dense.conv.weight'), form === 'train', `${form}: training names`);
    assert.is(text.includes('stage1.0.rbr_reparam.weight'), form === 'deploy', `${form}: deploy names`);
  }
  const st = join(dir, 'deploy.safetensors');
  ok(cli('export', '--arch', 'A0', '--weights', trainFile, '--format', 'safetensors', '--out', st), 'safetensors');
  sameDict(readSafetensors(new Uint8Array(readFileSync(st))).tensors, deployDict, 'deploy safetensors', false);
  // Without --arch: the architecture read off the weights; the safetensors output records it, and
  // exporting that file again needs no --arch either (its metadata says what it holds).
  const st2 = join(dir, 'deploy-no-arch.safetensors');
  ok(cli('export', '--weights', trainFile, '--format', 'safetensors', '--out', st2), 'safetensors, no --arch');
  const meta = readModelMetadata(readSafetensors(new Uint8Array(readFileSync(st2))).metadata);
  assert.equal([meta?.arch, meta?.numClasses], ['A0', 10], 'metadata of the exported file');
  const again = ok(cli('export', '--weights', st2, '--format', 'pth', '--out', join(dir, 'again.pth')), 'export the exported file');
  assert.match(again.stdout, /RepVGG-A0 deploy form/);
});

test('refusals: a deploy checkpoint to the training form, unknown format or form', () => {
  const deployFile = join(dir, 'deploy-in.safetensors');
  writeFileSync(deployFile, writeSafetensors(deployDict));
  fails(cli('export', '--arch', 'A0', '--weights', deployFile, '--format', 'onnx', '--form', 'train', '--out', join(dir, 'x.onnx')),
    'deploy to train', 'is in deploy form', '--form deploy');
  fails(cli('export', '--arch', 'A0', '--weights', trainFile, '--format', 'tflite', '--out', join(dir, 'x')), 'format', '--format must be onnx, safetensors, pth');
  fails(cli('export', '--arch', 'A0', '--weights', trainFile, '--format', 'pth', '--form', 'fused', '--out', join(dir, 'x')), 'form', '--form must be train or deploy');
});

test.run();
