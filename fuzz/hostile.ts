// The hostile files of issue 9 ("Hostile files, bombs and failing runs"), one builder each, and
// what a reader must do with each: a clear error (matching `expect`), or the right result. The
// files are written to test/fixtures/fuzz/hostile/ by `npm run fuzz -- --make-fixtures` and
// committed (the bombs are periodic, so git stores them in a few KB each); test/limits.test.ts
// runs every one of them in a worker with time and memory limits.
import { createDeflateRaw, createGzip, crc32 as zlibCrc32, constants as zlib } from 'node:zlib';
import {
  Pickle, f32, idxFile, latin1, makeZipArchive, npyWithHeader, safetensorsWithHeader, stateDictPickle, torchLegacy,
  torchZip, type TensorSpec, type ZipEntrySpec,
} from './craft.js';

export interface HostileFile {
  /** Path under test/fixtures/fuzz/hostile/. */
  file: string;
  /** The fuzz target that reads it (./targets.ts), or 'mnist-dir' for a data folder. */
  target: string;
  /** What the issue reported. */
  issue: string;
  build(): Promise<Uint8Array> | Uint8Array;
  /** The error the reader must throw; null when it must read the file. */
  expect: RegExp | null;
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * `prefix`, then `count` copies of `byte`, then `suffix`, deflated as a stream (never held
 * inflated), with the inflated size and CRC-32 a ZIP directory needs.
 */
async function deflateRun(prefix: Uint8Array, byte: number, count: number, suffix: Uint8Array,
  gzip = false): Promise<{ bytes: Uint8Array; size: number; crc: number }> {
  const z = gzip ? createGzip({ level: 9 }) : createDeflateRaw({ level: 9, strategy: zlib.Z_RLE });
  const out: Uint8Array[] = [];
  z.on('data', (c: Uint8Array) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => z.on('end', resolve).on('error', reject));
  let crc = zlibCrc32(prefix);
  const write = async (b: Uint8Array): Promise<void> => {
    if (!z.write(b)) await new Promise((r) => z.once('drain', r));
  };
  await write(prefix);
  const chunk = new Uint8Array(16 * MiB).fill(byte);
  for (let left = count; left > 0; left -= chunk.length) {
    const c = left >= chunk.length ? chunk : chunk.subarray(0, left);
    crc = zlibCrc32(c, crc);
    await write(c);
  }
  crc = zlibCrc32(suffix, crc);
  await write(suffix);
  z.end();
  await ended;
  const total = out.reduce((s, c) => s + c.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of out) {
    bytes.set(c, at);
    at += c.length;
  }
  return { bytes, size: prefix.length + count + suffix.length, crc: crc >>> 0 };
}

/** A float tensor of `size` over storage `key` of `numel` elements. */
const tensor = (key: string, numel: number, size: number[], extra: Partial<TensorSpec> = {}): TensorSpec =>
  ({ key, numel, size, ...extra });

/** A zip checkpoint: data.pkl and the storages given as entries (pre-deflated ones for bombs). */
function torchZipWith(pkl: ZipEntrySpec, storages: readonly ZipEntrySpec[]): Uint8Array {
  return makeZipArchive([pkl, ...storages.map((s) => ({ ...s, name: `archive/data/${s.name}` })),
    { name: 'archive/version', data: latin1('3\n') }]);
}

/** A zip checkpoint whose data.pkl is `count` copies of one opcode, deflated (~1,000:1). */
async function opcodeFlood(op: number, count: number): Promise<Uint8Array> {
  const pkl = await deflateRun(Uint8Array.of(0x80, 2), op, count, Uint8Array.of(0x2e));
  return torchZipWith({ name: 'archive/data.pkl', data: new Uint8Array(0), deflated: pkl }, []);
}

/** A one-element tensor over a deflated storage of `bytes` zero bytes. */
async function zipBomb(bytes: number): Promise<Uint8Array> {
  const storage = await deflateRun(new Uint8Array(0), 0, bytes, new Uint8Array(0));
  const pkl = stateDictPickle([['w', tensor('0', bytes / 4, [1])]]);
  return torchZipWith({ name: 'archive/data.pkl', data: pkl }, [{ name: '0', data: new Uint8Array(0), deflated: storage }]);
}

/** A legacy checkpoint whose one tensor sits on a storage view (view_key, offset, size). */
function legacyView(offset: number, size: number): Uint8Array {
  const pkl = stateDictPickle([['w', tensor('root', 4, [2], { view: ['v', offset, size] })]], true);
  return torchLegacy(pkl, [{ key: 'root', count: 4, data: f32([1, 2, 3, 4]) }]);
}

/** A gzipped IDX file: `header` dims, then `zeros` zero bytes. */
async function gzIdx(dims: number[] | null, zeros: number): Promise<Uint8Array> {
  const head = dims ? idxFile(dims, new Uint8Array(0)) : new Uint8Array(0);
  return (await deflateRun(head, 0, zeros, new Uint8Array(0), true)).bytes;
}

export const HOSTILE: readonly HostileFile[] = [
  // Bombs and floods.
  {
    file: 'pickle-mark-flood.pt', target: 'torch-zip',
    issue: 'a 510 KiB data.pkl inflating to hundreds of millions of MARK opcodes aborted Node ("invalid size error")',
    build: () => opcodeFlood(0x28, 520_000_000),
    expect: /data\.pkl: it inflates to 495\.9 MiB .* over the maxDecompressedBytes limit of 64 MiB.*maxDecompressedBytes:/,
  },
  {
    file: 'pickle-none-flood.pt', target: 'torch-zip',
    issue: 'a 510 KiB data.pkl inflating to hundreds of millions of NONE opcodes aborted Node',
    build: () => opcodeFlood(0x4e, 520_000_000),
    expect: /data\.pkl: it inflates to 495\.9 MiB .* over the maxDecompressedBytes limit/,
  },
  {
    file: 'zip-bomb-1.1GiB-one-element.pt', target: 'torch-zip',
    issue: 'a ~1 MiB zip entry deflating to 1.1 GiB was fully inflated for a one-element tensor',
    build: () => zipBomb(Math.round(1.1 * GiB / 4) * 4),
    expect: /entry archive\/data\/0: it inflates to 1\.1 GiB .* over the maxDecompressedBytes limit of 64 MiB/,
  },
  {
    file: 'zip-bomb-3.6GiB-one-element.pt', target: 'torch-zip',
    issue: 'a 3.5 MiB zip entry deflating to 3.6 GiB was fully inflated for a one-element tensor',
    build: () => zipBomb(Math.round(3.6 * GiB / 4) * 4),
    expect: /entry archive\/data\/0: it inflates to 3\.6 GiB .* over the maxDecompressedBytes limit of 64 MiB/,
  },
  {
    file: 'legacy-64-zero-stride-views.pt', target: 'torch-legacy',
    issue: 'a 1.5 KB legacy checkpoint of 64 zero-stride views of one float came back as 4 GiB of tensors',
    build: () => {
      const views: [string, TensorSpec][] = [];
      for (let i = 0; i < 64; i++) views.push([`v${i}`, tensor('0', 1, [2 ** 24], { stride: [0] })]);
      return torchLegacy(stateDictPickle(views, true), [{ key: '0', count: 1, data: f32([1]) }]);
    },
    expect: /64 tensors would hold 4 GiB .* view only 4 bytes .* over the maxViewExpansion limit of 4/,
  },
  {
    file: 'zip-8MiB-storage-2000-views.pt', target: 'torch-zip',
    issue: 'one 8 MiB storage referenced 2,000 times needed 16 GiB',
    build: async () => {
      const n = 2 * MiB; // float32 elements: 8 MiB
      const views: [string, TensorSpec][] = [];
      for (let i = 0; i < 2000; i++) views.push([`t${i}`, tensor('0', n, [n])]);
      const storage = await deflateRun(new Uint8Array(0), 0, 4 * n, new Uint8Array(0));
      return torchZipWith({ name: 'archive/data.pkl', data: stateDictPickle(views) },
        [{ name: '0', data: new Uint8Array(0), deflated: storage }]);
    },
    expect: /2000 tensors would hold 15\.6 GiB .* view only 8 MiB .* over the maxViewExpansion limit of 4/,
  },
  {
    file: 'mnist-gz-bomb/train-images-idx3-ubyte.gz', target: 'mnist-dir',
    issue: 'a 2 MiB .gz in an mnist:<dir> folder was gunzipped without limit',
    build: () => gzIdx(null, 2 * GiB),
    expect: /not an IDX file|element type 0x00/,
  },
  {
    file: 'mnist-gz-bomb-header/train-images-idx3-ubyte.gz', target: 'mnist-dir',
    issue: 'the same, with an IDX header that claims 2.2 GB of images',
    build: () => gzIdx([2_800_000, 28, 28], 256 * MiB),
    expect: /header says it holds 2 GiB .* over the maxDecompressedBytes limit of 256 MiB/,
  },
  {
    file: 'mnist-gz-bomb-long/train-images-idx3-ubyte.gz', target: 'mnist-dir',
    issue: 'the same, with an honest MNIST header and 256 MiB of data after it',
    build: () => gzIdx([60_000, 28, 28], 256 * MiB),
    expect: /inflates to more than the 47040016 bytes its header describes/,
  },
  // Object-prototype names taken as types.
  ...['__proto__', 'constructor', 'toString'].map((name): HostileFile => ({
    file: `npy-descr-${name}.npy`, target: 'npy',
    issue: `an npy descr of ${name} gave an internal error`,
    build: () => npyWithHeader(`{'descr': '${name}', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8)),
    expect: new RegExp(`dtype '${name}' is not supported`),
  })),
  {
    file: 'npy-header-proto-key.npy', target: 'npy',
    issue: "a '__proto__' key in an npy header could supply the descr through the prototype",
    build: () => npyWithHeader("{'__proto__': {'descr': '<f4'}, 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)),
    expect: /the header has no 'descr' key/,
  },
  {
    file: 'torch-storage-type-constructor.pt', target: 'torch-zip',
    issue: 'a torch storage type renamed `torch\\nconstructor` gave an internal error',
    build: () => torchZip(stateDictPickle([['w', tensor('0', 1, [1], { storage: 'constructor' })]]),
      [{ name: '0', data: f32([1]) }]),
    expect: /storage type torch\.constructor is not supported/,
  },
  ...['constructor', '__proto__', 'toString'].map((name): HostileFile => ({
    file: `safetensors-dtype-${name}.safetensors`, target: 'safetensors',
    issue: `a safetensors dtype ${name} gave an internal error`,
    build: () => safetensorsWithHeader(`{"w":{"dtype":"${name}","shape":[1],"data_offsets":[0,4]}}`, f32([1])),
    expect: new RegExp(`dtype "${name}" is not supported`),
  })),
  // The stack.
  {
    file: 'pickle-reduce-300000-args.pt', target: 'torch-zip',
    issue: 'a REDUCE with 300,000 arguments overflowed the stack',
    build: () => {
      const p = new Pickle().proto().global('collections', 'OrderedDict').mark();
      for (let i = 0; i < 300_000; i++) p.none();
      return torchZip(p.tuple().reduce().stop().bytes(), []);
    },
    expect: /a call with 300000 arguments, over the maxPickleCallArgs limit of 1024/,
  },
  // Legacy storage views.
  {
    file: 'legacy-view-offset-1.5.pt', target: 'torch-legacy',
    issue: 'a legacy storage view at offset 1.5 returned garbage (PyTorch refuses it)',
    build: () => legacyView(1.5, 2),
    expect: /storage view "v" of storage "root": offset 1\.5 is not a non-negative integer/,
  },
  {
    file: 'legacy-view-size-nan.pt', target: 'torch-legacy',
    issue: 'a legacy storage view of size NaN was accepted',
    build: () => legacyView(0, NaN),
    expect: /size not a number \(nan\) is not a non-negative integer/,
  },
  {
    file: 'legacy-view-size-2.5.pt', target: 'torch-legacy',
    issue: 'a legacy storage view of size 2.5 was accepted',
    build: () => legacyView(0, 2.5),
    expect: /size 2\.5 is not a non-negative integer/,
  },
  {
    file: 'legacy-view-offset-minus-2.pt', target: 'torch-legacy',
    issue: 'a legacy storage view at offset -2 gave an internal error',
    build: () => legacyView(-2, 2),
    expect: /offset -2 is not a non-negative integer/,
  },
  {
    file: 'legacy-view-past-end.pt', target: 'torch-legacy',
    issue: 'a legacy storage view must lie inside its storage',
    build: () => legacyView(3, 2),
    expect: /elements \[3, 5\) lie outside the storage's 4 elements/,
  },
  {
    file: 'legacy-view-valid.pt', target: 'torch-legacy',
    issue: 'a valid legacy storage view reads its elements (the right result)',
    build: () => legacyView(1, 3),
    expect: null,
  },
  // Messages.
  {
    file: 'safetensors-no-data-offsets.safetensors', target: 'safetensors',
    issue: 'the error said "data_offsets undefined is not a pair"',
    build: () => safetensorsWithHeader('{"w":{"dtype":"F32","shape":[1]}}', f32([1])),
    expect: /tensor 'w': the header entry has no 'data_offsets'/,
  },
  {
    file: 'npy-no-fortran-order.npy', target: 'npy',
    issue: 'the error said "fortran_order undefined"',
    build: () => npyWithHeader("{'descr': '<f4', 'shape': (1,), }", new Uint8Array(4)),
    expect: /the header has no 'fortran_order' key/,
  },
  {
    file: 'npy-header-76000.npy', target: 'npy',
    issue: 'the npy header error quoted a header of 76,000 characters',
    build: () => npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'pad': '${'x'.repeat(76_000)}`, new Uint8Array(4), 2),
    expect: /the header is 760\d\d bytes, over the maxHeaderBytes limit of 9\.8 KiB/,
  },
];
