// Classifying decoded images with a model (src/image/classify.ts): the same logits as preprocess +
// forward by hand, batches of any size, top-k with names, non-finite rows, and the checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { classifyImages, topPredictions } from '../src/image/classify.js';
import { decodeImage } from '../src/image/decode.js';
import { preprocess } from '../src/image/preprocess.js';
import { imagenetPreprocessing } from '../src/models/metadata.js';
import { RepVGG } from '../src/models/repvgg.js';
import { Tensor } from '../src/tensor.js';
import { softmax } from '../src/topk.js';
import { imageFile } from './helpers/images.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_SAME_MATH } from './helpers/tolerances.js';

test('topPredictions: best first, names, probabilities, ties by index, nothing for a NaN row', () => {
  const row = [0.5, 2, -1, 2];
  const p = softmax(row);
  assert.equal(topPredictions(row, 3, ['a', 'b', 'c', 'd']), [
    { label: 'b', index: 1, probability: p[1] }, { label: 'd', index: 3, probability: p[3] }, { label: 'a', index: 0, probability: p[0] },
  ]);
  assert.equal(topPredictions(row, 9).map((t) => t.label), ['class 1', 'class 3', 'class 0', 'class 2']);
  assert.equal(topPredictions([1, NaN], 1), []);
  throwsWith(() => topPredictions(row, 0), [/k must be a positive integer, got 0/], RangeError);
  throwsWith(() => topPredictions(row, 1, ['a']), [/1 class names for 4 classes/], RangeError);
});

test('classifyImages: the answer of preprocess + forward, in batches of 2, the model\'s mode kept', async () => {
  const backend = await createBackend('wasm-simd');
  const model = new RepVGG(backend, { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5], numClasses: 4, seed: 9 });
  const images = ['baseline_444.jpg', 'rgba8.png', 'gray.jpg'].map((f) => decodeImage(imageFile(f)));
  const pre = imagenetPreprocessing(48);
  const names = ['w', 'x', 'y', 'z'];
  const got = classifyImages(model, images, { preprocessing: pre, classNames: names, topk: 2, batchSize: 2 });
  assert.ok(model.training, 'still in training mode');
  model.eval();
  images.forEach((img, i) => {
    const t = Tensor.from(backend, preprocess(img, pre), [1, 3, 48, 48]);
    const y = model.forward(t);
    const want = topPredictions(y.toFloat32Array(), 2, names);
    t.dispose();
    y.dispose();
    assert.equal(got[i].map((p) => p.index), want.map((p) => p.index), `image ${i}`);
    got[i].forEach((p, j) => assert.ok(Math.abs(p.probability - want[j].probability) < TOL_SAME_MATH));
  });
  throwsWith(() => classifyImages(model, images, { preprocessing: { ...pre, mean: [0.5], std: [0.5] } }),
    [/preprocessing\.mean \(one per input channel\) must be a list of 3/]);
  throwsWith(() => classifyImages(model, images, { preprocessing: pre, classNames: ['a'] }), [/1 class names for a model of 4 classes/], RangeError);
  model.dispose();
});

test.run();
