// The ZIP reader's DEFLATE decoder and CRC-32 (src/io/inflate.ts) against Node's zlib, on every
// block type zlib produces, and their errors.
import { deflateRawSync, constants } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crc32, inflateRaw } from '../src/io/inflate.js';
import { ZipArchive } from '../src/io/zip.js';
import { assertThrows, makeZip, rng } from './helpers/io.js';

function samples(): [string, Uint8Array][] {
  const r = rng(7);
  const random = Uint8Array.from({ length: 5000 }, () => Math.floor(r() * 256));
  const floats = new Uint8Array(Float32Array.from({ length: 3000 }, () => Math.round(r() * 50) / 8).buffer);
  const text = new TextEncoder().encode('stage0.rbr_dense.conv.weight stage1.0.rbr_1x1.bn.running_var '.repeat(300));
  const big = new Uint8Array(200_000).map((_, i) => (i * 31 + (i >> 9)) & 0xff); // > 65535: several stored blocks
  return [['empty', new Uint8Array(0)], ['one byte', Uint8Array.of(42)], ['random', random], ['floats', floats],
    ['text', text], ['zeros', new Uint8Array(100_000)], ['big', big]];
}

const SETTINGS = [
  ['stored (level 0)', { level: 0 }],
  ['fixed Huffman', { strategy: constants.Z_FIXED }],
  ['dynamic Huffman (default)', {}],
  ['Huffman only', { strategy: constants.Z_HUFFMAN_ONLY }],
  ['RLE', { strategy: constants.Z_RLE }],
  ['level 9, small window', { level: 9, windowBits: 9 }],
] as const;

test('inflateRaw reproduces zlib output for every block type', () => {
  for (const [name, data] of samples()) {
    for (const [how, opts] of SETTINGS) {
      const packed = new Uint8Array(deflateRawSync(data, opts));
      const out = inflateRaw(packed, data.length, `${name}/${how}`);
      assert.ok(out.length === data.length && out.every((v, i) => v === data[i]), `${name}, ${how}`);
    }
  }
});

test('crc32 matches the standard check value and zip fixtures', () => {
  assert.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.is(crc32(new Uint8Array(0)), 0);
});

test('inflateRaw errors: truncated, wrong size, invalid block type, bad distance', () => {
  const data = new TextEncoder().encode('hello hello hello hello hello, deflate '.repeat(20));
  const packed = new Uint8Array(deflateRawSync(data));
  assertThrows(() => inflateRaw(packed.subarray(0, packed.length >> 1), data.length, 'x'), /x: corrupt deflate data \(stream ends early: truncated\)/, 'truncated');
  assertThrows(() => inflateRaw(packed, data.length - 1, 'x'), /inflates to more than the \d+ bytes/, 'too long');
  assertThrows(() => inflateRaw(packed, data.length + 1, 'x'), /inflates to \d+ bytes, the archive directory says \d+/, 'too short');
  assertThrows(() => inflateRaw(Uint8Array.of(0x07), 10, 'x'), /invalid block type 3/, 'block type 3');
  // Fixed block: literal-free copy with distance 1 at output position 0.
  assertThrows(() => inflateRaw(Uint8Array.of(0x03, 0x02, 0x00), 10, 'x'), /distance|invalid/, 'distance before start');
  assertThrows(() => inflateRaw(Uint8Array.of(0x01, 0x05, 0x00, 0x00, 0x00), 5, 'x'), /stored block length check fails/, 'NLEN');
});

test('ZipArchive: deflated entries, unknown methods, impossible ratios, encrypted entries', () => {
  const content = new TextEncoder().encode('abc'.repeat(1000));
  const zip = makeZip([['a.txt', content]]);
  const arch = new ZipArchive(zip);
  assert.equal(arch.read('a.txt'), content);
  assertThrows(() => arch.read('b.txt'), /no entry named b\.txt/, 'missing');
  const cd = zip.length - 22 - 46 - 5;
  const method = zip.slice();
  new DataView(method.buffer).setUint16(cd + 10, 12, true); // bzip2
  assertThrows(() => new ZipArchive(method).read('a.txt'), /compression method 12 is not supported/, 'bzip2');
  const ratio = zip.slice();
  new DataView(ratio.buffer).setUint16(cd + 10, 8, true);
  new DataView(ratio.buffer).setUint32(cd + 24, 2_000_000_000, true); // claimed uncompressed size
  assertThrows(() => new ZipArchive(ratio).read('a.txt'), /claims 2000000000 bytes from 3000 deflated bytes/, 'ratio');
  const enc = zip.slice();
  new DataView(enc.buffer).setUint16(cd + 8, 1, true);
  assertThrows(() => new ZipArchive(enc).read('a.txt'), /encrypted/, 'encrypted');
  assertThrows(() => new ZipArchive(new Uint8Array(10)), /too short/, 'tiny');
  assertThrows(() => new ZipArchive(new Uint8Array(100)), /not a ZIP archive/, 'zeros');
});

test.run();
