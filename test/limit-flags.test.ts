// The reader limits as command-line flags (src/cli/limit-flags.ts): values with suffixes, and
// through the executable a ReadLimitError that names the flag (not only the library's option),
// exits non-zero without a stack trace, and whose advised value makes the same file load -
// for convert and predict (checkpoints, the input batch) and train (gzipped data files).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { idxFile, stateDictPickle, torchZip, type TensorSpec } from '../fuzz/craft.js';
import { createBackend } from '../src/backends/create.js';
import { UsageError } from '../src/cli/args.js';
import { convertSpec } from '../src/cli/convert.js';
import { explainReadLimit, parseLimitValue } from '../src/cli/limit-flags.js';
import { predictSpec } from '../src/cli/predict.js';
import { trainSpec } from '../src/cli/train.js';
import { ReadLimitError } from '../src/io/limits.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { REPVGG_VARIANTS, RepVGG } from '../src/models/repvgg.js';
import { stateDict } from '../src/models/state-dict.js';
import { cli, fails, ok, type CliRun } from './helpers/cli.js';
import { throwsWith } from './helpers/throws.js';

const MiB = 2 ** 20;

test('limit values: sizes in powers of 1024, counts in thousands and millions, ratios as numbers', () => {
  const cases: [string, string, number][] = [
    ['max-tensor-bytes', '64M', 64 * MiB], ['max-tensor-bytes', '2G', 2 * 2 ** 30], ['max-tensor-bytes', '64MiB', 64 * MiB],
    ['max-tensor-bytes', '64mb', 64 * MiB], ['max-tensor-bytes', '1.5K', 1536], ['max-tensor-bytes', '1048576', MiB],
    ['max-decompressed-bytes', '0.5G', 2 ** 29], ['max-decompressed-bytes', '1T', 2 ** 40],
    ['max-pickle-ops', '5M', 5_000_000], ['max-pickle-ops', '2.5K', 2500], ['max-pickle-ops', '300', 300],
    ['max-view-expansion', '2.5', 2.5], ['max-view-expansion', '8', 8],
  ];
  for (const [flag, raw, want] of cases) assert.is(parseLimitValue(raw, flag), want, `--${flag} ${raw}`);
  const bad: [string, string, RegExp][] = [
    ['max-tensor-bytes', '12X', /--max-tensor-bytes expects a size such as 64M, 2G or 1048576, got "12X"/],
    ['max-tensor-bytes', '-1', /expects a size/], ['max-tensor-bytes', '', /expects a size/],
    ['max-tensor-bytes', '1e9', /expects a size/], ['max-tensor-bytes', '99999999999T', /out of range/],
    ['max-pickle-ops', '5MiB', /--max-pickle-ops expects a count such as 5M/], ['max-pickle-ops', '2T', /expects a count/],
    ['max-view-expansion', '2M', /--max-view-expansion expects a number such as 8 or 2\.5/],
  ];
  for (const [flag, raw, re] of bad) throwsWith(() => parseLimitValue(raw, flag), [re], UsageError, `--${flag} ${raw}`);
});

test('a limit error names the flag of the command at hand, or says the command has none', () => {
  const error = (f: () => unknown): ReadLimitError => {
    try {
      f();
    } catch (e) {
      if (e instanceof ReadLimitError) return e;
      throw e;
    }
    throw new Error('no ReadLimitError');
  };
  const npy = writeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4) });
  const tensors = error(() => readNpy(npy, { maxTensorBytes: 8 }));
  assert.is(explainReadLimit(tensors, convertSpec),
    'npy: the tensors need 16 bytes, over the maxTensorBytes limit of 8 bytes; if you trust this file, raise it with --max-tensor-bytes 16');
  assert.is(explainReadLimit(tensors, trainSpec), 'npy: the tensors need 16 bytes, over the maxTensorBytes limit of 8 bytes; ' +
    'repvgg train has no flag to raise it');
  const header = error(() => readNpy(npy, { maxHeaderBytes: 10 }));
  assert.match(explainReadLimit(header, predictSpec), /over the maxHeaderBytes limit of 10 bytes; repvgg predict has no flag to raise it$/);
  assert.not.match(explainReadLimit(header, predictSpec), /pass the option/, 'no advice the command line cannot follow');
});

/** The value the message advises for `flag` (a number), or fails. */
function advised(r: CliRun, flag: string): number {
  const m = new RegExp(`if you trust this file, raise it with --${flag} (\\d+)`).exec(r.stderr);
  assert.ok(m, `advises --${flag} with a value: ${r.stderr}`);
  return Number(m![1]);
}

test('convert and predict: each limit, lowered, refuses an A0 checkpoint naming its flag; the advised values load it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-limit-flags-'));
  try {
    // A RepVGG-A0 torch checkpoint (10 classes) whose float tensors all view one deflated storage as
    // large as the largest of them: real names and shapes, some aliasing, something to inflate.
    const backend = await createBackend('wasm-simd');
    const model = new RepVGG(backend, { ...REPVGG_VARIANTS.A0, numClasses: 10, init: false });
    const dict = stateDict(model);
    model.dispose();
    let largest = 0;
    for (const t of dict.values()) if (t.dtype === 'float32') largest = Math.max(largest, t.data.length);
    const specs: [string, TensorSpec][] = [...dict].map(([k, t]) => [k, t.dtype === 'int64'
      ? { key: '1', storage: 'LongStorage', numel: 1, size: [...t.shape] }
      : { key: '0', numel: largest, size: [...t.shape] }]);
    const ck = join(dir, 'a0.pt');
    writeFileSync(ck, torchZip(stateDictPickle(specs), [
      { name: '0', data: new Uint8Array(new Float32Array(largest).fill(0.5).buffer), deflate: true },
      { name: '1', data: new Uint8Array(8) },
    ]));
    const out = join(dir, 'deploy.safetensors');
    const convert = (...flags: string[]) => cli('convert', '--arch', 'A0', '--in', ck, '--out', out, '--quiet', ...flags);

    const tensors = convert('--max-tensor-bytes', '1M');
    fails(tensors, '--max-tensor-bytes 1M', ck, 'the tensors need', 'over the maxTensorBytes limit of 1 MiB', '--max-tensor-bytes');
    const views = convert('--max-view-expansion', '1');
    fails(views, '--max-view-expansion 1', 'views alias the same elements', '--max-view-expansion');
    const inflated = convert('--max-decompressed-bytes', '1M');
    fails(inflated, '--max-decompressed-bytes 1M', 'entry archive/data/0: it inflates to', '--max-decompressed-bytes');
    const ops = convert('--max-pickle-ops', '1K');
    fails(ops, '--max-pickle-ops 1K', 'the pickle runs more than 1000 opcodes', 'raise it with --max-pickle-ops (larger than 1000)');
    // Every advised value at once (exactly enough each), and the same file converts.
    const enough = {
      tensors: advised(tensors, 'max-tensor-bytes'), views: advised(views, 'max-view-expansion'),
      inflated: advised(inflated, 'max-decompressed-bytes'),
    };
    assert.is(enough.inflated, largest * 4, 'the advised decompression is the storage\'s inflated size');
    assert.is(enough.views, 2, 'the tensors hold between 1x and 2x their storage (+16 MiB)');
    ok(convert('--max-tensor-bytes', String(enough.tensors), '--max-view-expansion', String(enough.views),
      '--max-decompressed-bytes', String(enough.inflated), '--max-pickle-ops', '1M'), 'convert with the advised limits');

    // predict: the same flags, for the weights and (--max-tensor-bytes) for the input batch.
    const x = join(dir, 'x.npy');
    writeFileSync(x, writeNpy({ dtype: 'float32', shape: [2, 3, 32, 32], data: new Float32Array(2 * 3 * 32 * 32) }));
    const predict = (...flags: string[]) => cli('predict', '--arch', 'A0', '--weights', ck, '--input', x, '--output', join(dir, 'y.npy'), ...flags);
    const input = predict('--max-tensor-bytes', '10K');
    fails(input, 'predict --max-tensor-bytes 10K', `cannot read input ${x}`, 'npy: the tensors need 24 KiB');
    assert.is(advised(input, 'max-tensor-bytes'), 2 * 3 * 32 * 32 * 4, 'advised: the input\'s bytes');
    fails(predict('--max-pickle-ops', '1K'), 'predict --max-pickle-ops 1K', `cannot read checkpoint ${ck}`, '--max-pickle-ops');
    fails(predict('--max-pickle-ops', 'lots'), 'predict --max-pickle-ops lots', '--max-pickle-ops expects a count', 'repvgg predict --help');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train: a gzipped MNIST folder over --max-decompressed-bytes names the flag; the advised value trains', () => {
  const dir = mkdtempSync(join(tmpdir(), 'repvgg-limit-flags-'));
  try {
    const data = join(dir, 'mnist');
    mkdirSync(data);
    const digits = (n: number, name: string, labelsName: string) => {
      const pixels = new Uint8Array(n * 784).map((_, i) => (i * 37) % 251);
      writeFileSync(join(data, name), gzipSync(idxFile([n, 28, 28], pixels)));
      writeFileSync(join(data, labelsName), gzipSync(idxFile([n], new Uint8Array(n).map((_, i) => i % 10))));
    };
    digits(200, 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz');
    digits(50, 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz');
    const train = (...flags: string[]) => cli('train', '--arch', 'custom', '--blocks', '1,1,1,1', '--widths', '0.25,0.25,0.25,0.5',
      '--data', `mnist:${data}`, '--epochs', '1', '--batch-size', '32', '--out', join(dir, 'run'), ...flags);
    const refused = train('--max-decompressed-bytes', '100K');
    fails(refused, 'train --max-decompressed-bytes 100K', 'train-images-idx3-ubyte.gz', 'its header says it holds',
      'over the maxDecompressedBytes limit of 100 KiB', '--max-decompressed-bytes');
    const enough = advised(refused, 'max-decompressed-bytes');
    assert.is(enough, 16 + 200 * 784, 'advised: the images file\'s size, from its IDX header');
    const r = ok(train('--max-decompressed-bytes', String(enough)), 'train with the advised limit');
    assert.match(r.stdout, /done: 1 epochs/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
