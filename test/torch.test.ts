// Reading PyTorch checkpoints (src/io/torch.ts) against files written by torch.save
// (scripts/make-io-fixtures.py), and the errors for corrupt, truncated or foreign files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { detectTensorFormat, readTorch, readTensorFile, type FileTensor } from '../src/io/index.js';
import { ZipArchive } from '../src/io/zip.js';
import { assertTensor, assertThrows, expectedValues, fixtureBytes, makeZip } from './helpers/io.js';

const expected = expectedValues();
const sd = fixtureBytes('torch_sd.pt');

/** torch dtype -> the array type we return it in. */
function inMemory(dtype: string): 'float32' | 'int64' | 'int32' {
  return dtype.startsWith('float') || dtype === 'bfloat16' ? 'float32' : dtype === 'int64' ? 'int64' : 'int32';
}

function assertStateDict(tensors: Map<string, FileTensor>, what: string, names = expected.torch_sd_order): void {
  assert.equal([...tensors.keys()], names, `${what}: names in state-dict order`);
  for (const name of names) {
    const e = expected.torch_sd[name];
    const t = tensors.get(name);
    assertTensor(t, e, inMemory(e.dtype), `${what}: ${name}`);
    assert.is(t!.sourceDtype, e.dtype, `${what}: ${name} source dtype`);
  }
}

/** The entries of torch_sd.pt, to rebuild variants of it with makeZip. */
function sdEntries(): [string, Uint8Array][] {
  const zip = new ZipArchive(sd);
  return [...zip.entries.keys()].map((n) => [n, zip.read(n).slice()]);
}

function withEntry(name: string, f: (b: Uint8Array) => Uint8Array | null): Uint8Array {
  const out: [string, Uint8Array][] = [];
  for (const [n, b] of sdEntries()) {
    if (n !== name) out.push([n, b]);
    else {
      const r = f(b);
      if (r) out.push([n, r]);
    }
  }
  return makeZip(out);
}

function replaceText(b: Uint8Array, from: string, to: string): Uint8Array {
  const s = Array.from(b, (c) => String.fromCharCode(c)).join('');
  assert.ok(s.includes(from), `fixture pickle contains ${JSON.stringify(from)}`);
  return Uint8Array.from(s.split(from).join(to), (c) => c.charCodeAt(0));
}

const PKL = 'torch_sd/data.pkl';

test('torch.save(state_dict): every tensor, dtype, shape and value; views, offsets, f16/bf16/f64/int', () => {
  assert.equal([...new ZipArchive(sd).entries.keys()], expected.torch_sd_entries);
  const r = readTorch(sd);
  assert.is(r.format, 'zip');
  assertStateDict(r.tensors, 'torch_sd.pt');
  assert.equal(r.notes, []);
  // The transposed view shares linear.weight's storage: same numbers, transposed.
  const w = r.tensors.get('linear.weight')!;
  const wt = r.tensors.get('extra.transposed')!;
  assert.equal(wt.shape, [w.shape[1], w.shape[0]]);
  for (let i = 0; i < w.shape[0]; i++) {
    for (let j = 0; j < w.shape[1]; j++) assert.is(wt.data[j * w.shape[0] + i], w.data[i * w.shape[1] + j]);
  }
  assert.is(r.tensors.get('stage0.rbr_dense.bn.num_batches_tracked')!.data[0], 7n);
});

test('training checkpoint {state_dict: module.*}: unwrapped, prefix stripped, both noted', () => {
  const bytes = fixtureBytes('torch_wrapped.pt');
  const r = readTorch(bytes);
  assertStateDict(r.tensors, 'torch_wrapped.pt');
  assert.is(r.notes.length, 2);
  assert.match(r.notes[0], /checkpoint\['state_dict'\].*epoch, arch, best_acc1, optimizer/);
  assert.match(r.notes[1], /stripped the 'module\.' prefix .*DataParallel.* 20 names/);
  const kept = readTorch(bytes, { stripPrefixes: false });
  assert.ok(kept.tensors.has('module.linear.weight'));
  const byKey = readTorch(bytes, { key: 'state_dict' });
  assert.match(byKey.notes[0], /as requested/);
  assertThrows(() => readTorch(bytes, { key: 'state_dict_ema' }), /no entry 'state_dict_ema'.*state_dict, epoch/, 'missing key');
  assertThrows(() => readTorch(bytes, { key: 'epoch' }), /checkpoint\['epoch'\] is 3, not a state dict/, 'non-dict key');
});

test("{'model': state_dict}", () => {
  const r = readTorch(fixtureBytes('torch_model.pt'));
  assertStateDict(r.tensors, 'torch_model.pt');
  assert.equal(r.notes, ["using checkpoint['model']"]);
});

test('timm-like checkpoint: foreign objects beside the weights, EMA weights by key, _orig_mod. prefix', () => {
  const bytes = fixtureBytes('torch_ema.pt');
  const r = readTorch(bytes);
  assertStateDict(r.tensors, 'torch_ema.pt');
  assert.equal(r.notes, ["using checkpoint['state_dict']; ignored the other entries: state_dict_ema, args, metric " +
    "(pass { key: 'state_dict_ema' } for the EMA weights)"]);
  const ema = readTorch(bytes, { key: 'state_dict_ema' });
  assertStateDict(ema.tensors, 'torch_ema.pt EMA');
  assert.match(ema.notes[1], /stripped the '_orig_mod\.' prefix \(added by torch\.compile\)/);
  assertThrows(() => readTorch(bytes, { key: 'args' }), /checkpoint\['args'\] is a pickled argparse\.Namespace object, not a state dict/, 'args');
});

test('legacy (non-zip) format: detected and read', () => {
  const r = readTorch(fixtureBytes('torch_legacy.pt'));
  assert.is(r.format, 'legacy');
  assertStateDict(r.tensors, 'torch_legacy.pt');
  assert.match(r.notes.join(), /legacy/);
});

test('deflate-compressed and ZIP64 archives', () => {
  assertStateDict(readTorch(fixtureBytes('torch_deflate.pt')).tensors, 'torch_deflate.pt');
  assertStateDict(readTorch(fixtureBytes('torch_zip64.pt')).tensors, 'torch_zip64.pt');
});

test('torch.save(model): parameters and persistent buffers of the pickled module, with a note', () => {
  const r = readTorch(fixtureBytes('torch_module.pt'));
  assertStateDict(r.tensors, 'torch_module.pt', expected.torch_module_names);
  assert.match(r.notes.join(), /whole pickled nn\.Module \(__main__\.TinyBlock.*model\.state_dict\(\)/);
});

test('readTensorFile dispatches on the content', () => {
  const r = readTensorFile(fixtureBytes('torch_wrapped.pt'));
  assert.is(r.format, 'torch');
  assert.is(r.tensors.size, 20);
  assert.is(readTensorFile(fixtureBytes('torch_legacy.pt')).format, 'torch-legacy');
  const st = readTensorFile(fixtureBytes('tiny.safetensors'));
  assert.is(st.format, 'safetensors');
  assert.is(st.tensors.size, 7);
  const npy = readTensorFile(fixtureBytes('f4.npy'), { npyName: 'x' });
  assert.is(npy.format, 'npy');
  assert.equal([...npy.tensors.keys()], ['x']);
  assert.is(detectTensorFormat(fixtureBytes('torch_zip64.pt')), 'torch');
  assert.is(detectTensorFormat(new Uint8Array(300)), null);
  assertThrows(() => readTensorFile(new Uint8Array(100)), /not a recognized tensor file/, 'zeros');
});

test('truncated archives fail with a message, wherever they are cut', () => {
  for (const cut of [0, 3, 10, 100, 1000, sd.length >> 1, sd.length - 200, sd.length - 23, sd.length - 1]) {
    assertThrows(() => readTorch(sd.subarray(0, cut)),
      /truncated|too short|not a PyTorch file/, `cut at ${cut} of ${sd.length}`);
  }
  const legacy = fixtureBytes('torch_legacy.pt');
  for (const cut of [20, 200, legacy.length >> 1, legacy.length - 1]) {
    assertThrows(() => readTorch(legacy.subarray(0, cut)), /truncated/, `legacy cut at ${cut}`);
  }
});

test('wrong magic, bare pickles, TorchScript archives', () => {
  assertThrows(() => readTorch(new TextEncoder().encode('hello world, not a checkpoint')), /not a PyTorch file.*68 65 6c 6c/, 'text');
  assertThrows(() => readTorch(new Uint8Array(0)), /not a PyTorch file.*empty/, 'empty');
  assertThrows(() => readTorch(Uint8Array.of(0x80, 2, 0x7d, 0x2e)), /bare pickle/, 'bare pickle');
  const ts = makeZip([...sdEntries(), ['torch_sd/constants.pkl', Uint8Array.of(0x80, 2, 0x29, 0x2e)]]);
  assertThrows(() => readTorch(ts), /TorchScript/, 'TorchScript');
  const noPkl = makeZip(sdEntries().filter(([n]) => n !== PKL));
  assertThrows(() => readTorch(noPkl), /no data\.pkl entry/, 'zip without data.pkl');
});

test('a flipped byte is caught by the CRC-32 check', () => {
  const zip = new ZipArchive(sd);
  for (const name of [PKL, 'torch_sd/data/0']) {
    const bad = sd.slice();
    bad[zip.entries.get(name)!.dataOffset + 5] ^= 0x10;
    assertThrows(() => readTorch(bad), new RegExp(`entry ${name}: CRC-32 mismatch`), name);
  }
});

test('corrupt pickles (with consistent CRCs) fail naming the opcode and offset', () => {
  const flip = withEntry(PKL, (b) => { b[2] = 0xff; return b; });
  assertThrows(() => readTorch(flip), /unknown opcode: .*opcode 0xff at offset 2/, 'unknown opcode');
  const cut = withEntry(PKL, (b) => b.subarray(0, b.length - 40));
  assertThrows(() => readTorch(cut), /data\.pkl: .*truncated/, 'truncated pickle');
  const noStop = withEntry(PKL, (b) => b.subarray(0, b.length - 1));
  assertThrows(() => readTorch(noStop), /no STOP opcode/, 'no STOP');
  const badMemo = withEntry(PKL, (b) => { // the first BINGET right after a BINPUT: make it BINGET 250
    const i = b.findIndex((c, j) => c === 0x71 && b[j + 2] === 0x68);
    b[i + 3] = 250;
    return b;
  });
  assertThrows(() => readTorch(badMemo), /memo key 250 was never stored/, 'bad memo');
});

test('foreign globals are never called: they leave no tensors, and the error names them', () => {
  const evil = withEntry(PKL, (b) => replaceText(b, 'torch._utils\n_rebuild_tensor_v2\n', 'os\nsystem\n'));
  assertThrows(() => readTorch(evil), /could not find a state dict.*linear\.weight \(a os\.system object\)/, 'os.system');
  const complex = withEntry(PKL, (b) => replaceText(b, 'torch\nFloatStorage\n', 'torch\nComplexFloatStorage\n'));
  assertThrows(() => readTorch(complex), /storage type torch\.ComplexFloatStorage is not supported/, 'complex storage');
});

test('storages that are missing or too short for their tensors', () => {
  const short = withEntry('torch_sd/data/0', (b) => b.subarray(0, 100));
  assertThrows(() => readTorch(short), /tensor stage0\.rbr_dense\.conv\.weight .*reaches element 107 of storage 0, which holds only 25.*too short/, 'short');
  const missing = withEntry('torch_sd/data/3', () => null);
  assertThrows(() => readTorch(missing), /storage 3 is missing/, 'missing');
});

test('ZIP directory corruption: entry past the end, bad local header, bad directory', () => {
  const zip = new ZipArchive(sd);
  const cd = sd.findIndex((_, i) => sd[i] === 0x50 && sd[i + 1] === 0x4b && sd[i + 2] === 1 && sd[i + 3] === 2);
  const past = sd.slice();
  new DataView(past.buffer).setUint32(cd + 20, 0x7fffffff, true); // compressed size
  new DataView(past.buffer).setUint32(cd + 24, 0x7fffffff, true);
  assertThrows(() => readTorch(past), /entry torch_sd\/data\.pkl \(2147483647 bytes at offset \d+\) runs past the end/, 'past end');
  const local = sd.slice();
  local[findLocalHeader(sd, [...zip.entries.keys()][1])] = 0x51; // the first header is what identifies a ZIP
  assertThrows(() => readTorch(local), /bad local header signature/, 'local header');
  const dir = sd.slice();
  dir[cd] = 0;
  assertThrows(() => readTorch(dir), /bad central directory entry signature/, 'central directory');
});

function findLocalHeader(b: Uint8Array, name: string): number {
  const n = new TextEncoder().encode(name);
  for (let i = 0; i + 30 + n.length <= b.length; i++) {
    if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 3 && b[i + 3] === 4 &&
        n.every((c, j) => b[i + 30 + j] === c) && b[i + 26] === n.length) return i;
  }
  throw new Error(`no local header for ${name}`);
}

test.run();
