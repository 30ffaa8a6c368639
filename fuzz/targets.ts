// The readers under test and their seed files. Each target runs one reader on bytes and returns
// the bytes of what the reader returned, so that the runner can tell an honest result from one
// that allocates without limit.
import { readFileSync } from 'node:fs';
import { gunzipBounded } from '../src/data/files.js';
import { cifar10FromBatches } from '../src/data/sources.js';
import { idxSizeFromHeader, parseIdx } from '../src/data/formats.js';
import { readNpy, readSafetensors, readTensorFile, readTorch, type FileTensor } from '../src/io/index.js';
import { readPdparams } from '../src/io/pdparams.js';
import { decodeJpeg } from '../src/image/jpeg.js';
import { decodePng } from '../src/image/png.js';
import { fromPaddle } from '../src/models/paddle.js';
import { readModelMetadata } from '../src/models/metadata.js';
import type { SeedKind } from './mutate.js';

export interface Target {
  name: string;
  kind: SeedKind;
  /** Seed files, relative to the repository root. */
  seeds: readonly string[];
  /** Runs the reader; resolves to the bytes it returned. */
  run(bytes: Uint8Array): number | Promise<number>;
}

const IO = 'test/fixtures/io/';
const SEEDS = 'test/fixtures/fuzz/seeds/';
const IMAGES = 'test/fixtures/images/';

function tensorBytes(tensors: Iterable<FileTensor>): number {
  let n = 0;
  for (const t of tensors) n += t.data.byteLength;
  return n;
}

const TORCH_ZIP = ['torch_sd.pt', 'torch_wrapped.pt', 'torch_module.pt', 'torch_ema.pt', 'torch_model.pt',
  'torch_zip64.pt', 'torch_deflate.pt'].map((f) => IO + f);

export const TARGETS: readonly Target[] = [
  {
    name: 'torch-zip', kind: 'zip', seeds: [...TORCH_ZIP, `${SEEDS}torch_views.pt`],
    run: (b) => tensorBytes(readTorch(b).tensors.values()),
  },
  {
    // CRCs off: blind edits of the archive reach the unpickler and the storages.
    name: 'torch-zip-nocrc', kind: 'binary', seeds: TORCH_ZIP,
    run: (b) => tensorBytes(readTorch(b, { verifyCrc: false }).tensors.values()),
  },
  {
    name: 'torch-legacy', kind: 'pickle', seeds: [`${IO}torch_legacy.pt`, `${SEEDS}legacy_views.pt`],
    run: (b) => tensorBytes(readTorch(b).tensors.values()),
  },
  {
    name: 'safetensors', kind: 'text-header', seeds: [`${IO}tiny.safetensors`, `${SEEDS}aliased.safetensors`],
    run: (b) => tensorBytes(readSafetensors(b).tensors.values()),
  },
  {
    // The model metadata of a deploy file (models/metadata.ts), through the safetensors header.
    name: 'model-metadata', kind: 'text-header', seeds: [`${SEEDS}model.safetensors`],
    run: (b) => {
      const st = readSafetensors(b);
      const m = readModelMetadata(st.metadata);
      return tensorBytes(st.tensors.values()) + (m ? JSON.stringify(m).length : 0);
    },
  },
  {
    name: 'npy', kind: 'text-header',
    seeds: ['f4.npy', 'f4_v2.npy', 'f4_v3.npy', 'f8.npy', 'i4.npy', 'i8.npy', 'scalar.npy', 'fortran.npy'].map((f) => IO + f),
    run: (b) => readNpy(b).data.byteLength,
  },
  {
    name: 'any-tensor-file', kind: 'binary',
    seeds: [`${IO}torch_sd.pt`, `${IO}torch_legacy.pt`, `${IO}tiny.safetensors`, `${IO}f4.npy`],
    run: (b) => tensorBytes(readTensorFile(b).tensors.values()),
  },
  {
    name: 'pdparams', kind: 'pickle', seeds: [`${SEEDS}tiny_p2.pdparams`, `${SEEDS}tiny_p4.pdparams`],
    run: (b) => fromPaddle(readPdparams(b).tensors).size,
  },
  {
    name: 'png', kind: 'png',
    seeds: ['rgb8_adam7_odd', 'pal8_trns', 'gray16', 'gray2', 'rgba8', 'ga16', 'gray8_trns', 'pal1'].map((f) => `${IMAGES}${f}.png`),
    run: (b) => decodePng(b).data.byteLength,
  },
  {
    name: 'jpeg', kind: 'binary',
    seeds: ['baseline_420', 'progressive_420', 'restart_420', 'restart_progressive', 'cmyk', 'sample_411', 'sample_440', 'gray',
      'progressive_gray'].map((f) => `${IMAGES}${f}.jpg`),
    run: (b) => decodeJpeg(b).data.byteLength,
  },
  {
    name: 'cifar', kind: 'binary', seeds: [`${SEEDS}cifar_batch.bin`],
    run: (b) => {
      const s = cifar10FromBatches([{ name: 'data_batch_1.bin', bytes: b }], [{ name: 'test_batch.bin', bytes: b }]);
      return s.train.pixels.byteLength + s.test.pixels.byteLength;
    },
  },
  {
    name: 'idx', kind: 'binary', seeds: [`${SEEDS}images-idx3-ubyte`, `${SEEDS}labels-idx1-ubyte`],
    run: (b) => parseIdx(b, 'file').data.byteLength,
  },
  {
    name: 'gzip', kind: 'binary', seeds: [`${SEEDS}images-idx3-ubyte.gz`],
    run: async (b) => {
      const raw = await gunzipBounded(b, 'file.gz', { sizeFromHeader: (h) => idxSizeFromHeader(h, 'file.gz') });
      return parseIdx(raw, 'file.gz').data.byteLength;
    },
  },
];

/** Targets that misbehave on purpose, one way each: test/fuzz.test.ts checks that the runner
 * tells every failure apart. Never part of a fuzz run. */
export const SELF_TEST_TARGETS: readonly Target[] = [
  { name: 'selftest-ok', kind: 'binary', seeds: [], run: (b) => b.length },
  { name: 'selftest-clean', kind: 'binary', seeds: [], run: () => { throw new Error('selftest: a clean error'); } },
  { name: 'selftest-type-error', kind: 'binary', seeds: [], run: () => { throw new TypeError('x.y is not a function'); } },
  { name: 'selftest-undefined', kind: 'binary', seeds: [], run: () => { throw new Error('selftest: offset undefined is bad'); } },
  { name: 'selftest-crash', kind: 'binary', seeds: [], run: () => process.exit(3) },
  { name: 'selftest-hang', kind: 'binary', seeds: [], run: () => { for (;;); } },
  {
    name: 'selftest-heap', kind: 'binary', seeds: [],
    run: () => {
      const keep: number[][] = [];
      for (;;) keep.push(new Array<number>(100_000).fill(1.5));
    },
  },
  {
    name: 'selftest-buffers', kind: 'binary', seeds: [],
    run: () => new Uint8Array(96 * 2 ** 20).fill(1).length, // 96 MiB of ArrayBuffer, outside the heap
  },
  {
    name: 'selftest-slow', kind: 'binary', seeds: [],
    run: () => {
      const end = Date.now() + 300;
      while (Date.now() < end); // busy, as a slow reader would be
      return 0;
    },
  },
];

export function targetByName(name: string): Target {
  const t = TARGETS.find((x) => x.name === name) ?? SELF_TEST_TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target ${name} (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}

/** The repository root (this file runs from dist/fuzz/). */
export const ROOT = new URL('../../', import.meta.url);

const seedCache = new Map<string, Uint8Array>();
export function seedBytes(path: string): Uint8Array {
  let b = seedCache.get(path);
  if (!b) {
    const buf = readFileSync(new URL(path, ROOT));
    b = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    seedCache.set(path, b);
  }
  return b;
}
