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

test('createDataset names a missing or mistyped field and what it got (never "undefined entries")', () => {
  const base = { name: 'bad', shape: [2, 1, 2, 2] as const, pixels: new Uint8Array(8), labels: Int32Array.from([0, 1]), mean: [0], std: [1] };
  type Init = Parameters<typeof createDataset>[0];
  const without = (field: keyof Init): Init => Object.fromEntries(Object.entries(base).filter(([k]) => k !== field)) as unknown as Init;
  const cases: [Init, RegExp][] = [
    [without('labels'), /dataset "bad": labels must be an Int32Array of 2 entries \(one per image\), got nothing \(the field is missing\)/],
    [{ ...base, labels: [0, 1] as unknown as Int32Array }, /labels must be an Int32Array of 2 entries .*got an Array of 2 entries/],
    [{ ...base, labels: Int32Array.from([0]) }, /labels must be an Int32Array of 2 entries .*got an Int32Array of 1 entry/],
    [{ ...base, labels: Float64Array.from([0, 1]) as unknown as Int32Array }, /got a Float64Array of 2 entries/],
    [without('pixels'), /pixels must be a Uint8Array \(0\.\.255\) or a Float32Array, got nothing \(the field is missing\)/],
    [without('shape'), /shape must be \[n, c, h, w\], got nothing/],
    [{ ...base, shape: [2, 4] as unknown as Init['shape'] }, /shape must be \[n, c, h, w\], got an Array of 2 entries/],
    [without('mean'), /mean must be an array \(one value per channel\), got nothing/],
    [{ ...base, std: 1 as unknown as number[] }, /std must be an array .*got a number/],
  ];
  for (const [init, re] of cases) {
    const e = throwsWith(() => createDataset(init), [re], Error, String(re));
    assert.not.match(e.message, /undefined/, `no "undefined" in: ${e.message}`);
  }
});

test.run();
