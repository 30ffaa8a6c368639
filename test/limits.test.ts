// The readers' limits (src/io/limits.ts, docs/SECURITY.md): every hostile file of issue 9
// (test/fixtures/fuzz/hostile/, built by fuzz/hostile.ts) gets its clear error or its right result
// in bounded time and memory, measured in a worker; each limit names the option that raises it,
// and raising it reads what the default refuses.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadSource } from '../src/data/index.js';
import {
  DEFAULT_LIMITS, ReadLimitError, readNpy, readSafetensors, readTensorFile, readTorch, writeSafetensors,
  type ReadLimits,
} from '../src/io/index.js';
import { Pickle, f32, stateDictPickle, torchLegacy, torchZip, type TensorSpec } from '../fuzz/craft.js';
import { HOSTILE } from '../fuzz/hostile.js';
import { FuzzRunner } from '../fuzz/runner.js';
import { assertThrows, fixtureBytes } from './helpers/io.js';

const HOSTILE_DIR = new URL('../../test/fixtures/fuzz/hostile/', import.meta.url);
const MiB = 2 ** 20;

function hostileBytes(file: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(file, HOSTILE_DIR)));
}

/** Runs `f`, which must throw a ReadLimitError for `limit` whose message names the option. */
function assertLimit(f: () => unknown, limit: keyof ReadLimits, re: RegExp, what: string): ReadLimitError {
  const e = assertThrows(f, re, what);
  assert.instance(e, ReadLimitError, `${what}: not a ReadLimitError: ${e.message}`);
  assert.is((e as ReadLimitError).limit, limit, what);
  assert.match(e.message, new RegExp(`pass the option (\\{ ${limit}: \\d+ \\}|${limit} \\(larger than \\d+\\)) to raise it$`),
    `${what}: names the option`);
  return e as ReadLimitError;
}

test('every hostile file of issue 9: its clear error or its right result, in < 2 s and < 160 MiB', async () => {
  const runner = new FuzzRunner({ memoryLimitBytes: 160 * MiB, slowMs: 2000, timeoutMs: 20_000 });
  try {
    for (const h of HOSTILE) {
      // A gzipped MNIST file goes through the bounded gunzip and the IDX parser, as mnist:<dir> does.
      const target = h.target === 'mnist-dir' ? 'gzip' : h.target;
      const r = await runner.run(target, hostileBytes(h.file));
      const what = `${h.file} (${h.issue}): ${r.outcome} in ${r.ms.toFixed(0)} ms, ${(r.memoryBytes / MiB).toFixed(1)} MiB`;
      if (h.expect === null) {
        assert.is(r.outcome, 'ok', `${what}: ${r.message}`);
      } else {
        assert.is(r.outcome, 'clean-error', `${what}: ${r.errorName} ${r.message}`);
        assert.match(r.message!, h.expect, what);
      }
    }
  } finally {
    await runner.close();
  }
});

test('a gzip bomb in an mnist:<dir> folder: loadSource stops at the header or the limit', async () => {
  for (const h of HOSTILE.filter((x) => x.target === 'mnist-dir')) {
    const dir = dirname(fileURLToPath(new URL(h.file, HOSTILE_DIR)));
    const t0 = Date.now();
    try {
      await loadSource(`mnist:${dir}`);
      assert.unreachable(`${h.file}: loaded`);
    } catch (e) {
      assert.match((e as Error).message, h.expect!, h.file);
    }
    assert.ok(Date.now() - t0 < 2000, `${h.file}: ${Date.now() - t0} ms`);
  }
  // The limit is an option of loadSource too: lowered below what the honest header states.
  const long = dirname(fileURLToPath(new URL('mnist-gz-bomb-long/x', HOSTILE_DIR)));
  try {
    await loadSource(`mnist:${long}`, { maxDecompressedBytes: MiB });
    assert.unreachable('loaded');
  } catch (e) {
    assert.instance(e, ReadLimitError);
    assert.match((e as Error).message, /header says it holds 44\.9 MiB .* over the maxDecompressedBytes limit of 1 MiB/);
  }
});

test('a valid legacy storage view reads the elements it names', () => {
  const r = readTorch(hostileBytes('legacy-view-valid.pt'));
  const w = r.tensors.get('w')!;
  assert.equal(w.shape, [2]);
  assert.equal([...w.data], [2, 3]); // storage [1, 2, 3, 4], view (offset 1, size 3), tensor [2]
});

/** A zip checkpoint of float tensors over one storage of `numel` elements. */
function zipOf(numel: number, tensors: [string, TensorSpec][], deflate = false): Uint8Array {
  return torchZip(stateDictPickle(tensors), [{ name: '0', data: f32(Array.from({ length: numel }, (_, i) => i)), deflate }]);
}

test('maxViewExpansion: tied weights and small expanded views pass; 40 views of 1 MiB need the option', () => {
  const n = MiB / 4;
  const tied = readTorch(zipOf(n, [['a', { key: '0', numel: n, size: [n] }], ['b', { key: '0', numel: n, size: [n] }]]));
  assert.is(tied.tensors.get('b')!.data[n - 1], n - 1);
  const expanded = readTorch(zipOf(1, [['e', { key: '0', numel: 1, size: [1000, 1000], stride: [0, 0] }]]));
  assert.is(expanded.tensors.get('e')!.data.length, 1_000_000, 'a 4 MB expansion is within the 16 MiB slack');
  const views: [string, TensorSpec][] = [];
  for (let i = 0; i < 40; i++) views.push([`v${i}`, { key: '0', numel: n, size: [n] }]);
  const file = zipOf(n, views);
  const e = assertLimit(() => readTorch(file), 'maxViewExpansion',
    /its 40 tensors would hold 40 MiB .* view only 1 MiB .* over the maxViewExpansion limit of 4/, '40 views');
  const needed = Number(/maxViewExpansion: (\d+)/.exec(e.message)![1]);
  const r = readTorch(file, { maxViewExpansion: needed });
  assert.is(r.tensors.size, 40);
  assert.is(r.tensors.get('v39')!.data[12345], 12345);
});

test('maxDecompressedBytes: 64 MiB + what the tensors need; one element of a big deflated storage needs the option', () => {
  // 72 MiB of deflated storage, all of it a tensor: the budget grows with what is returned.
  const n = 18 * MiB;
  const all = readTorch(torchZip(stateDictPickle([['w', { key: '0', numel: n, size: [n] }]]),
    [{ name: '0', data: new Uint8Array(4 * n), deflate: true }]));
  assert.is(all.tensors.get('w')!.data.length, n);
  // The same storage for a one-element tensor: refused before inflating, unless the caller allows it.
  const one = torchZip(stateDictPickle([['w', { key: '0', numel: n, size: [1] }]]),
    [{ name: '0', data: new Uint8Array(4 * n), deflate: true }]);
  assertLimit(() => readTorch(one), 'maxDecompressedBytes',
    /entry archive\/data\/0: it inflates to 72 MiB .* over the maxDecompressedBytes limit of 64 MiB \(67108868 bytes\)/, 'one element');
  assert.equal([...readTorch(one, { maxDecompressedBytes: 80 * MiB }).tensors.get('w')!.data], [0]);
  // A caller's lower limit counts data.pkl too.
  const deflatedPickle = torchZip(stateDictPickle([['w', { key: '0', numel: 1, size: [1] }]]), [{ name: '0', data: f32([5]) }], true);
  assertLimit(() => readTorch(deflatedPickle, { maxDecompressedBytes: 10 }), 'maxDecompressedBytes', /data\.pkl: it inflates to/, 'pickle');
  assert.equal([...readTorch(deflatedPickle).tensors.get('w')!.data], [5]);
});

test('maxTensorBytes: every reader, counted as returned (float32, int64, int32)', () => {
  assertLimit(() => readTorch(fixtureBytes('torch_sd.pt'), { maxTensorBytes: 100 }), 'maxTensorBytes',
    /torch checkpoint: the tensors need \d+ bytes, over the maxTensorBytes limit of 100 bytes/, 'torch');
  assertLimit(() => readTorch(fixtureBytes('torch_legacy.pt'), { maxTensorBytes: 100 }), 'maxTensorBytes', /legacy torch checkpoint/, 'legacy');
  assertLimit(() => readSafetensors(fixtureBytes('tiny.safetensors'), { maxTensorBytes: 10 }), 'maxTensorBytes', /safetensors/, 'safetensors');
  assertLimit(() => readNpy(fixtureBytes('f4.npy'), { maxTensorBytes: 95 }), 'maxTensorBytes', /npy: the tensors need 96 bytes/, 'npy');
  assert.is(readNpy(fixtureBytes('f4.npy'), { maxTensorBytes: 96 }).data.length, 24, 'exactly at the limit');
  assertLimit(() => readTensorFile(fixtureBytes('f4.npy'), { maxTensorBytes: 95 }), 'maxTensorBytes', /npy/, 'readTensorFile');
  assert.is(DEFAULT_LIMITS.maxTensorBytes, 4 * 2 ** 30);
});

/** A zip checkpoint whose data.pkl is `pickle` (stored: no decompression limit in the way). */
const pickled = (p: Pickle): Uint8Array => torchZip(p.bytes(), []);

test('pickle floods: stack, opcodes and memo are capped, and each cap can be raised', () => {
  const marks = new Pickle().proto();
  for (let i = 0; i < 1_100_000; i++) marks.mark();
  const markFlood = pickled(marks.stop());
  assertLimit(() => readTorch(markFlood), 'maxPickleStack', /the stack holds 0 values and 1000000 MARKs, over the maxPickleStack limit of 1000000/, 'MARKs');
  assertThrows(() => readTorch(markFlood, { maxPickleStack: 2_000_000 }), /STOP inside a MARK/, 'MARKs, raised');

  const nones = new Pickle().proto();
  for (let i = 0; i < 1_100_000; i++) nones.none();
  assertLimit(() => readTorch(pickled(nones.stop())), 'maxPickleStack', /the stack holds 1000000 values/, 'NONEs');

  const pops = new Pickle().proto();
  for (let i = 0; i < 1_100_000; i++) pops.none().raw(0x30);
  const popFlood = pickled(pops.none().stop());
  assertLimit(() => readTorch(popFlood), 'maxPickleOps', /runs more than 2000000 opcodes, over the maxPickleOps limit of 2000000/, 'NONE POP');
  assertThrows(() => readTorch(popFlood, { maxPickleOps: 3_000_000 }), /the checkpoint is null, not a state dict/, 'NONE POP, raised');

  const memo = new Pickle().proto().none();
  const put = new Uint8Array(5);
  put[0] = 0x72; // LONG_BINPUT i
  for (let i = 0; i < 1_100_000; i++) {
    new DataView(put.buffer).setUint32(1, i, true);
    memo.raw(put.slice());
  }
  assertLimit(() => readTorch(pickled(memo.stop())), 'maxPickleMemo', /the memo holds 1000000 entries/, 'memo');
});

test('pickle calls: argument count capped, and a call pays for the lengths of its arguments', () => {
  const call = (n: number): Uint8Array => {
    const p = new Pickle().proto().global('collections', 'OrderedDict').mark();
    for (let i = 0; i < n; i++) p.none();
    return pickled(p.tuple().reduce().stop());
  };
  assertLimit(() => readTorch(call(1025)), 'maxPickleCallArgs', /a call with 1025 arguments/, '1025 arguments');
  assertThrows(() => readTorch(call(1024)), /the checkpoint is a dict of 0|holds no tensors|could not find a state dict/, '1024 arguments');
  // A memoized 100,000-character string handed to _codecs.encode 25 times: 2.5 million units of work.
  const p = new Pickle().proto().str('x'.repeat(100_000)).raw(0x71, 1).raw(0x30).emptyList().mark();
  for (let i = 0; i < 25; i++) p.global('_codecs', 'encode').raw(0x68, 1).str('latin1').raw(0x86).reduce();
  assertLimit(() => readTorch(pickled(p.appends().stop())), 'maxPickleOps', /opcode 0x52 .* more than 2000000 opcodes/, 'repeated big call');
});

test('a pickled nn.Module whose modules share one huge parameter dict: the walk is bounded', () => {
  // 50 submodules, each with the same memoized _parameters dict of 100,000 entries: 5 million visits.
  const p = new Pickle().proto().emptyDict().mark();
  for (let i = 0; i < 100_000; i++) p.str(`p${i}`).none();
  p.setItems().raw(0x71, 1).raw(0x30); // memo 1 = the shared dict
  const module = (children: () => void): void => {
    p.global('torch.nn', 'Module').emptyTuple().reduce();
    p.emptyDict().mark().str('_parameters').raw(0x68, 1).str('_modules').emptyDict().mark();
    children();
    p.setItems().setItems().build();
  };
  module(() => {
    for (let i = 0; i < 50; i++) {
      p.str(`m${i}`);
      module(() => undefined);
    }
  });
  assertLimit(() => readTorch(pickled(p.stop())), 'maxPickleOps', /the pickled nn\.Module: its modules list more than 2000000/, 'shared dicts');
});

test('limits are validated: a wrong type does not silently turn a limit off', () => {
  assertThrows(() => readTorch(fixtureBytes('torch_sd.pt'), { maxTensorBytes: '10' as unknown as number }),
    /option maxTensorBytes must be a number/, 'string');
  assertThrows(() => readNpy(fixtureBytes('f4.npy'), { maxHeaderBytes: NaN }), /option maxHeaderBytes must be a number/, 'NaN');
  assertThrows(() => readTorch(fixtureBytes('torch_sd.pt'), { maxPickleCallArgs: 1e6 }),
    /option maxPickleCallArgs must be a number from 0 to 65536/, 'beyond the stack');
});

test('headers: npy over 10,000 bytes needs maxHeaderBytes; raised, the parse error quotes 80 characters', () => {
  const big = hostileBytes('npy-header-76000.npy');
  assertLimit(() => readNpy(big), 'maxHeaderBytes', /npy: the header is \d+ bytes/, 'npy');
  const e = assertThrows(() => readNpy(big, { maxHeaderBytes: 1e6 }), /cannot parse the header ".{80}"\.\.\. \(7\d{4} characters\): unterminated string/, 'raised');
  assert.ok(e.message.length < 300, `message of ${e.message.length} characters`);
  const st = fixtureBytes('tiny.safetensors');
  assertLimit(() => readSafetensors(st, { maxHeaderBytes: 100 }), 'maxHeaderBytes', /safetensors: the header is \d+ bytes/, 'safetensors');
});

test('names from the file never reach Object.prototype: __proto__ as a tensor name and metadata key', () => {
  const header = '{"__metadata__":{"__proto__":"m","constructor":"c"},"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
  const json = new TextEncoder().encode(header);
  const file = new Uint8Array(8 + json.length + 4);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  file.set(f32([2.5]), 8 + json.length);
  const r = readSafetensors(file);
  assert.equal([...r.tensors.get('__proto__')!.data], [2.5]);
  assert.equal(Object.getOwnPropertyNames(r.metadata).sort(), ['__proto__', 'constructor']);
  assert.is(Object.getPrototypeOf(r.metadata), Object.prototype);
  // And the writer keeps a tensor named __proto__ (assigning it would have set the prototype).
  const written = writeSafetensors(new Map([['__proto__', { shape: [1], data: Float32Array.of(7) }]]), { constructor: 'x' });
  const back = readSafetensors(written);
  assert.equal([...back.tensors.get('__proto__')!.data], [7]);
  assert.equal(back.metadata, Object.fromEntries([['constructor', 'x']]));
});

test('legacy views: PyTorch semantics for a view key seen twice, and views checked against the root', () => {
  const spec = (key: string, offset: number, size: number, tsize: number[]): TensorSpec =>
    ({ key: 'r', numel: 6, size: tsize, view: [key, offset, size] });
  const file = torchLegacy(stateDictPickle([
    ['a', spec('v', 2, 3, [3])],
    ['b', spec('v', 0, 6, [3])], // same view key: PyTorch reuses the first view (offset 2, size 3)
  ], true), [{ key: 'r', count: 6, data: f32([0, 1, 2, 3, 4, 5]) }]);
  const r = readTorch(file);
  assert.equal([...r.tensors.get('a')!.data], [2, 3, 4]);
  assert.equal([...r.tensors.get('b')!.data], [2, 3, 4]);
  // A tensor reaching past its view's end is refused even though the root storage has more.
  const past = torchLegacy(stateDictPickle([['a', spec('v', 2, 3, [4])]], true),
    [{ key: 'r', count: 6, data: f32([0, 1, 2, 3, 4, 5]) }]);
  assertThrows(() => readTorch(past), /tensor a .* reaches element 3 of storage r, which holds only 3/, 'past the view');
});

test.run();
