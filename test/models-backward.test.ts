// One training step of the small custom RepVGG (groups 2 and 4, SE on every block) against
// PyTorch: training-mode forward (BN batch statistics), cross entropy (mean) on fixed labels,
// backward. The input gradient and every parameter gradient, by name, within TOL_BACKWARD
// (norm-wise per tensor); the loss within 1e-5; the BN running statistics after that forward
// within 1e-5. The reference is PyTorch in float64 on the same float32 weights and input
// (scripts/make-model-fixtures.py), so the errors are ours alone. Both backends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readTorch } from '../src/io/index.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import { RepVGG } from '../src/models/repvgg.js';
import { loadStateDict } from '../src/models/state-dict.js';
import { softmaxCrossEntropy } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { testBackends } from './helpers/backends.js';
import { relErr, TOL_BACKWARD, TOL_NETWORK } from './helpers/compare.js';
import { modelFixtureBytes, modelManifest, smallConfig, smallTensor } from './helpers/models.js';

/** The loss is a forward quantity (GUIDE.md section 3: 1e-5); so are the running statistics. */
const TOL_LOSS = 1e-5;
const TOL_RUNNING_STATS = 1e-5;
const verbose = Boolean(process.env.MODELS_VERBOSE);

const backends = await testBackends();
const small = modelManifest().small;
const trainFile = readTorch(modelFixtureBytes('small_train.pt'));

function check(err: number, tol: number, what: string): void {
  assert.ok(err <= tol, `${what}: relative error ${err.toExponential(3)} > ${tol}`);
}

for (const backend of backends) {
  test(`${backend.name}: train-mode forward + cross entropy + backward == PyTorch`, () => {
    const model = new RepVGG(backend, { ...smallConfig(), init: false });
    loadStateDict(model, trainFile.tensors);
    model.train();
    model.inputGrad = true; // this test checks d loss / d input too
    const xs = smallTensor('train.x');
    const x = Tensor.from(backend, xs.data, xs.shape);

    const logits = model.forward(x);
    const logitErr = relErr(logits.toFloat32Array(), smallTensor('train.logits').data);
    check(logitErr, TOL_NETWORK, 'train-mode logits');
    const { loss, dlogits } = softmaxCrossEntropy(logits, small.train_labels);
    const lossErr = Math.abs(loss - small.train_loss) / Math.abs(small.train_loss);
    check(lossErr, TOL_LOSS, `loss ${loss} vs ${small.train_loss}`);
    const dx = model.backward(dlogits)!;
    for (const t of [logits, dlogits]) t.dispose();

    const dxErr = relErr(dx.toFloat32Array(), smallTensor('train.dx').data);
    check(dxErr, TOL_BACKWARD, 'd loss / d input');
    dx.dispose();
    x.dispose();

    const params = new Map(model.namedParameters());
    assert.equal([...params.keys()], small.grad_names, 'parameters by name, in PyTorch\'s order');
    let worst = 0;
    let worstName = '';
    for (const name of small.grad_names) {
      const p = params.get(name)!;
      assert.ok(p.grad !== null, `${name} has no gradient`);
      const err = relErr(p.grad!.toFloat32Array(), smallTensor(`grad.${name}`).data);
      check(err, TOL_BACKWARD, `grad of ${name}`);
      if (err > worst) { worst = err; worstName = name; }
    }

    const buffers = new Map(model.namedBuffers());
    let worstRunning = 0;
    for (const name of small.running_names) {
      const err = relErr(buffers.get(name)!.toFloat32Array(), smallTensor(`running.${name}`).data);
      check(err, TOL_RUNNING_STATS, name);
      worstRunning = Math.max(worstRunning, err);
    }
    for (const [, m] of model.namedModules()) {
      if (m instanceof BatchNorm2d) assert.is(m.numBatchesTracked, small.num_batches_tracked + 1);
    }
    if (verbose) {
      console.log(`    ${backend.name}: logits ${logitErr.toExponential(2)}, loss ${lossErr.toExponential(2)}, ` +
        `dx ${dxErr.toExponential(2)}, worst of ${params.size} parameter grads ${worst.toExponential(2)} (${worstName}), ` +
        `running stats ${worstRunning.toExponential(2)}`);
    }
    model.dispose();
  });
}

test.run();
