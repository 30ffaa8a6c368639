// `repvgg features` (src/cli/features.ts, src/models/features.ts): an A0 training checkpoint and one
// 32x32 image give five PNGs per form, and the two forms' maps agree within float32 rounding.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { writeNpy } from '../src/io/npy.js';
import { writeSafetensors } from '../src/io/safetensors.js';
import { stageOutputs } from '../src/models/features.js';
import { createRepVGG, repvggModelConvert } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { cli, ok } from './helpers/cli.js';
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

test.run();
