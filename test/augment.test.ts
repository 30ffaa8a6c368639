// Augmentation (src/data/augment.ts): crops and flips against hand-computed results, and the
// loader drawing them from its (seed, epoch) stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchLoader, augmentImage, sampleAugment, type AugmentParams } from '../src/data/index.js';
import { STREAM, streamRng } from '../src/data/random.js';
import { close, expectedImage, sameBytes, synthetic } from './helpers/data.js';
import { TOL_PIXEL_ZERO } from './helpers/tolerances.js';

test('augmentation: crop shifts by hand-computed offsets, flip mirrors, loader follows its PRNG stream', () => {
  // One 1x4x5 image, values 1..20; padding 2, top 1, left 3: out(y, x) = in(y - 1, x + 1).
  const img = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
  const crop = augmentImage(img, 1, 4, 5, 2, { top: 1, left: 3, flip: false });
  assert.equal([...crop], [
    0, 0, 0, 0, 0,
    2, 3, 4, 5, 0,
    7, 8, 9, 10, 0,
    12, 13, 14, 15, 0,
  ]);
  const flipped = augmentImage(img, 1, 4, 5, 2, { top: 1, left: 3, flip: true });
  assert.equal([...flipped], [
    0, 0, 0, 0, 0,
    0, 5, 4, 3, 2,
    0, 10, 9, 8, 7,
    0, 15, 14, 13, 12,
  ]);
  const centre = augmentImage(img, 1, 4, 5, 2, { top: 2, left: 2, flip: true });
  assert.equal([...centre.subarray(0, 5)], [5, 4, 3, 2, 1], 'centred crop + flip = mirror');

  // The loader: image j of an unshuffled epoch gets the j-th draw of the (seed, epoch) augment stream.
  const ds = synthetic(40, 3, 32, 32);
  const loader = new BatchLoader(ds, { batchSize: 16, shuffle: false, seed: 3 });
  assert.equal(loader.augment, { cropPadding: 4, flip: true });
  const rng = streamRng(3, 2, STREAM.augment);
  const size = 3 * 32 * 32;
  const params: AugmentParams[] = [];
  for (const b of loader.batches(2)) {
    assert.is(b.x.length, b.size * size, 'shape kept');
    for (let j = 0; j < b.size; j++) {
      const p = sampleAugment(rng, ds.augment);
      params.push(p);
      assert.ok(p.top >= 0 && p.top <= 8 && p.left >= 0 && p.left <= 8);
      const got = b.x.subarray(j * size, (j + 1) * size);
      assert.ok(close(got, expectedImage(ds, b.indices[j], 4, p)), `image ${b.indices[j]}: ${JSON.stringify(p)}`);
      // The padding shows as normalized zeros: rows above the shifted content.
      if (p.top < 4) assert.ok(Math.abs(got[0] - -ds.mean[0] / ds.std[0]) < TOL_PIXEL_ZERO, 'padded corner is a raw zero');
    }
  }
  assert.ok(params.some((p) => p.flip) && params.some((p) => !p.flip), 'both flips occur');
  assert.ok(new Set(params.map((p) => p.top * 9 + p.left)).size > 10, 'offsets vary');
  // A shuffled, augmented loader is reproducible too, and a different epoch draws different crops.
  const l2 = new BatchLoader(ds, { batchSize: 40, shuffle: true, seed: 3 });
  const [a] = l2.batches(0);
  const [b] = l2.batches(0);
  const [c] = l2.batches(1);
  assert.ok(sameBytes(a.x, b.x));
  assert.not.ok(sameBytes(a.x, c.x));
  // Explicit options override the dataset's; digits-style options never flip.
  const noFlip = new BatchLoader(ds, { batchSize: 40, shuffle: false, seed: 1, augment: { cropPadding: 2, flip: false } });
  const r2 = streamRng(1, 0, STREAM.augment);
  const [nb] = noFlip.batches(0);
  for (let j = 0; j < 40; j++) {
    const p = sampleAugment(r2, { cropPadding: 2, flip: false });
    assert.not.ok(p.flip);
    assert.ok(close(nb.x.subarray(j * size, (j + 1) * size), expectedImage(ds, j, 2, p)), `no-flip image ${j}`);
  }
});

test.run();
