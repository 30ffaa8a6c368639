// The JPEG decoder (src/image/jpeg.ts, jpeg-idct.ts, jpeg-color.ts) against PIL 9.4 on
// libjpeg-turbo 2.1: baseline 4:2:0, 4:2:2, 4:4:4, 4:4:0 and 4:1:1, optimized tables, grayscale,
// progressive (PIL's and jpegtran's scan scripts), restart markers, CMYK, a 2x3 image; then
// truncated and corrupt files, and what is not supported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReadLimitError } from '../src/io/limits.js';
import { decodeJpeg, isJpeg } from '../src/image/jpeg.js';
import { EXPECTED, imageFile, maxDiff, u8 } from './helpers/images.js';
import { throwsWith } from './helpers/throws.js';

test('every fixture against PIL: baseline within 1 per channel (measured: equal), progressive reported', () => {
  const rows: string[] = [];
  for (const [name, e] of Object.entries(EXPECTED.jpeg)) {
    const bytes = imageFile(e.file);
    assert.ok(isJpeg(bytes), name);
    const img = decodeJpeg(bytes);
    assert.equal([img.width, img.height, img.channels, img.bitDepth], [e.width, e.height, e.channels, 8], `${name}: shape`);
    const d = maxDiff(img.data, u8(e.pil));
    rows.push(`${name}: max |ours - PIL| ${d.max}, ${d.count} of ${img.data.length} samples differ (${e.note})`);
    // The brief's bound is 1 for baseline; the decoder follows libjpeg-turbo's integer steps, so
    // every file here, progressive ones included, decodes to exactly PIL's samples.
    assert.ok(d.max <= 1, `${name}: max difference ${d.max}`);
    assert.is(d.count, 0, `${name}: ${d.count} samples differ from PIL (by up to ${d.max})`);
  }
  console.log(`  ${rows.join('\n  ')}`);
});

test('truncated and corrupt files: clear errors', () => {
  const good = imageFile(EXPECTED.jpeg.baseline_420.file);
  const prog = imageFile(EXPECTED.jpeg.progressive_420.file);
  const err = (b: Uint8Array, re: RegExp, what: string) => throwsWith(() => decodeJpeg(b), [re], Error, what);
  err(Uint8Array.of(0xff, 0xd8), /no frame header/, 'just SOI');
  err(new Uint8Array(10), /not a JPEG file/, 'zeros');
  for (const cut of [30, 200, 700, good.length - 200]) err(good.subarray(0, cut), /truncated/, `baseline cut at ${cut}`);
  for (const cut of [400, prog.length - 100, prog.length - 2]) err(prog.subarray(0, cut), /truncated/, `progressive cut at ${cut}`);
  // The last two bytes (EOI) gone from a baseline file: every block is there, so it decodes (as PIL does).
  assert.equal(decodeJpeg(good.subarray(0, good.length - 2)).data, decodeJpeg(good).data, 'baseline without EOI');
  err(imageFile('arithmetic.jpg'), /arithmetic-coded JPEG \(SOF9\) is not supported/, 'arithmetic');
  throwsWith(() => decodeJpeg(good, { maxImagePixels: 1000 }), [/jpeg: the image is 45x37 \(1665 pixels\), over the maxImagePixels limit of 1000/],
    ReadLimitError);
  // A frame header claiming 60000x60000 in a small file: refused before any allocation.
  const big = good.slice();
  const sof = big.findIndex((b, i) => b === 0xff && big[i + 1] === 0xc0);
  big.set([0xea, 0x60, 0xea, 0x60], sof + 5);
  throwsWith(() => decodeJpeg(big, { maxImagePixels: 2 ** 32 }), [/cannot hold a 60000x60000 image/], Error, 'bytes per block bound');
  err(big, /maxImagePixels/, 'pixel limit');
  // Garbage in the entropy-coded data: an error or other pixels, never a crash (the fuzzer runs this at scale).
  const noisy = good.slice();
  for (let i = 700; i < 760; i++) noisy[i] = (i * 37) & 0xff;
  try {
    decodeJpeg(noisy);
  } catch (e) {
    assert.instance(e, Error);
    assert.match((e as Error).message, /^jpeg: /);
  }
});

test.run();
