// `npm run bench:peers`: the same fused RepVGG-A0 (the same weights) in other engines, on the same
// machine in the same run, at batch 1 and 8, single-threaded, and on 2 threads where an engine can:
//   onnxruntime-web          its WASM backend (SIMD), 1 thread           <- our ONNX export
//   onnxruntime-web          the same on 2 threads (env.wasm.numThreads = 2, its own pthreads as
//                            Node workers), in a worker thread of this process: numThreads is
//                            global to one onnxruntime-web instance, and the 1-thread one runs here
//   TensorFlow.js            @tensorflow/tfjs-backend-wasm (XNNPACK), 1 thread, graph built with tf ops (NHWC)
//   onnxruntime-node         native CPU, 1 thread: the reference line of what native code does
// (TensorFlow.js's wasm backend turns its threads off in Node: it has no 2-thread row.) Our side
// runs on 1 thread against the 1-thread peers and on 2 threads against the 2-thread peer, and our
// 2 threads are also timed against our 1 thread.
// Each engine's logits are checked against ours (norm-wise, within 1e-4) before anything is timed.
// Every peer is timed interleaved with this engine (A B B A), and the ratio quoted is
// peer time / repvgg-wasm time (above 1: repvgg-wasm is faster).
//
// Our side is this library's best path for a deployed model: the planned fused model
// (InferencePlan, one per batch size: weights packed once, conv + bias + ReLU in one pass, conv
// algorithm 'auto', i.e. Winograd on the 3x3 stride-1 convs). The deploy model's own forward with
// every conv direct (what this comparison measured before the plan and Winograd existed) is timed
// against the plan as well, as a reference row.
//
// --ours-only times only our two paths (no peers installed, nothing written): a smoke test of this
// file that needs no network.
//
// The peers live in bench/peers/package.json, installed here on demand (never by the library's
// install or CI), with --ignore-scripts: onnxruntime-node's install script downloads from a host
// this machine may not reach, and its CPU binary is inside the npm package anyway.
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportOnnx } from '../../src/models/onnx.js';
import { InferencePlan } from '../../src/models/plan.js';
import { createRepVGG, repvggModelConvert, type RepVGG } from '../../src/models/repvgg.js';
import { createBackend } from '../../src/backends/create.js';
import type { WasmBackend } from '../../src/backends/wasm/index.js';
import { Tensor } from '../../src/tensor.js';
import { PEERS_BEGIN, PEERS_END, replacePeers } from '../report.js';
import { fillRandom, randomizeBatchNorms, relErr, wasmBackend } from '../setup.js';
import { formatTable, machineLine, median } from '../stats.js';
import { timePairAsync, type PairTiming } from '../timing.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- the peers are loaded untyped: their types
   are not installed with the library, and this file must compile without them. */
type Any = any;

const PEERS_DIR = new URL('../../../bench/peers/', import.meta.url);
const PACKAGES = ['onnxruntime-web', 'onnxruntime-node', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'];
const BATCHES = [1, 8];
const SIZE = 224;
const CLASSES = 1000;
const TOL = 1e-4;

const quick = process.argv.includes('--quick');
const oursOnly = process.argv.includes('--ours-only');
if (process.argv.includes('--help')) {
  console.log('usage: npm run bench:peers [-- --quick] [--ours-only]\n  installs bench/peers/ on first use, then times A0 (fused) in ' +
    'onnxruntime-web, TensorFlow.js (wasm) and onnxruntime-node against repvgg-wasm (planned), batch 1 and 8\n' +
    '  --ours-only  only repvgg-wasm\'s planned and unplanned-direct paths: no install, nothing written');
  process.exit(0);
}

function ensureInstalled(): NodeJS.Require {
  const req = createRequire(new URL('package.json', PEERS_DIR));
  const missing = PACKAGES.filter((p) => { try { req.resolve(p); return false; } catch { return true; } });
  if (missing.length > 0) {
    console.log(`installing the peers into bench/peers/ (${missing.join(', ')} missing): npm install --ignore-scripts ...`);
    execFileSync('npm', ['install', '--prefix', fileURLToPath(PEERS_DIR), '--no-audit', '--no-fund', '--ignore-scripts'], { stdio: 'inherit' });
  }
  return req;
}

/** The installed version of a package (its package.json, found above its entry point: onnxruntime-web's
 *  "exports" hide ./package.json). */
function version(req: NodeJS.Require, p: string): string {
  let dir = dirname(req.resolve(p));
  for (;;) {
    const file = `${dir}/package.json`;
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === p) return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir) return '?';
    dir = up;
  }
}

interface Engine {
  name: string;
  detail: string;
  /** threads the engine runs on (ours is paired on as many) */
  threads: number;
  run(x: Float32Array, n: number): Promise<Float32Array>;
  dispose?(): Promise<void>;
}

async function onnxruntimeWeb(req: NodeJS.Require, onnx: Uint8Array): Promise<Engine> {
  const ort: Any = req('onnxruntime-web');
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return {
    name: 'onnxruntime-web', detail: `onnxruntime-web ${version(req, 'onnxruntime-web')}, wasm backend (SIMD), numThreads = 1`,
    threads: 1,
    async run(x, n) {
      const out = await session.run({ input: new ort.Tensor('float32', x, [n, 3, SIZE, SIZE]) });
      return out.logits.data as Float32Array;
    },
  };
}

/** The worker's code: a private onnxruntime-web instance set to `threads` threads, reporting what
 *  it really got (env.wasm.numThreads after the session is created, which onnxruntime-web sets
 *  back to 1 where threads are not available, its warnings, and the OS threads this process gained
 *  while it started), then running the inputs it is sent (the last input is kept: only the batch
 *  size travels with a timed call). */
const ORT_WEB_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const osThreads = () => Number((/Threads:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8')) || [])[1]);
const warnings = [];
console.warn = (...a) => warnings.push(a.join(' '));
(async () => {
  const before = osThreads();
  const ort = require(workerData.ortPath);
  ort.env.wasm.numThreads = workerData.threads;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(workerData.onnx, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  let x = null;
  parentPort.on('message', async (m) => {
    try {
      if (m.x) x = m.x;
      const out = await session.run({ input: new ort.Tensor('float32', x, [m.n, 3, ${SIZE}, ${SIZE}]) });
      parentPort.postMessage({ y: out.logits.data });
    } catch (e) { parentPort.postMessage({ error: String((e && e.stack) || e) }); }
  });
  parentPort.postMessage({ ready: true, numThreads: ort.env.wasm.numThreads, added: osThreads() - before, warnings });
})().catch((e) => parentPort.postMessage({ error: String((e && e.stack) || e) }));
`;

/** onnxruntime-web on `threads` threads, in a worker thread (see ORT_WEB_WORKER). Fails when it
 *  would not really run threaded. */
async function onnxruntimeWebThreaded(req: NodeJS.Require, onnx: Uint8Array, threads: number): Promise<Engine> {
  const worker = new Worker(ORT_WEB_WORKER, { eval: true, workerData: { ortPath: req.resolve('onnxruntime-web'), onnx, threads } });
  /** The worker's next reply (each listener removed with the other, so none pile up). */
  const next = () => new Promise<Any>((resolve, reject) => {
    const onError = (e: unknown) => { worker.off('message', onMessage); reject(e); };
    const onMessage = (m: Any) => { worker.off('error', onError); if (m.error) reject(new Error(m.error)); else resolve(m); };
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
  const ready = await next();
  const got = `env.wasm.numThreads = ${ready.numThreads} after the session was created, ${ready.added} OS threads started` +
    (ready.warnings.length > 0 ? `; warnings: ${ready.warnings.join(' | ')}` : '');
  if (ready.numThreads !== threads) {
    await worker.terminate();
    throw new Error(`asked for ${threads} threads, runs ${got}`);
  }
  let sent: Float32Array | null = null;
  return {
    name: `onnxruntime-web, ${threads} threads`, threads,
    detail: `onnxruntime-web ${version(req, 'onnxruntime-web')}, wasm backend (SIMD), numThreads = ${threads}, run in a worker ` +
      `thread of this process (${got}; the input is sent once per batch size, each timed call posts the batch size and ` +
      'receives the logits)',
    async run(x, n) {
      const reply = next();
      worker.postMessage(sent === x ? { n } : { n, x });
      sent = x;
      return (await reply).y as Float32Array;
    },
    async dispose() { await worker.terminate(); },
  };
}

/**
 * Must be set up before onnxruntime-web is loaded: both register their backends in the one shared
 * onnxruntime-common, and a session created after onnxruntime-web is loaded can be handed to its
 * WASM backend even when asked for 'cpu' (seen with 1.30: "native" ran at WASM speed). The
 * session's handler class is checked below.
 */
async function onnxruntimeNode(req: NodeJS.Require, onnx: Uint8Array): Promise<Engine> {
  const ort: Any = req('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const handler = Object.getPrototypeOf(session.handler)?.constructor?.name;
  if (handler !== 'OnnxruntimeSessionHandler') throw new Error(`the session runs on ${handler}, not onnxruntime-node's native handler`);
  return {
    name: 'onnxruntime-node', threads: 1, detail: `onnxruntime-node ${version(req, 'onnxruntime-node')}, native CPU provider, intraOpNumThreads = 1`,
    async run(x, n) {
      const out = await session.run({ input: new ort.Tensor('float32', x, [n, 3, SIZE, SIZE]) });
      return out.logits.data as Float32Array;
    },
  };
}

/** The fused network with TF.js ops: NHWC, weights as HWIO, explicit padding 1 (TF's 'same' pads
 *  stride-2 convs on the bottom/right only, PyTorch on both sides). */
async function tfjsWasm(req: NodeJS.Require, model: RepVGG): Promise<Engine> {
  const tf: Any = req('@tensorflow/tfjs-core');
  const wasmPkg: Any = req('@tensorflow/tfjs-backend-wasm');
  const dist = `${dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`;
  wasmPkg.setWasmPaths(dist);
  wasmPkg.setThreadsCount(1);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // the plain SIMD binary, no worker threads
  await tf.setBackend('wasm');
  await tf.ready();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const layers = model.blocks.map((b) => {
    const { inChannels: c, outChannels: k, stride, groups } = b.cfg;
    if (groups !== 1) throw new Error('tfjs peer: grouped convs are not built here');
    const { kernel, bias } = b.getEquivalentKernelBias();
    const hwio = new Float32Array(9 * c * k); // [k, c, 3, 3] -> [3, 3, c, k]
    for (let o = 0; o < k; o++) for (let i = 0; i < c; i++) for (let t = 0; t < 9; t++) hwio[(t * c + i) * k + o] = kernel[(o * c + i) * 9 + t];
    return { filter: tf.tensor4d(hwio, [3, 3, c, k]), bias: tf.tensor1d(bias), stride };
  });
  // The linear weight is transposed here ([classes, features] -> [features, classes]): with 4.22's
  // wasm backend, tf.fused.matMul({ transposeB: true, bias }) gave wrong sums where tf.matMul's
  // transposeB and fused.matMul without it agree with the reference.
  const features = model.linear.weight.value.shape[1];
  const lw = model.linear.weight.value.toFloat32Array();
  const lwT = new Float32Array(lw.length);
  for (let o = 0; o < CLASSES; o++) for (let i = 0; i < features; i++) lwT[i * CLASSES + o] = lw[o * features + i];
  const linW = tf.tensor2d(lwT, [features, CLASSES]);
  const linB = tf.tensor1d(model.linear.bias.value.toFloat32Array());
  const pad = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const forward = (x: Any) => tf.tidy(() => {
    let h = x;
    for (const l of layers) {
      h = tf.fused.conv2d({ x: h, filter: l.filter, bias: l.bias, strides: [l.stride, l.stride], pad, dataFormat: 'NHWC', activation: 'relu' });
    }
    const pooled = tf.mean(h, [1, 2]);
    return tf.fused.matMul({ a: pooled, b: linW, bias: linB });
  });
  return {
    name: 'TensorFlow.js wasm', threads: 1,
    detail: `@tensorflow/tfjs-core + tfjs-backend-wasm ${version(req, '@tensorflow/tfjs-backend-wasm')}, ${simd ? 'SIMD' : 'no SIMD'} ` +
      'binary, 1 thread, graph built with tf.fused.conv2d (NHWC)',
    async run(x, n) {
      // The layout change to NHWC is part of the timed call: a caller with NCHW images pays it too (it is ~0.1% of a forward).
      const input = tf.tidy(() => tf.transpose(tf.tensor4d(x, [n, 3, SIZE, SIZE]), [0, 2, 3, 1]));
      const y = forward(input);
      const data = await y.data();
      input.dispose();
      y.dispose();
      return data as Float32Array;
    },
  };
}

async function main(): Promise<void> {
  const req = oursOnly ? null : ensureInstalled();
  const started = performance.now();
  console.log(`npm run bench:peers: ${machineLine(2)}`);
  const backend = await wasmBackend();
  const backend2 = await createBackend('wasm-simd', { threads: 2 }) as WasmBackend;
  if (backend2.threads !== 2) console.error(`repvgg-wasm runs ${backend2.threads} thread(s), not 2: ${backend2.threadsReason}`);
  /** The same fused model (same seeds) on a backend. */
  const fusedOn = (b: WasmBackend) => {
    const multi = createRepVGG(b, 'A0', { numClasses: CLASSES, seed: 1 });
    randomizeBatchNorms(multi, 5);
    multi.eval();
    const f = repvggModelConvert(multi).eval();
    multi.dispose();
    return f;
  };
  const fused = fusedOn(backend);
  const fused2 = fusedOn(backend2);

  const engines: Engine[] = [];
  if (req) {
    const onnx = exportOnnx(fused);
    const onnxPath = new URL('repvgg-a0.onnx', PEERS_DIR);
    writeFileSync(onnxPath, onnx);
    console.log(`exported the fused A0 to bench/peers/repvgg-a0.onnx (${(onnx.length / 2 ** 20).toFixed(1)} MiB, opset 13)`);
    // onnxruntime-node first: see onnxruntimeNode.
    for (const [name, make] of [
      ['onnxruntime-node', () => onnxruntimeNode(req, onnx)],
      ['onnxruntime-web', () => onnxruntimeWeb(req, onnx)],
      ['onnxruntime-web, 2 threads', () => onnxruntimeWebThreaded(req, onnx, 2)],
      ['TensorFlow.js wasm', () => tfjsWasm(req, fused)],
    ] as const) {
      try {
        engines.push(await make());
      } catch (e) {
        console.error(`${name}: could not be set up: ${(e as Error).message}`);
      }
    }
  }

  const timingOpts = quick ? { maxTime: 0.3, minSamples: 3, manualSamples: 3 } : { maxTime: 1, minSamples: 6, manualSamples: 6 };
  interface Row { batch: number; engine: Pick<Engine, 'name' | 'threads'>; t: PairTiming; err: number }
  const rows: Row[] = [];
  /** Our samples per batch and thread count ("n/threads"), pooled over the pairs. */
  const oursByBatch = new Map<string, number[]>();
  const pool = (n: number, threads: number, samples: number[]) =>
    oursByBatch.set(`${n}/${threads}`, [...(oursByBatch.get(`${n}/${threads}`) ?? []), ...samples]);
  const UNPLANNED = { name: 'repvgg-wasm, deploy model unplanned, direct convs (reference)', threads: 1 };
  const OURS_2 = { name: 'repvgg-wasm, 2 threads, against its 1 thread', threads: 2 };
  for (const n of BATCHES) {
    const data = fillRandom(new Float32Array(n * 3 * SIZE * SIZE), 1000 + n);
    const x = Tensor.from(backend, data, [n, 3, SIZE, SIZE]);
    const plan = InferencePlan.create(fused, { batch: n, inputSize: [SIZE, SIZE] });
    const ours = async () => { const y = plan.run(x); y.toFloat32Array(); y.dispose(); };
    const yOurs = plan.run(x);
    const ref = yOurs.toFloat32Array();
    yOurs.dispose();
    const x2 = Tensor.from(backend2, data, [n, 3, SIZE, SIZE]);
    const plan2 = InferencePlan.create(fused2, { batch: n, inputSize: [SIZE, SIZE] });
    const ours2 = async () => { const y = plan2.run(x2); y.toFloat32Array(); y.dispose(); };
    const y2 = plan2.run(x2);
    const err2 = relErr(y2.toFloat32Array(), ref);
    y2.dispose();
    if (err2 !== 0) throw new Error(`batch ${n}: repvgg-wasm on 2 threads differs from 1 thread by ${err2.toExponential(2)}`);
    // The reference row: the deploy model's own forward, every conv direct, against the plan.
    fused.convAlgorithm = 'direct';
    const unplanned = async () => { const y = fused.forward(x); y.toFloat32Array(); y.dispose(); };
    const yDirect = fused.forward(x);
    const errDirect = relErr(yDirect.toFloat32Array(), ref);
    yDirect.dispose();
    if (!(errDirect <= TOL)) throw new Error(`batch ${n}: the unplanned direct forward differs from the plan by ${errDirect.toExponential(2)}`);
    const td = await timePairAsync(`unplanned n=${n}`, unplanned, ours, timingOpts);
    rows.push({ batch: n, engine: UNPLANNED, t: td, err: errDirect });
    pool(n, 1, td.b.samples);
    console.log(`  batch ${n} ${'repvgg-wasm unplanned direct'.padEnd(28)} ${td.a.median.toFixed(1).padStart(8)} ms   planned ${td.b.median.toFixed(1).padStart(8)} ms   ` +
      `unplanned/planned x${td.ratio.toFixed(2)}   logits rel. err ${errDirect.toExponential(1)} (${td.method})`);
    // Our 2 threads against our 1 thread (the ratio: 2-thread time / 1-thread time).
    const t2 = await timePairAsync(`ours 2 threads n=${n}`, ours2, ours, timingOpts);
    rows.push({ batch: n, engine: OURS_2, t: t2, err: 0 });
    pool(n, 2, t2.a.samples);
    pool(n, 1, t2.b.samples);
    console.log(`  batch ${n} ${'repvgg-wasm 2 threads'.padEnd(28)} ${t2.a.median.toFixed(1).padStart(8)} ms   1 thread ${t2.b.median.toFixed(1).padStart(8)} ms   ` +
      `speed-up x${(1 / t2.ratio).toFixed(2)} (${t2.method})`);
    for (const e of engines) {
      const err = relErr(await e.run(data, n), ref);
      if (!(err <= TOL)) {
        console.error(`${e.name}, batch ${n}: logits differ from repvgg-wasm's by ${err.toExponential(2)} (> ${TOL}): not timed`);
        continue;
      }
      const t = await timePairAsync(`${e.name} n=${n}`, async () => { await e.run(data, n); }, e.threads === 2 ? ours2 : ours, timingOpts);
      rows.push({ batch: n, engine: e, t, err });
      pool(n, e.threads, t.b.samples);
      console.log(`  batch ${n} ${e.name.padEnd(28)} ${t.a.median.toFixed(1).padStart(8)} ms   repvgg-wasm (${e.threads}t) ${t.b.median.toFixed(1).padStart(8)} ms   ` +
        `peer/ours x${t.ratio.toFixed(2)}   logits rel. err ${err.toExponential(1)} (${t.method})`);
    }
    plan.dispose();
    plan2.dispose();
    x.dispose();
    x2.dispose();
  }

  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
  const table = formatTable(
    ['batch', 'threads', 'engine', 'ms (p10-p90)', 'img/s', 'repvgg-wasm ms, same pairs', 'peer / repvgg-wasm time', 'logits vs ours'],
    [
      ...BATCHES.flatMap((n) => [1, 2].flatMap((threads) => {
        const ours = oursByBatch.get(`${n}/${threads}`);
        const head = ours ? [[String(n), String(threads), 'repvgg-wasm (this engine, planned fused model)', `${fmt(median(ours))}`,
          (n / median(ours) * 1000).toFixed(1), '-', '1', '-']] : [];
        return [...head, ...rows.filter((r) => r.batch === n && r.engine.threads === threads).map((r) => [
          String(n), String(threads), r.engine.name, `${fmt(r.t.a.median)} (${fmt(r.t.a.p10)}-${fmt(r.t.a.p90)})`,
          (n / r.t.a.median * 1000).toFixed(1), fmt(r.t.b.median), `x${r.t.ratio.toFixed(2)}`, r.err.toExponential(1),
        ])];
      })),
    ],
  );
  const md = [
    PEERS_BEGIN,
    '## Against other engines',
    '',
    machineLine(2),
    `Command: \`npm run bench:peers${quick ? ' -- --quick' : ''}\`, ${((performance.now() - started) / 1000).toFixed(0)} s. ` +
      'RepVGG-A0 fused (deploy form), 224x224, 1000 classes, the same weights in every engine (random init, random BN ' +
      'statistics, converted): onnxruntime reads this library\'s ONNX export (`exportOnnx`, opset 13); TensorFlow.js gets ' +
      'the same kernels through tf ops. Each engine\'s logits are checked against ours (norm-wise relative error, within ' +
      `${TOL}) before it is timed. One thread, and 2 threads where the engine runs them (onnxruntime-web; TensorFlow.js ` +
      'turns its threads off in Node). Each peer is timed interleaved with repvgg-wasm on as many threads (A B B A); ' +
      '"peer / repvgg-wasm time" above 1 means repvgg-wasm is faster. The repvgg-wasm lines pool their samples of all pairs; ' +
      'the row "repvgg-wasm, 2 threads, against its 1 thread" is our 2-thread time over our 1-thread time (below 1: faster).',
    '',
    ...engines.map((e) => `- ${e.name}: ${e.detail}`),
    `- repvgg-wasm: wasm-simd backend (${backend.isa} build), 1 thread and 2 threads (the same bits); the planned deploy model (InferencePlan, one per ` +
      'batch size: weights packed once, conv + bias + ReLU in one pass, conv algorithm auto: Winograd F(4,3) on the 3x3 ' +
      'stride-1 convs, direct on the stride-2 ones)',
    '- repvgg-wasm unplanned, direct (reference row): the deploy model\'s own forward with every conv on the direct ' +
      'path, timed against the plan (its ratio is unplanned / planned time). A peer against that path: ' +
      '(peer / planned) / (unplanned / planned).',
    '',
    table,
    '',
    PEERS_END,
  ].join('\n');
  console.log(`\n${table}`);
  for (const e of engines) await e.dispose?.();
  backend2.dispose();
  if (oursOnly) return;
  const resultsUrl = new URL('../results.md', PEERS_DIR);
  const old = existsSync(resultsUrl) ? readFileSync(resultsUrl, 'utf8') : '# Benchmark results\n';
  writeFileSync(resultsUrl, replacePeers(old, md));
  console.log('\nwrote the peers section of bench/results.md');
}

await main();
