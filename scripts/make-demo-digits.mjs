// The digits the browser demo trains on: the first TRAIN training and TEST test images of the
// `mnist` source (the `mnist` dev dependency's digits, in the library's fixed order, padded to
// 32x32), written to dist/demo/digits.bin. They are the very images `loadSource('mnist')` gives
// in Node, so a run in the page can be compared with the same run in Node bit for bit.
// Run by `npm run build` (after build:ts); generated, never committed (5 MB).
//
// File layout (little-endian):
//   0   'RVDG'                    magic
//   4   u32 version (1)
//   8   u32 nTrain, u32 nTest, u32 height, u32 width
//   24  u8 labels[nTrain], u8 labels[nTest]
//   ..  u8 pixels[nTrain][height][width], u8 pixels[nTest][height][width]   (0..255, white digit)
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TRAIN = 4000;
const TEST = 1000;
const root = new URL('../', import.meta.url);
const out = new URL('dist/demo/digits.bin', root);

const { loadSource } = await import(new URL('dist/src/index.js', root).href);
let data;
try {
  data = await loadSource('mnist', { limit: TRAIN, testLimit: TEST });
} catch (e) {
  // Not fatal to the build: only the demo page needs the digits.
  console.warn(`make-demo-digits: ${e.message}; the browser demo's training panel will have no data`);
  process.exit(0);
}
const { train, test } = data;
if (train.c !== 1 || train.h !== test.h || train.w !== test.w || !(train.pixels instanceof Uint8Array)) {
  throw new Error('make-demo-digits: expected 1-channel uint8 digits');
}
const header = 24;
const bytes = new Uint8Array(header + train.n + test.n + (train.n + test.n) * train.h * train.w);
const dv = new DataView(bytes.buffer);
bytes.set([0x52, 0x56, 0x44, 0x47]);
[1, train.n, test.n, train.h, train.w].forEach((v, i) => dv.setUint32(4 + 4 * i, v, true));
let at = header;
for (const labels of [train.labels, test.labels]) {
  for (const l of labels) bytes[at++] = l;
}
bytes.set(train.pixels, at);
bytes.set(test.pixels, at + train.pixels.length);
mkdirSync(new URL('.', out), { recursive: true });
writeFileSync(out, bytes);
console.log(`make-demo-digits: ${fileURLToPath(out)} (${train.n} training + ${test.n} test digits, ${(bytes.length / 2 ** 20).toFixed(1)} MiB)`);
