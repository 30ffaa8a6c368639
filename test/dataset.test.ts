// Datasets (src/data/dataset.ts): createDataset checks what it is given, subset picks images.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createDataset, subset } from '../src/data/index.js';
import { synthetic } from './helpers/data.js';
import { throwsWith } from './helpers/throws.js';

test('createDataset and subset validate', () => {
  const ds = synthetic(5, 1, 2, 2);
  const s = subset(ds, [4, 0, 4]);
  assert.equal([...s.labels], [4, 0, 4]);
  assert.equal([...s.pixels.subarray(0, 4)], [...ds.pixels.subarray(16, 20)]);
  assert.is(s.classes, ds.classes);
  throwsWith(() => subset(ds, [5]), [/index 5 \(at 0\) is out of range for 5 images/], Error, 'subset range');
  const base = { name: 'bad', shape: [2, 1, 2, 2] as const, pixels: new Uint8Array(8), labels: Int32Array.from([0, 3]), mean: [0], std: [1] };
  throwsWith(() => createDataset({ ...base, classes: 3 }), [/label 3 is out of range for 3 classes/], Error, 'label range');
  throwsWith(() => createDataset({ ...base, pixels: new Uint8Array(7) }), [/7 pixel values for shape \[2, 1, 2, 2\]/], Error, 'pixel count');
  throwsWith(() => createDataset({ ...base, std: [0] }), [/std\[0\] = 0 must be finite and > 0/], Error, 'std');
  assert.is(createDataset(base).classes, 4);
});

test.run();
