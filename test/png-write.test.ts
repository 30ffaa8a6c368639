// Writing PNGs (src/image/png-write.ts): the signature and chunks with their CRCs, IHDR's size, and
// pixels that come back exactly through Node's own zlib (an independent inflate), also for images
// whose data spans several stored blocks.
import { inflateSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodePng } from '../src/image/png-write.js';
import { crc32 } from '../src/io/inflate.js';

function chunks(png: Uint8Array): { type: string; data: Uint8Array }[] {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out = [];
  for (let o = 8; o < png.length;) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    const data = png.subarray(o + 8, o + 8 + len);
    assert.is(dv.getUint32(o + 8 + len), crc32(png.subarray(o + 4, o + 8 + len)), `${type} CRC`);
    out.push({ type, data });
    o += 12 + len;
  }
  return out;
}

for (const [w, h] of [[1, 1], [7, 3], [300, 100]]) {
  test(`${w}x${h}: valid chunks, and the pixels back through Node's zlib`, () => {
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + (i >> 5)) & 0xff);
    const png = encodePng(rgb, w, h);
    assert.equal([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const cs = chunks(png);
    assert.equal(cs.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
    const ihdr = new DataView(cs[0].data.buffer, cs[0].data.byteOffset, 13);
    assert.equal([ihdr.getUint32(0), ihdr.getUint32(4), cs[0].data[8], cs[0].data[9]], [w, h, 8, 2]);
    const raw = inflateSync(cs[1].data); // checks the Adler-32 too
    assert.is(raw.length, h * (1 + w * 3));
    for (let y = 0; y < h; y++) {
      assert.is(raw[y * (1 + w * 3)], 0, 'filter 0');
      assert.equal([...raw.subarray(y * (1 + w * 3) + 1, (y + 1) * (1 + w * 3))], [...rgb.subarray(y * w * 3, (y + 1) * w * 3)]);
    }
  });
}

test('sizes and lengths are checked', () => {
  assert.throws(() => encodePng(new Uint8Array(3), 0, 1), /0x1 is not a size/);
  assert.throws(() => encodePng(new Uint8Array(5), 1, 2), /needs 6 bytes, got 5/);
});

test.run();
