// PIL's bilinear resize (src/image/resize.ts) against Pillow 9.4 through torchvision 0.14:
// shrinking by 1.1x and 6x (the antialiasing filter spans many pixels), enlarging, a tall image,
// a gray one, and a crop-then-resize as RandomResizedCrop does; the bytes must be PIL's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeImage, toChannels } from '../src/image/decode.js';
import { cropBox, resizeShorter, resizedSize } from '../src/image/preprocess.js';
import { resizeBilinear } from '../src/image/resize.js';
import { EXPECTED, imageFile, maxDiff, u8 } from './helpers/images.js';
import { throwsWith } from './helpers/throws.js';

test('Resize(n) of torchvision on PIL images: the same size and exactly the same bytes', () => {
  for (const [name, e] of Object.entries(EXPECTED.preprocess)) {
    const img = decodeImage(imageFile(e.file));
    const channels = e.mean.length as 1 | 3;
    const px = { data: toChannels(img, channels), width: img.width, height: img.height, channels };
    assert.equal(resizedSize(img.width, img.height, e.resize), [e.resizedWidth, e.resizedHeight], `${name}: size`);
    const r = resizeShorter(px, e.resize);
    const d = maxDiff(r.data, u8(e.resized));
    assert.is(d.count, 0, `${name}: ${d.count} bytes differ from PIL's (by up to ${d.max})`);
  }
});

test('crop then resize (torchvision resized_crop, as RandomResizedCrop applies it): PIL\'s bytes', () => {
  const e = EXPECTED.preprocess_box;
  const img = decodeImage(imageFile(e.file));
  const px = { data: toChannels(img, 3), width: img.width, height: img.height, channels: 3 };
  const box = cropBox(px, e.top, e.left, e.height, e.width);
  const out = resizeBilinear(box.data, box.width, box.height, 3, e.size, e.size);
  assert.is(maxDiff(out, u8(e.resized)).count, 0);
});

test('identity, exact halving, and argument checks', () => {
  const src = Uint8Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 7);
  assert.equal(resizeBilinear(src, 4, 3, 2, 4, 3), src, 'same size: a copy');
  assert.is.not(resizeBilinear(src, 4, 3, 2, 4, 3), src, 'a new array');
  // 2x2 -> 1x1 averages the four (the filter spans exactly them), rounding after each pass as PIL
  // does: rows (10 + 20) / 2 = 15 and (30 + 41) / 2 = 35.5 -> 36, then (15 + 36) / 2 = 25.5 -> 26.
  assert.equal([...resizeBilinear(Uint8Array.of(10, 20, 30, 40), 2, 2, 1, 1, 1)], [25]);
  assert.equal([...resizeBilinear(Uint8Array.of(10, 20, 30, 41), 2, 2, 1, 1, 1)], [26]);
  throwsWith(() => resizeBilinear(src, 4, 3, 2, 0, 3), [/output width must be an integer from 1 to 65535, got 0/], RangeError);
  throwsWith(() => resizeBilinear(src, 4, 4, 2, 2, 2), [/24 samples for a 4x4 image of 2 channels \(needs 32\)/], RangeError);
  throwsWith(() => resizeBilinear(new Float32Array(4) as unknown as Uint8Array, 2, 2, 1, 1, 1), [/Uint8Array/], TypeError);
});

test.run();
