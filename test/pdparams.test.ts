// Paddle state dicts (src/io/pdparams.ts, and src/models/paddle.ts for the names): the fixtures of
// scripts/make-paddle-fixtures.py (the layout of paddle.save in Paddle 2.0-2.6, protocols 2 and 4,
// holding the weights of small_train.pt) load into the same model as the PyTorch checkpoint and
// give the same logits bit for bit; any other Python global is refused by name; bad arrays are
// refused with the entry named.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { readTensorFile } from '../src/io/index.js';
import { readPdparams } from '../src/io/pdparams.js';
import { readTorch } from '../src/io/torch.js';
import { fromPaddle } from '../src/models/paddle.js';
import { RepVGG } from '../src/models/repvgg.js';
import { loadStateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { modelFixtureBytes, randomInput, smallConfig } from './helpers/models.js';

const backend = await createBackend('reference');
const torchDict = readTorch(modelFixtureBytes('small_train.pt')).tensors;

function logits(dict: Parameters<typeof loadStateDict>[1]): Float32Array {
  const model = new RepVGG(backend, { ...smallConfig(), init: false });
  loadStateDict(model, dict, { strict: true });
  model.eval();
  const x = Tensor.from(backend, randomInput([2, 3, 32, 32], 3), [2, 3, 32, 32]);
  const y = model.forward(x);
  const out = y.toFloat32Array();
  for (const t of [x, y]) t.dispose();
  model.dispose();
  return out;
}

const expected = logits(torchDict);

for (const protocol of [2, 4]) {
  test(`protocol ${protocol}: Paddle's names and layouts, turned into PyTorch's, give the PyTorch checkpoint's logits exactly`, () => {
    const file = readTensorFile(modelFixtureBytes(`small_paddle_p${protocol}.pdparams`));
    assert.is(file.format, 'pdparams');
    assert.ok(file.tensors.has('stage0.rbr_dense.bn._mean') && file.tensors.has('stage0.rbr_dense.bn._variance'), "Paddle's names as read");
    assert.match(file.notes.join('\n'), /StructuredToParameterName@@/);
    const [inF, outF] = file.tensors.get('linear.weight')!.shape;
    const notes: string[] = [];
    const dict = fromPaddle(file.tensors, notes);
    assert.equal(dict.get('linear.weight')!.shape, [outF, inF], 'linear.weight transposed to [out, in]');
    assert.match(notes.join('\n'), /renamed \d+ BatchNorm statistics/);
    // Everything but num_batches_tracked (which Paddle has not) equals the PyTorch file's tensors.
    for (const [k, t] of torchDict) {
      if (k.endsWith('num_batches_tracked')) continue;
      assert.equal([...dict.get(k)!.data], [...t.data], k);
    }
    assert.equal(logits(dict), expected);
  });
}

/** A protocol-2 pickle of {'w': <global>()} naming module.name. */
function pickleNaming(module: string, name: string): Uint8Array {
  const text = new TextEncoder();
  return Uint8Array.from([0x80, 2, 0x7d, 0x58, 1, 0, 0, 0, 0x77, 0x63, ...text.encode(`${module}\n${name}\n`), 0x29, 0x52, 0x73, 0x2e]);
}

test('any global but NumPy\'s array and dtype is refused by name, before anything is called', () => {
  assert.throws(() => readPdparams(pickleNaming('os', 'system')), /Python global "os\.system".*refused/);
  assert.throws(() => readPdparams(pickleNaming('builtins', 'eval')), /"builtins\.eval"/);
  assert.throws(() => readPdparams(pickleNaming('numpy', 'load')), /"numpy\.load"/);
});

test('damaged arrays are refused with the entry named', () => {
  const bytes = modelFixtureBytes('small_paddle_p4.pdparams').slice();
  // Cut the file: the unpickler stops with an error, never a partial dict.
  assert.throws(() => readPdparams(bytes.slice(0, bytes.length >> 1)), /pdparams/);
  assert.throws(() => readPdparams(Uint8Array.of(0x80, 2, 0x4b, 7, 0x2e)), /holds 7, not a dict of arrays/);
  assert.throws(() => readPdparams(Uint8Array.of(1, 2, 3)), /not a pickle/);
});

test.run();
