// Writing .pth files (src/io/torch-write.ts, on src/io/zip-write.ts): what torch.save writes, read
// back by this library's own torch reader bit for bit; every storage 64-byte aligned in a stored
// zip with correct CRCs; only the globals torch.load(weights_only=True) allows. (That PyTorch 1.13
// loads an exported A0 with weights_only=True and load_state_dict(strict=True) was checked with
// scripts/check-export-in-pytorch.py.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PyGlobal, unpickle } from '../src/io/pickle.js';
import { readTorch } from '../src/io/torch.js';
import { writeTorch } from '../src/io/torch-write.js';
import type { TensorInput } from '../src/io/types.js';
import { ZipArchive } from '../src/io/zip.js';
import { Rng } from './helpers/random.js';

const rng = new Rng(5);
const tensors = new Map<string, TensorInput>([
  ['stage0.rbr_dense.conv.weight', { shape: [4, 3, 3, 3], data: rng.normals(108) }],
  ['stage0.rbr_dense.bn.num_batches_tracked', { shape: [], data: BigInt64Array.of(123456789012n) }],
  ['counts', { shape: [2, 3], data: Int32Array.of(1, -2, 3, -4, 5, 2147483647) }],
  ['linear.bias', { shape: [7], data: rng.normals(7) }],
  ['empty', { shape: [0, 5], data: new Float32Array(0) }],
]);

test('read back by readTorch: the same names in order, shapes, dtypes and bytes', () => {
  const file = readTorch(writeTorch(tensors));
  assert.equal([...file.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const got = file.tensors.get(name)!;
    assert.equal(got.shape, t.shape, `${name} shape`);
    assert.is(got.data.constructor, t.data.constructor, `${name} dtype`);
    assert.equal([...got.data], [...t.data], `${name} values`);
  }
});

test('a stored zip: data.pkl, version, byteorder and one 64-byte-aligned storage per tensor, CRCs checked', () => {
  const bytes = writeTorch(tensors, 'a0');
  const zip = new ZipArchive(bytes);
  const names = [...zip.entries.keys()];
  assert.ok(names.includes('a0/data.pkl') && names.includes('a0/version') && names.includes('a0/byteorder'), names.join(', '));
  assert.is(new TextDecoder().decode(zip.read('a0/version')), '3\n');
  for (let i = 0; i < tensors.size; i++) {
    const e = zip.entries.get(`a0/data/${i}`)!;
    assert.ok(e, `storage ${i}`);
    assert.is(e.method, 0, 'stored');
    assert.is(e.dataOffset % 64, 0, `storage ${i} at ${e.dataOffset}: aligned`);
    zip.read(`a0/data/${i}`); // checks the CRC
  }
  assert.throws(() => writeTorch(tensors, 'a/b'), /plain folder name/);
});

test('the pickle names only what torch.load(weights_only=True) allows', () => {
  const pkl = new ZipArchive(writeTorch(tensors)).read('archive/data.pkl');
  // Every global the pickle names, as the unpickler asks for them.
  const globals = new Set<string>();
  unpickle(pkl, { findClass: (m, n) => { globals.add(`${m}.${n}`); return new PyGlobal(m, n); }, persistentLoad: (id) => id });
  assert.equal([...globals].sort(), ['collections.OrderedDict', 'torch.FloatStorage', 'torch.IntStorage', 'torch.LongStorage', 'torch._utils._rebuild_tensor_v2']);
});

test('bad input is refused with the tensor named', () => {
  assert.throws(() => writeTorch(new Map([['w', { shape: [2, 2], data: new Float32Array(3) }]])), /tensor 'w'.*holds 4 elements but data has 3/);
  assert.throws(() => writeTorch(new Map([['w', { shape: [2], data: new Float64Array(2) as never }]])), /tensor 'w'.*Float32Array, BigInt64Array or Int32Array/);
});

test.run();
