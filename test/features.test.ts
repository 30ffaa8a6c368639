// `repvgg features` (src/cli/features.ts, src/models/features.ts): an A0 training checkpoint and one
// 32x32 image give five PNGs per form, and the two forms' maps agree within float32 rounding.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { writeNpy } from '../src/io/npy.js';
import { decodeImage } from '../src/image/decode.js';
import { encodePng } from '../src/image/png-write.js';
import { preprocess } from '../src/image/preprocess.js';
import { imagenetPreprocessing } from '../src/models/metadata.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { stageOutputs } from '../src/models/features.js';
import { createRepVGG, repvggModelConvert } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { cli, fails, ok } from './helpers/cli.js';
import { relErr } from './helpers/compare.js';
import { randomInput, randomizeBatchNorms } from './helpers/models.js';
import { TOL_NETWORK } from './helpers/tolerances.js';

const backend = await createBackend('wasm-simd');
const model = createRepVGG(backend, 'A0', { numClasses: 10, seed: 6 });
randomizeBatchNorms(model, 2);
const image = randomInput([1, 3, 32, 32], 5);

test('stageOutputs: the stem and four stages, shapes of A0 at 32x32, the same in both forms', () => {
  const x = Tensor.from(backend, image, [1, 3, 32, 32]);
  const train = stageOutputs(model, x);
  const deploy = repvggModelConvert(model);
  const fused = stageOutputs(deploy, x);
  assert.equal(train.map((m) => m.name), ['stage0', 'stage1', 'stage2', 'stage3', 'stage4']);
  assert.equal(train.map((m) => m.shape), [[1, 48, 16, 16], [1, 48, 8, 8], [1, 96, 4, 4], [1, 192, 2, 2], [1, 1280, 1, 1]]);
  train.forEach((m, i) => assert.ok(relErr(fused[i].data, m.data) <= TOL_NETWORK, `${m.name}: ${relErr(fused[i].data, m.data)}`));
  assert.ok(model.training, 'the model is put back in training mode');
  deploy.dispose();
  x.dispose();
});

test('the command: ten PNGs (five stages, two forms) and the verdict', () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-features-'));
  writeFileSync(join(dir, 'a0.safetensors'), writeSafetensors(stateDict(model)));
  writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [1, 3, 32, 32], data: image }));
  const r = ok(cli('features', '--arch', 'A0', '--weights', join(dir, 'a0.safetensors'), '--input', join(dir, 'x.npy'),
    '--out', join(dir, 'maps')), 'features');
  assert.match(r.stdout, /the two forms give the same feature maps within float32 rounding/);
  assert.match(r.stdout, /stage4, 1280 channels of 1x1 in a 36x36 grid/);
  const files = readdirSync(join(dir, 'maps')).sort();
  assert.is(files.length, 10);
  for (const f of files) assert.equal([...readFileSync(join(dir, 'maps', f)).subarray(1, 4)], [0x50, 0x4e, 0x47], `${f} is a PNG`);
});

test('--image: a PNG preprocessed as the file says (ImageNet\'s transform without metadata), the same maps as its .npy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-features-'));
  const weights = join(dir, 'a0.safetensors');
  writeFileSync(weights, writeSafetensors(stateDict(model)));
  const w = 60, h = 45;
  const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37 + (i % 7) * 11) & 255);
  writeFileSync(join(dir, 'x.png'), encodePng(rgb, w, h));
  const x = preprocess(decodeImage(new Uint8Array(readFileSync(join(dir, 'x.png')))), imagenetPreprocessing());
  writeFileSync(join(dir, 'x.npy'), writeNpy({ dtype: 'float32', shape: [1, 3, 224, 224], data: x }));
  const r = ok(cli('features', '--weights', weights, '--image', join(dir, 'x.png'), '--out', join(dir, 'img')), 'features --image');
  assert.match(r.stderr, /assuming ImageNet's preprocessing/);
  assert.match(r.stdout, /stage0, 48 channels of 112x112/);
  assert.match(r.stdout, /the two forms give the same feature maps within float32 rounding/);
  ok(cli('features', '--weights', weights, '--input', join(dir, 'x.npy'), '--out', join(dir, 'npy')), 'features --input');
  for (const f of readdirSync(join(dir, 'npy'))) {
    assert.ok(readFileSync(join(dir, 'img', f)).equals(readFileSync(join(dir, 'npy', f))), `${f}: the image and its .npy draw the same`);
  }
  fails(cli('features', '--weights', weights, '--image', join(dir, 'x.png'), '--input', join(dir, 'x.npy'), '--out', dir),
    'both inputs', 'give --image or --input, not both');
  fails(cli('features', '--weights', weights, '--out', dir), 'no input', '--image (a PNG or JPEG file) or --input');
  writeFileSync(join(dir, 'bad.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  fails(cli('features', '--weights', weights, '--image', join(dir, 'bad.png'), '--out', dir), 'a broken PNG', 'bad.png');
});

test.run();
