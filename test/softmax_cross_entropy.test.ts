// softmax_cross_entropy (assembly/softmax_cross_entropy.ts, src/backends/*/softmax_cross_entropy.ts,
// src/ops/softmax_cross_entropy.ts): the loss and its gradient against PyTorch and finite
// differences, with label smoothing and large logits, and the op's input validation and equality
// with the backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { download, testBackends, upload } from './helpers/backends.js';
import { assertClose } from './helpers/compare.js';
import * as f64 from './helpers/f64.js';
import { fixtureTests } from './helpers/fixture-runner.js';
import { gradcheck } from './helpers/gradcheck.js';
import { rand, rng, same } from './helpers/ops.js';
import { Rng } from './helpers/random.js';
import { throwsWith } from './helpers/throws.js';
import { TOL_BACKWARD, TOL_FORWARD } from './helpers/tolerances.js';

const backends = await testBackends();

// ---- PyTorch fixtures ----

await fixtureTests('cross_entropy', (r, c) => {
  const { n, classes, smoothing } = c.params;
  const rawLabels = r.data('labels');
  assert.ok(rawLabels.every((v) => Number.isInteger(v) && v >= 0 && v < classes), 'labels are class indices');
  const labels = Int32Array.from(rawLabels);
  const logits = r.input('logits');
  const dlogits = r.outLike('dlogits');
  const loss = r.b.softmaxCrossEntropy(n, classes, logits, labels, smoothing, dlogits);
  assert.type(loss, 'number');
  assertClose([loss], r.data('loss'), TOL_FORWARD, 'loss');
  r.check(dlogits, 'dlogits', TOL_BACKWARD);
});

// ---- finite differences ----

const gradCases = [
  { n: 4, classes: 5, smoothing: 0, offset: 0 },
  { n: 4, classes: 5, smoothing: 0.1, offset: 0 },
  // logits near 1000: exp overflows without the max-subtraction trick
  { n: 3, classes: 6, smoothing: 0.2, offset: 1000 },
];

for (const [idx, { n, classes, smoothing, offset }] of gradCases.entries()) {
  const r = new Rng(900 + idx);
  const logits = r.normals(n * classes, 2, offset);
  const labels = r.ints(n, classes);
  await gradcheck({
    name: `softmaxCrossEntropy backward logits[${n},${classes}] smoothing ${smoothing}${offset ? ` offset ${offset}` : ''}`,
    inputs: { logits },
    dy: Float32Array.of(1), // the loss is the scalar differentiated
    f64: (v) => [f64.softmaxCrossEntropy(n, classes, v.logits, labels, smoothing)],
    run: (b, t, _dy, out) => {
      const dlogits = out(logits.length);
      const y = b.softmaxCrossEntropy(n, classes, t.logits, labels, smoothing, dlogits);
      return { y, grads: { logits: dlogits } };
    },
    more: ({ name, run }) => assert.ok(Number.isFinite(run.y), `${name}: loss ${run.y} is not finite`),
  });
}

// ---- the op ----

test('softmaxCrossEntropy: labels are integers in [0, classes), one per row; smoothing in [0, 1]', () => {
  const logits = rand([4, 10]);
  throwsWith(() => softmaxCrossEntropy(logits, [1, 2, 3]), [/^softmaxCrossEntropy: 3 labels for a batch of 4 \(logits \[4,10\]\)/]);
  throwsWith(() => softmaxCrossEntropy(logits, new Int32Array(5)), [/5 labels for a batch of 4/]);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 10, 2]), [/softmaxCrossEntropy: labels\[2\] = 10 is not a class index: expected an integer in \[0, 10\)/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, Int32Array.from([0, -1, 2, 3])), [/labels\[1\] = -1/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 2, 1.5]), [/labels\[3\] = 1\.5/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, [NaN, 1, 2, 3]), [/labels\[0\] = NaN/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, new Float32Array(4) as never), [/labels must be an Int32Array or an array of numbers, got Float32Array\(4\)/], TypeError);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 2, 3], { labelSmoothing: 1.5 }), [/softmaxCrossEntropy: labelSmoothing must be a finite number in \[0, 1\], got 1\.5/], RangeError);
  throwsWith(() => softmaxCrossEntropy(logits, [0, 1, 2, 3], { labelSmoothing: -0.1 }), [/labelSmoothing .* got -0\.1/], RangeError);
  throwsWith(() => softmaxCrossEntropy(rand([4, 10, 1]), [0, 1, 2, 3]), [/softmaxCrossEntropy: logits must be 2-D \[n, classes\], got shape \[4,10,1\]/]);
});

test('softmaxCrossEntropy gives exactly what the backend gives (array and Int32Array labels)', () => {
  for (const b of backends) {
    const ls = rng.normals(3 * 5);
    const labels = [4, 0, 2];
    const r = softmaxCrossEntropy(Tensor.from(b, ls, [3, 5]), labels, { labelSmoothing: 0.1 });
    const r32 = softmaxCrossEntropy(Tensor.from(b, ls, [3, 5]), Int32Array.from(labels), { labelSmoothing: 0.1 });
    const bl = upload(b, ls);
    const bd = b.alloc(15);
    const loss = b.softmaxCrossEntropy(3, 5, bl, Int32Array.from(labels), 0.1, bd);
    assert.is(r.loss, loss, `${b.name} loss`);
    assert.is(r32.loss, loss, `${b.name} loss, Int32Array labels`);
    same(r.dlogits, download(b, bd), `${b.name} dlogits`);
    for (const buf of [bl, bd]) b.free(buf);
  }
});

test.run();
