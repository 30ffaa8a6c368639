// Writes the fuzz seeds (test/fixtures/fuzz/seeds/) and the hostile files of issue 9
// (test/fixtures/fuzz/hostile/, see ./hostile.ts). Run by `npm run fuzz -- --make-fixtures`;
// the output is deterministic (zlib at level 9, no timestamps), and committed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { writeSafetensors } from '../src/io/index.js';
import { describeModel, metadataEntries } from '../src/models/metadata.js';
import { f32, idxFile, stateDictPickle, torchLegacy, torchZip, type TensorSpec } from './craft.js';
import { HOSTILE } from './hostile.js';
import { ROOT } from './targets.js';

const FUZZ_FIXTURES = new URL('test/fixtures/fuzz/', ROOT);

function write(rel: string, bytes: Uint8Array, log: (s: string) => void): void {
  const path = fileURLToPath(new URL(rel, FUZZ_FIXTURES));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  log(`${rel}: ${bytes.length} bytes`);
}

const i64 = (values: bigint[]): Uint8Array => new Uint8Array(BigInt64Array.from(values).buffer);
const f16 = (bits: number[]): Uint8Array => new Uint8Array(Uint16Array.from(bits).buffer);

/** Seeds that reach what the PyTorch-written fixtures do not: views of every kind, a deflated
 * storage, legacy storage views, and the data formats. */
function seeds(): [string, Uint8Array][] {
  const t = (key: string, numel: number, size: number[], extra: Partial<TensorSpec> = {}): TensorSpec => ({ key, numel, size, ...extra });
  const views = torchZip(stateDictPickle([
    ['a.weight', t('0', 12, [3, 4])],
    ['a.weight_t', t('0', 12, [4, 3], { stride: [1, 4] })], // transposed view
    ['tied', t('0', 12, [3, 4])], // tied weights: the same storage again
    ['slice', t('0', 12, [4], { offset: 4 })],
    ['expanded', t('1', 1, [5], { stride: [0] })],
    ['half', t('2', 3, [3], { storage: 'HalfStorage' })],
    ['count', t('3', 1, [], { storage: 'LongStorage' })],
    ['bytes', t('4', 6, [2, 3], { storage: 'ByteStorage' })],
    ['empty', t('0', 12, [0, 4])],
  ]), [
    { name: '0', data: f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), deflate: true },
    { name: '1', data: f32([7]) },
    { name: '2', data: f16([0x3c00, 0xc000, 0x7bff]) },
    { name: '3', data: i64([42n]) },
    { name: '4', data: Uint8Array.of(1, 2, 3, 250, 251, 252) },
  ]);
  const legacy = torchLegacy(stateDictPickle([
    ['first', t('r', 10, [2, 2], { view: ['v1', 0, 4] })],
    ['second', t('r', 10, [6], { view: ['v2', 4, 6] })],
    ['again', t('r', 10, [3], { view: ['v1', 0, 4], offset: 1 })], // a view key seen before
    ['root', t('r', 10, [10])],
  ], true), [{ key: 'r', count: 10, data: f32([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]) }]);
  const safetensors = writeSafetensors({
    'conv.weight': { shape: [2, 1, 2, 2], data: Float32Array.from({ length: 8 }, (_, i) => i / 8) },
    'bn.num_batches_tracked': { shape: [], data: BigInt64Array.of(3n) },
    labels: { shape: [4], data: Int32Array.of(0, 1, 2, 3) },
  }, { format: 'pt' });
  const cifar = new Uint8Array(3 * 3073);
  for (let i = 0; i < cifar.length; i++) cifar[i] = (i * 7 + 3) & 0xff;
  for (let r = 0; r < 3; r++) cifar[r * 3073] = r * 4;
  const images = idxFile([3, 4, 4], Uint8Array.from({ length: 48 }, (_, i) => i * 5));
  const labels = idxFile([3], Uint8Array.of(1, 7, 9));
  // A deploy file with the model metadata of models/metadata.ts (a tiny stand-in state dict: the
  // target reads the header and the metadata, not the model).
  const model = writeSafetensors({
    'stage0.rbr_reparam.weight': { shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => i / 18) },
    'linear.weight': { shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
  }, metadataEntries(describeModel({ numBlocks: [1, 2, 1, 1], widthMultiplier: [0.5, 0.5, 0.5, 1], overrideGroupsMap: { 2: 2 }, numClasses: 3, inChannels: 1 }, {
    inputSize: [32, 32], classNames: ['cat', 'dog', 'emu'], preprocessing: { resize: 36, crop: [32, 32], mean: [0.5], std: [0.25] },
  })));
  return [
    ['seeds/model.safetensors', model],
    ['seeds/torch_views.pt', views],
    ['seeds/legacy_views.pt', legacy],
    ['seeds/aliased.safetensors', safetensors],
    ['seeds/cifar_batch.bin', cifar],
    ['seeds/images-idx3-ubyte', images],
    ['seeds/labels-idx1-ubyte', labels],
    ['seeds/images-idx3-ubyte.gz', new Uint8Array(gzipSync(images, { level: 9 }))],
  ];
}

export async function makeFixtures(log: (s: string) => void): Promise<void> {
  for (const [rel, bytes] of seeds()) write(rel, bytes, log);
  for (const h of HOSTILE) write(`hostile/${h.file}`, await h.build(), log);
}
