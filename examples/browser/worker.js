// The demo's module worker: every computation runs here, so the page stays responsive while a
// network trains or a benchmark runs. The library is imported as built (dist/src/*.js) and
// createBackend() fetches its .wasm from dist/wasm/ next to the modules, as any page would.
//
// Protocol (client.js): requests { id, type, ...args } get one reply { id, ok, result | error };
// long requests also send events { event, ...data } on the way (training batches, speed rows).
// Handlers await `pause()` between batches, which lets stop and predict requests in between.
import * as lib from '../../dist/src/index.js';
import { digitsFromBytes } from './lib/digits.js';
import { modelFromFile, panelInfo } from './lib/model-file.js';
import { TrainingSession } from './lib/session.js';
import { SPEED_MODELS, measureSpeed } from './lib/speed.js';
import { threadInfo } from './lib/threads.js';

let backend = null;
let digits = null;
const state = {
  session: null,
  stopRequested: false,
  running: false,
  /** the finished run: { model (deploy form), info, result } */
  trained: null,
  /** the model from a dropped file: { model, info } */
  file: null,
};

// A macrotask boundary without setTimeout's clamping: a message to ourselves.
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
function pause() {
  return new Promise((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });
}

const emit = (event, data) => postMessage({ event, ...data });

async function loadDigits() {
  if (!digits) {
    const url = new URL('../../dist/demo/digits.bin', import.meta.url);
    const res = await fetch(url);
    if (!res.ok) throw new Error(`no digits at ${url.pathname} (HTTP ${res.status}): run "npm run build" (or "npm run demo")`);
    digits = new Uint8Array(await res.arrayBuffer());
  }
  return digits;
}

function sessionStatus(s) {
  return { step: s.steps, totalSteps: s.totalSteps, epoch: s.epoch, epochs: s.opts.epochs, seconds: s.seconds };
}

async function runSession() {
  const s = state.session;
  state.running = true;
  let finished;
  try {
    finished = await s.run({
      onBatch: (b) => emit('train-batch', b),
      onEpoch: (r) => emit('train-epoch', { ...r }),
    }, { yield: pause, shouldStop: () => state.stopRequested });
  } finally {
    state.running = false;
  }
  if (!finished) return { status: 'stopped', ...sessionStatus(s) };
  const { deployModel, trainForm, deployForm } = s.finish();
  deployModel.eval();
  state.trained?.model.dispose();
  state.trained?.trainModel.dispose();
  const result = {
    trainForm, deployForm, losses: s.losses, history: s.history, config: s.config, options: s.opts,
    parameters: { train: s.model.parameterCount(), deploy: deployModel.parameterCount() },
  };
  state.trained = {
    model: deployModel, trainModel: s.model, result, data: s.data,
    info: panelInfo(lib, deployModel, { name: 'trained in this page' }),
  };
  s.optimizer.dispose();
  state.session = null;
  return { status: 'done', ...sessionStatus(s), ...result, info: state.trained.info, memoryBytes: backend.memoryBytes() };
}

const handlers = {
  async init({ relaxedSimd = 'auto', kind = 'auto' } = {}) {
    const t0 = performance.now();
    backend = await lib.createBackend(kind, { relaxedSimd });
    return {
      name: backend.name, isa: backend.isa ?? null, ...threadInfo(backend, self), ms: performance.now() - t0,
      memoryBytes: backend.memoryBytes(),
    };
  },

  async 'train-start'(opts) {
    if (state.running) throw new Error('a run is in progress: stop it first');
    // Cleared here, not when the loop starts: a stop sent while the digits load still counts.
    state.stopRequested = false;
    state.session?.dispose();
    state.session = null;
    const data = digitsFromBytes(lib, await loadDigits(), opts.digits);
    state.session = new TrainingSession(lib, backend, data, opts);
    emit('train-start', {
      totalSteps: state.session.totalSteps, batchesPerEpoch: state.session.batchesPerEpoch,
      images: data.train.n, testImages: data.test.n, parameters: state.session.model.parameterCount(),
    });
    return runSession();
  },

  'train-stop'() {
    state.stopRequested = true;
    return { running: state.running };
  },

  async 'train-resume'() {
    if (!state.session) throw new Error('nothing to resume');
    if (state.running) throw new Error('already running');
    state.stopRequested = false;
    return runSession();
  },

  /** The trained model as a .safetensors file: the deploy form (form 'deploy') or the training form. */
  'train-download'({ form = 'deploy' } = {}) {
    const t = state.trained;
    if (!t) throw new Error('no trained model yet');
    const model = form === 'deploy' ? t.model : t.trainModel;
    // The library's model metadata (as `repvgg train` writes it), so that `repvgg predict --image`,
    // `info`, `convert`, `export` and `features` take the file with no other flag; the digits are
    // 28x28 padded to 32x32, so an image file is resized to 28 and padded by the 32x32 crop.
    const test = t.data.test;
    const meta = lib.describeModel(t.result.config, {
      inputSize: [test.h, test.w], classNames: test.classNames, preprocessing: lib.datasetPreprocessing(test, 28),
    });
    const bytes = lib.writeSafetensors(lib.stateDict(model), lib.metadataEntries(meta, {
      form, test_accuracy: String(form === 'deploy' ? t.result.deployForm.top1 : t.result.trainForm.top1),
      written_by: 'repvgg-wasm browser demo',
    }));
    return { bytes, name: `repvgg-digits-${form}.safetensors` };
  },

  async speed({ model = 'digits', budgetMs } = {}) {
    if (state.running) throw new Error('training is running: stop it first (the timings would be meaningless)');
    const spec = SPEED_MODELS[model];
    if (!spec) throw new Error(`unknown speed model ${model}`);
    const rows = await measureSpeed(lib, backend, spec, { onRow: (row) => emit('speed-row', { model, row }), pause, budgetMs });
    return { model, rows, memoryBytes: backend.memoryBytes() };
  },

  'load-model'({ bytes, name }) {
    const { model, info } = modelFromFile(lib, backend, bytes, name);
    state.file?.model.dispose();
    state.file = { model, info };
    return info;
  },

  /** Logits, top-5 and timing of one image x (normalized, [1, c, h, w]) through a model. */
  predict({ source, x, shape }) {
    const m = source === 'file' ? state.file : state.trained;
    if (!m) throw new Error(source === 'file' ? 'no model file loaded' : 'no trained model yet: train one above, or drop a model file');
    const t0 = performance.now();
    const xt = lib.Tensor.from(backend, x, shape);
    const y = m.model.forward(xt);
    const logits = y.toFloat32Array();
    xt.dispose();
    y.dispose();
    const ms = performance.now() - t0;
    const probs = lib.softmax(logits);
    const top = lib.topK(logits, Math.min(5, logits.length)).map((i) => ({ index: i, prob: probs[i] }));
    return { logits, top, ms };
  },
};

self.onmessage = async ({ data }) => {
  const { id, type, ...args } = data;
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request ${type}`);
    if (type !== 'init' && !backend) throw new Error('the backend is not ready');
    const result = await handler(args);
    const transfer = result?.bytes instanceof Uint8Array ? [result.bytes.buffer] : [];
    postMessage({ id, ok: true, result }, transfer);
  } catch (e) {
    postMessage({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
