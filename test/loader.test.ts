// The batch loader (src/data/loader.ts): every image once per epoch, batches deterministic per
// (seed, epoch), unshuffled order, normalization, and its argument checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchLoader } from '../src/data/index.js';
import { close, expectedImage, sameBytes, synthetic } from './helpers/data.js';
import { throwsWith } from './helpers/throws.js';

test('BatchLoader: every image once per epoch, deterministic per (seed, epoch), different across epochs', () => {
  const ds = synthetic(103, 3, 8, 8);
  const loader = new BatchLoader(ds, { batchSize: 10, shuffle: true, seed: 7 });
  assert.is(loader.batchesPerEpoch, 11);
  const run = (l: BatchLoader, e: number) => [...l.batches(e)];
  const e0 = run(loader, 0);
  assert.equal(e0.map((b) => b.size), [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
  assert.equal(e0.map((b) => b.index), [...Array(11).keys()]);
  const seen = e0.flatMap((b) => [...b.indices]).sort((a, b) => a - b);
  assert.equal(seen, [...Array(103).keys()], 'each image exactly once');
  for (const b of e0) {
    assert.is(b.x.length, b.size * 3 * 64);
    for (let j = 0; j < b.size; j++) assert.is(b.labels[j], ds.labels[b.indices[j]]);
  }
  assert.ok(e0.flatMap((b) => [...b.indices]).some((v, i) => v !== i), 'shuffled');

  const again = run(new BatchLoader(ds, { batchSize: 10, shuffle: true, seed: 7 }), 0);
  assert.ok(again.every((b, k) => sameBytes(b.x, e0[k].x) && sameBytes(b.indices, e0[k].indices)), 'same seed and epoch: same batches');
  run(loader, 1); // running other epochs first changes nothing
  assert.ok(run(loader, 0).every((b, k) => sameBytes(b.x, e0[k].x)), 'epoch 0 again');
  const e1 = run(loader, 1);
  assert.not.equal(e1.flatMap((b) => [...b.indices]), e0.flatMap((b) => [...b.indices]), 'epoch 1 order differs');
  const s8 = run(new BatchLoader(ds, { batchSize: 10, shuffle: true, seed: 8 }), 0);
  assert.not.equal(s8.flatMap((b) => [...b.indices]), e0.flatMap((b) => [...b.indices]), 'seed 8 order differs');

  const dl = new BatchLoader(ds, { batchSize: 10, shuffle: true, seed: 7, dropLast: true });
  assert.is(dl.batchesPerEpoch, 10);
  assert.equal([...dl.batches(0)].map((b) => b.size), Array(10).fill(10));

  const plain = run(new BatchLoader(ds, { batchSize: 50, shuffle: false, augment: false }), 3);
  assert.equal(plain.flatMap((b) => [...b.indices]), [...Array(103).keys()], 'unshuffled: dataset order');
  assert.ok(close(plain[0].x.subarray(5 * 192, 6 * 192), expectedImage(ds, 5, 0, { top: 0, left: 0, flip: false })), 'plain normalization');
  throwsWith(() => loader.batches(-1).next(), [/epoch must be an integer >= 0/], Error, 'negative epoch');
  throwsWith(() => new BatchLoader(ds, { batchSize: 0, shuffle: false }), [/batchSize must be an integer >= 1/], Error, 'batch size 0');
});

test.run();
