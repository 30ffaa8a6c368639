// Image files in (src/image/decode.ts): the format told from the content, helpful errors for the
// formats we do not read, and toChannels against PIL's convert('L') / convert('RGB').
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeImage, detectImageFormat, toChannels } from '../src/image/decode.js';
import { EXPECTED, imageFile, maxDiff, u8 } from './helpers/images.js';
import { throwsWith } from './helpers/throws.js';

test('PNG and JPEG are told from their bytes, whatever the name', () => {
  assert.is(detectImageFormat(imageFile('rgb8.png')), 'png');
  assert.is(detectImageFormat(imageFile('gray.jpg')), 'jpeg');
  assert.is(detectImageFormat(new Uint8Array(3)), null);
  assert.is(decodeImage(imageFile('gray.jpg')).channels, 1);
  const ascii = (s: string) => new TextEncoder().encode(s);
  throwsWith(() => decodeImage(ascii('GIF89a......')), [/not a PNG or JPEG file \(it looks like GIF, which is not supported: convert it to PNG\)/]);
  throwsWith(() => decodeImage(ascii('RIFF....WEBPVP8 ')), [/looks like WebP/]);
  throwsWith(() => decodeImage(ascii('BM......')), [/looks like BMP/]);
  throwsWith(() => decodeImage(new Uint8Array(0)), [/the file is empty/]);
  throwsWith(() => decodeImage('x' as unknown as Uint8Array), [/Uint8Array/], TypeError);
});

test('toChannels equals PIL\'s convert(\'L\') and convert(\'RGB\'): luma, alpha dropped, 16-bit high byte', () => {
  for (const [name, e] of Object.entries(EXPECTED.convert)) {
    const img = decodeImage(imageFile(e.file));
    const l = maxDiff(toChannels(img, 1), u8(e.L));
    const rgb = maxDiff(toChannels(img, 3), u8(e.RGB));
    assert.is(l.count, 0, `${name} L: ${l.count} differ by up to ${l.max}`);
    assert.is(rgb.count, 0, `${name} RGB: ${rgb.count} differ by up to ${rgb.max}`);
  }
  const img = decodeImage(imageFile('rgb8.png'));
  throwsWith(() => toChannels(img, 2 as 1), [/channels must be 1 or 3, got 2/], RangeError);
  throwsWith(() => toChannels({ ...img, channels: 5 as 3 }, 3), [/channels must be 1, 2, 3 or 4, got 5/], RangeError);
});

test.run();
