// The eval transform (src/image/preprocess.ts) against torchvision 0.14's Resize + CenterCrop +
// ToTensor + Normalize on PIL images, within TOL_TORCHVISION (its reason is in tolerances.ts).
// Measured: see the printed lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeImage } from '../src/image/decode.js';
import type { DecodedImage } from '../src/image/image.js';
import { centerCrop, normalize, preprocess } from '../src/image/preprocess.js';
import { EXPECTED, f32, imageFile, maxDiff } from './helpers/images.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_TORCHVISION } from './helpers/tolerances.js';

test('resize + center crop + normalize equal torchvision\'s within 1e-6', () => {
  const rows: string[] = [];
  for (const [name, e] of Object.entries(EXPECTED.preprocess)) {
    const img = decodeImage(imageFile(e.file));
    const x = preprocess(img, { resize: e.resize, crop: e.crop, mean: e.mean, std: e.std });
    assert.is(x.length, e.shape.reduce((a, b) => a * b, 1), `${name}: ${e.shape.join('x')}`);
    const d = maxDiff(x, f32(e.tensor));
    rows.push(`${name}: ${e.shape.join('x')}, max |ours - torchvision| ${d.max.toExponential(2)} (${d.count} of ${x.length} values differ)`);
    assert.ok(d.max <= TOL_TORCHVISION, `${name}: ${d.max}`);
  }
  console.log(`  ${rows.join('\n  ')}`);
});

test('center crop: half-to-even offsets, zero padding, flip; checks', () => {
  const px = { data: Uint8Array.from({ length: 5 * 4 }, (_, i) => i + 1), width: 5, height: 4, channels: 1 };
  // Offsets round((5 - 2) / 2) = round(1.5) = 2 and round((4 - 3) / 2) = round(0.5) = 0.
  assert.equal([...centerCrop(px, 3, 2).data], [3, 4, 8, 9, 13, 14]);
  // Larger than the image: padded (left (7 - 5) // 2 = 1, top (6 - 4) // 2 = 1) with zeros.
  const padded = centerCrop(px, 6, 7);
  assert.equal([...padded.data.subarray(0, 7)], [0, 0, 0, 0, 0, 0, 0]);
  assert.equal([...padded.data.subarray(7, 14)], [0, 1, 2, 3, 4, 5, 0]);
  const row = { data: Uint8Array.of(0, 255), width: 2, height: 1, channels: 1 };
  assert.equal([...normalize(row, [0.5], [0.5], true)], [1, -1], 'flipped');
  const img: DecodedImage = { width: 2, height: 1, channels: 3, bitDepth: 8, data: new Uint8Array(6) };
  throwsWith(() => preprocess(img, { resize: null, crop: [2, 2], mean: [0, 0], std: [1, 1] }), [/images give 1 or 3 channels/], RangeError);
  throwsWith(() => preprocess(img, { resize: 0, crop: [2, 2], mean: [0], std: [1] }), [/resize must be an integer from 1/]);
  throwsWith(() => preprocess({ ...img, data: new Uint8Array(5) }, { resize: null, crop: [2, 2], mean: [0], std: [1] }),
    [/5 samples for a 2x1 image of 3 channels/], RangeError);
});

test.run();
