// The PNG decoder (src/image/png.ts) against PIL 9.4: every colour type and bit depth, palettes,
// tRNS, 16-bit samples, Adam7 interlacing and every filter type, on files made by the fixture
// script's own encoder (and one by PIL's); the pixels must equal PIL's exactly. Then what a
// broken file gets: a clear error, never a crash or a silently short image.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deflateSync } from 'node:zlib';
import { ReadLimitError } from '../src/io/limits.js';
import { decodePng, isPng } from '../src/image/png.js';
import { pngChunk } from '../src/image/png-write.js';
import { concat as concatBytes } from '../fuzz/craft.js';
import { EXPECTED, imageFile, maxDiff, u16, u8 } from './helpers/images.js';
import { throwsWith } from './helpers/throws.js';

test('every fixture decodes to exactly PIL\'s pixels (16-bit: PIL\'s high byte, and the source\'s 16 bits)', () => {
  const names = Object.keys(EXPECTED.png);
  assert.ok(names.length >= 20, `${names.length} cases`);
  for (const name of names) {
    const e = EXPECTED.png[name];
    const bytes = imageFile(e.file);
    assert.ok(isPng(bytes), name);
    const img = decodePng(bytes);
    assert.is(img.width, e.width, `${name}: width`);
    assert.is(img.height, e.height, `${name}: height`);
    assert.is(img.channels, e.pilChannels, `${name}: channels`);
    const pil = e.pilDepth === 16 ? u16(e.pil) : u8(e.pil);
    const ours = e.pilHighByte ? Uint8Array.from(img.data, (v) => v >> 8) : img.data;
    const d = maxDiff(ours, pil);
    assert.is(d.count, 0, `${name} (PIL mode ${e.pilMode}): ${d.count} samples differ from PIL, by up to ${d.max}`);
    if (e.source16) {
      assert.is(img.bitDepth, 16, `${name}: 16-bit samples kept`);
      const src = u16(e.source16);
      // The source holds the stored samples; ours may add an alpha channel (never for these cases).
      assert.equal(maxDiff(img.data, src).count, 0, `${name}: the 16-bit samples as encoded`);
    }
  }
});

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

const SIG = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
function ihdr(w: number, h: number, depth = 8, type = 2, interlace = 0): Uint8Array {
  const d = new Uint8Array(13);
  const dv = new DataView(d.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  d.set([depth, type, 0, 0, interlace], 8);
  return pngChunk('IHDR', d);
}

test('broken files: each a clear error naming what is wrong', () => {
  const good = imageFile(EXPECTED.png.rgb8.file);
  const err = (b: Uint8Array, re: RegExp, what: string) => throwsWith(() => decodePng(b), [re], Error, what);
  err(good.subarray(0, 5), /not a PNG file/, 'short');
  for (const cut of [20, 60, good.length - 30, good.length - 5]) err(good.subarray(0, cut), /truncated/, `cut at ${cut}`);
  const flipped = good.slice();
  flipped[40] ^= 1;
  err(flipped, /fails its CRC check/, 'a flipped bit');
  err(concat(SIG, pngChunk('IEND', new Uint8Array(0))), /first chunk is IEND, not IHDR/, 'no IHDR');
  err(concat(SIG, ihdr(4, 4, 3, 2)), /bit depth 3 is not allowed for RGB images/, 'bad depth');
  err(concat(SIG, ihdr(4, 4, 8, 5)), /colour type 5 does not exist/, 'bad type');
  err(concat(SIG, ihdr(0, 4)), /0x4: it has no pixels/, 'empty');
  err(concat(SIG, ihdr(70000, 4)), /larger than 65535/, 'too wide');
  err(concat(SIG, ihdr(4, 4, 8, 3), pngChunk('IDAT', new Uint8Array(8)), pngChunk('IEND', new Uint8Array(0))), /without a PLTE/, 'palette');
  err(concat(SIG, ihdr(4, 4), pngChunk('IEND', new Uint8Array(0))), /no image data/, 'no IDAT');
  err(concat(SIG, ihdr(4, 4), pngChunk('ABCD', new Uint8Array(1)), pngChunk('IEND', new Uint8Array(0))), /unknown critical chunk ABCD/, 'critical');
  // A small file claiming a big image is refused before anything is allocated.
  err(concat(SIG, ihdr(60000, 60000), pngChunk('IDAT', new Uint8Array(100)), pngChunk('IEND', new Uint8Array(0))),
    /maxImagePixels/, 'pixel limit');
  err(concat(SIG, ihdr(9000, 9000), pngChunk('IDAT', new Uint8Array(100)), pngChunk('IEND', new Uint8Array(0))),
    /100 bytes of compressed data cannot hold a 9000x9000 image/, 'compressed size bound');
  throwsWith(() => decodePng(good, { maxImagePixels: 100 }), [/png: the image is 13x11 \(143 pixels\), over the maxImagePixels limit of 100/], ReadLimitError);
  // A bad filter byte, a bad palette index, short data and a wrong checksum, in otherwise valid
  // files (deflated by Node's zlib).
  const idat = (raw: number[]) => pngChunk('IDAT', new Uint8Array(deflateSync(Uint8Array.from(raw))));
  const end = pngChunk('IEND', new Uint8Array(0));
  const gray = (raw: number[]) => concat(SIG, ihdr(2, 2, 8, 0), idat(raw), end);
  assert.equal([...decodePng(gray([0, 1, 2, 2, 3, 4])).data], [1, 2, 4, 6], 'filter 2 (up) adds the row above');
  err(gray([0, 1, 2, 7, 3, 4]), /row 1 has filter type 7 \(0 to 4 exist\)/, 'filter type');
  err(gray([0, 1, 2, 0, 3]), /inflates to 5 bytes, the image size says 6/, 'short data');
  err(gray([0, 1, 2, 0, 3, 4, 5]), /inflates to more than the 6 bytes the image size says/, 'long data');
  const z = new Uint8Array(deflateSync(Uint8Array.of(0, 1, 2, 0, 3, 4)));
  z[z.length - 1] ^= 1;
  err(concat(SIG, ihdr(2, 2, 8, 0), pngChunk('IDAT', z), end), /Adler-32 checksum mismatch/, 'checksum');
  const plte = pngChunk('PLTE', Uint8Array.of(1, 2, 3, 4, 5, 6));
  err(concat(SIG, ihdr(2, 1, 8, 3), plte, idat([0, 1, 2]), end), /pixel \(1, 0\) has palette index 2, but the palette has 2 entries/, 'index');
  err(concat(SIG, ihdr(2, 1, 8, 3), plte, pngChunk('tRNS', Uint8Array.of(1, 2, 3)), idat([0, 1, 0]), end),
    /tRNS has 3 alphas for a palette of 2 entries/, 'tRNS');
  const interlacedGray = concat(SIG, ihdr(1, 1, 8, 0, 1), idat([0, 9]), end);
  assert.equal([...decodePng(interlacedGray).data], [9], 'a 1x1 Adam7 image has only pass 1');
});

test.run();
