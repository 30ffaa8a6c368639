// The demo's digits (dist/demo/digits.bin, written by scripts/make-demo-digits.mjs) as the
// library's datasets: the same images, labels, normalization and augmentation as
// loadSource('mnist') gives in Node, so a run here and a run there see identical batches.
// Used by the worker and by the Node side of the browser test.

const MAGIC = 0x47445652; // 'RVDG' read as a little-endian u32

/**
 * { train, test } ImageDatasets from the file's bytes, the first `limit` training images kept
 * (all when omitted). `lib` is the library's module (index.js).
 */
export function digitsFromBytes(lib, bytes, limit) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24 || dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== 1) {
    throw new Error('digits.bin: not a digits file of version 1 (rebuild it: npm run build)');
  }
  const [nTrain, nTest, h, w] = [8, 12, 16, 20].map((o) => dv.getUint32(o, true));
  const size = h * w;
  if (bytes.length !== 24 + (nTrain + nTest) * (1 + size)) throw new Error(`digits.bin: ${bytes.length} bytes, expected ${24 + (nTrain + nTest) * (1 + size)}`);
  const labels = Int32Array.from(bytes.subarray(24, 24 + nTrain + nTest));
  const pixels = bytes.subarray(24 + nTrain + nTest);
  const n = Math.min(nTrain, limit ?? nTrain);
  const common = {
    classes: 10, mean: lib.MNIST_MEAN, std: lib.MNIST_STD, augment: lib.MNIST_AUGMENT,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
  return {
    available: nTrain,
    train: lib.createDataset({ name: 'mnist:train', shape: [n, 1, h, w], pixels: pixels.slice(0, n * size), labels: labels.slice(0, n), ...common }),
    test: lib.createDataset({ name: 'mnist:test', shape: [nTest, 1, h, w], pixels: pixels.slice(nTrain * size), labels: labels.slice(nTrain), ...common }),
  };
}
