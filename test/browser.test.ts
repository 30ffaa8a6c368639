// The browser demo (examples/browser/) in a real browser: Debian's Chromium driven by
// playwright-core, the page served by the demo's own server (examples/browser/server.mjs) on a
// free port of 127.0.0.1. The library runs in the page as built and as browsers load it (ES
// modules from a static server, the .wasm found next to them), and must agree with Node: logits
// within TOL_RUNTIMES, a training run bit for bit (also across a stop and a resume), fused vs
// multi-branch within TOL_NETWORK; the downloaded weights run in `repvgg predict`; an official-
// format .pth dropped on the page loads and predicts. A screenshot of each panel goes to a
// temporary folder (printed). npm test runs this file on both WASM builds: the page follows
// REPVGG_RELAXED_SIMD (?simd=plain for 0).
//
// Without Chromium the tests are skipped with a message, except in CI (CI=true), where a
// missing browser fails: .ci/run installs it.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { readTorch } from '../src/io/torch.js';
import { readNpy, writeNpy } from '../src/io/npy.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { encodePng } from '../src/image/png-write.js';
import { readModelMetadata } from '../src/models/metadata.js';
import { configFromWeights } from '../src/models/config-from-weights.js';
import { RepVGG, repvggModelConvert } from '../src/models/repvgg.js';
import { loadStateDict } from '../src/models/state-dict.js';
import { Tensor } from '../src/tensor.js';
import { loadSource, MNIST_MEAN, MNIST_STD } from '../src/data/sources.js';
import { BatchLoader } from '../src/data/loader.js';
import { train } from '../src/train/train.js';
import * as lib from '../src/index.js';
import { cli, ok } from './helpers/cli.js';
import { relErr } from './helpers/compare.js';
import { modelFixtureBytes } from './helpers/models.js';
import { TOL_NETWORK, TOL_RUNTIMES } from './helpers/tolerances.js';

const ROOT = new URL('../../', import.meta.url);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const IN_CI = process.env.CI === 'true';
const PLAIN = process.env.REPVGG_RELAXED_SIMD === '0';
const DIGITS = new URL('dist/demo/digits.bin', ROOT);
/** The run the page and Node both make: small, fixed seed, augmentation on (its draws must agree too). */
const RUN = { network: 'tiny', digits: 2000, epochs: 1, batchSize: 32, lr: 0.1, seed: 7, augment: true };
/** 2000 digits in batches of 32, the last (smaller) one dropped. */
const STEPS = 62;

/** The page's state (examples/browser/app.js), as far as these tests read it. */
interface DemoState {
  ready: boolean;
  error: string | null;
  runtime: { name: string; isa: string | null; threads: number; reason: string; isolated: boolean } | null;
  train: { status: string; error?: string; losses: number[]; result: null | {
    losses: number[]; trainForm: { correct: number; count: number }; deployForm: { correct: number; count: number } } };
  speed: { status: string; results: Record<string, { batch: number; multiMs: number; fusedMs: number; plannedMs: number; fusedErr: number; plannedErr: number }[]> };
  predict: { busy: boolean; error: string | null; models: { trained: unknown; file: null | { arch: string; form: string; classes: number } };
    last: null | { source: string; x: number[] | Float32Array; shape: number[]; logits: Float32Array; top: { index: number; prob: number; name: string }[] } };
}
declare global {
  interface Window { demo: DemoState }
}

/** Node's backend, one for the whole file (tensors of one op share a backend); REPVGG_RELAXED_SIMD
 *  picks its build. */
let shared: Promise<WasmBackend> | null = null;
function nodeBackend(): Promise<WasmBackend> {
  shared ??= createBackend('wasm-simd') as Promise<WasmBackend>;
  return shared;
}

function skipOrFail(reason: string): void {
  const how = 'install it with `apt-get install -y chromium` (Debian/Ubuntu), or set CHROMIUM=/path/to/chrome';
  if (IN_CI) {
    test('a real browser for the browser tests (required in CI)', () => {
      assert.unreachable(`${reason}; CI=true, so the browser tests must run: ${how}`);
    });
  } else {
    console.log(`browser tests SKIPPED: ${reason}; ${how} (in CI they run: .ci/run installs Chromium)`);
  }
}

if (!existsSync(CHROMIUM)) {
  skipOrFail(`no Chromium at ${CHROMIUM}`);
} else {
  registerBrowserTests();
}
test.run();

function registerBrowserTests(): void {
  let server: { url: string; origin: string; close(): Promise<void> };
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const wasmTypes = new Map<string, string>();
  const shots = mkdtempSync(join(tmpdir(), `repvgg-browser-${PLAIN ? 'simd' : 'auto'}-`));
  let nodeSession: { losses: number[]; deploy: RepVGG; trainCorrect: number; deployCorrect: number } | null = null;

  /** `fn` of the page's window.demo, run in the page (fn is sent as source: it closes over nothing). */
  const demo = <T>(fn: (d: DemoState) => T): Promise<T> => page.evaluate(`(${fn.toString()})(window.demo)`) as Promise<T>;
  const waitFor = (fn: string, timeout = 60_000) => page.waitForFunction(fn, undefined, { timeout });

  test.before(async () => {
    const { startDemoServer } = await import(new URL('examples/browser/server.mjs', ROOT).href);
    server = await startDemoServer({ port: 0, host: '127.0.0.1' });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Quiet and offline: no sandbox (containers), no GPU, no background connections.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on('response', (r) => {
      if (r.url().endsWith('.wasm')) wasmTypes.set(r.url(), r.headers()['content-type'] ?? '');
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    await page.goto(`${server.url}${PLAIN ? '?simd=plain' : ''}`);
    await waitFor('window.demo && (window.demo.ready || window.demo.error)');
  });

  test.after(async () => {
    console.log(`browser screenshots: ${shots}`);
    nodeSession?.deploy.dispose();
    await browser?.close();
    await server?.close();
  });

  test('the page loads with no console errors; cross-origin isolated; the .wasm next to the modules as application/wasm', async () => {
    const rt = await demo((d) => ({ error: d.error, runtime: d.runtime }));
    assert.is(rt.error, null, `the page started: ${rt.error}`);
    const backend = await nodeBackend();
    assert.is(rt.runtime!.name, 'wasm-simd');
    // The same build as Node's: what the bitwise comparisons below rest on.
    assert.is(rt.runtime!.isa, backend.isa, `the page runs the ${rt.runtime!.isa} build, Node the ${backend.isa} one`);
    // The demo's worker is in an isolated page: the library runs its threads there (Web Workers),
    // as many as the browser reports cores.
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    assert.is(rt.runtime!.threads, cores, `threads in the page's worker: ${rt.runtime!.reason}`);
    assert.match(rt.runtime!.reason, cores > 1 ? /workers share the WASM memory/ : /one thread/);
    assert.ok(rt.runtime!.isolated, 'crossOriginIsolated (COOP/COEP from the demo server)');
    const shown = await page.textContent('#rt-isa');
    assert.is(shown, backend.isa);
    const wasm = [...wasmTypes];
    assert.is(wasm.length, 1, `one kernel module fetched: ${wasm.map(([u]) => u).join(', ')}`);
    // The threads builds (shared memory) when the worker runs threads, else the plain ones.
    assert.match(wasm[0][0], PLAIN ? /\/dist\/wasm\/repvgg(-threads)?\.wasm$/ : /\/dist\/wasm\/repvgg(-threads)?(-relaxed)?\.wasm$/);
    assert.is(wasm[0][1], 'application/wasm');
    assert.equal(problems, []);
    await page.locator('header').screenshot({ path: join(shots, '0-header.png') });
  });

  test('the library in the page: the fixture model\'s logits within TOL_RUNTIMES of Node\'s; fused within TOL_NETWORK', async () => {
    const n = 2;
    const x = Float32Array.from({ length: n * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) * 1.5);
    const inPage = await page.evaluate(async ({ x, n }) => {
      const lib = await import('/dist/src/index.js' as string);
      const b = await lib.createBackend('auto', { relaxedSimd: new URLSearchParams(location.search).get('simd') === 'plain' ? false : 'auto' });
      const bytes = new Uint8Array(await (await fetch('/test/fixtures/models/small_train.pt')).arrayBuffer());
      const { tensors } = lib.readTorch(bytes);
      const m = new lib.RepVGG(b, { ...lib.configFromWeights(tensors).config, init: false });
      lib.loadStateDict(m, tensors);
      m.eval();
      const xt = lib.Tensor.from(b, Float32Array.from(x), [n, 3, 32, 32]);
      const logits = Array.from(m.forward(xt).toFloat32Array() as Float32Array);
      const d = lib.repvggModelConvert(m);
      d.eval();
      const fused = Array.from(d.forward(xt).toFloat32Array() as Float32Array);
      return { logits, fused, isa: b.isa as string };
    }, { x: Array.from(x), n });
    const backend = await nodeBackend();
    const { tensors } = readTorch(modelFixtureBytes('small_train.pt'));
    const m = new RepVGG(backend, { ...configFromWeights(tensors).config, init: false });
    loadStateDict(m, tensors);
    m.eval();
    const xt = Tensor.from(backend, x, [n, 3, 32, 32]);
    const y = m.forward(xt);
    const node = y.toFloat32Array();
    xt.dispose();
    y.dispose();
    m.dispose();
    assert.is(inPage.isa, backend.isa);
    const err = relErr(inPage.logits, node);
    assert.ok(err < TOL_RUNTIMES, `page vs Node logits: ${err}`);
    const fusedErr = relErr(inPage.fused, inPage.logits);
    assert.ok(fusedErr < TOL_NETWORK, `fused vs multi-branch in the page: ${fusedErr}`);
  });

  test('a training run in the page (stopped and resumed) gives bit for bit the losses of the same run in Node', async () => {
    await page.selectOption('select[name=network]', RUN.network);
    await page.selectOption('select[name=digits]', String(RUN.digits));
    for (const k of ['epochs', 'batchSize', 'lr', 'seed'] as const) await page.fill(`input[name=${k}]`, String(RUN[k]));
    // Stop at once, then resume: the worker stops after its next batch, and the run must not notice.
    await page.click('#train-go');
    await page.click('#train-stop');
    await waitFor('window.demo.train.status !== "running"');
    const stopped = await demo((d) => ({ status: d.train.status, steps: d.train.losses.length }));
    assert.is(stopped.status, 'stopped', `the run stopped (${JSON.stringify(stopped)})`);
    assert.ok(stopped.steps >= 1 && stopped.steps < STEPS, `stopped after a batch, before the end: after ${stopped.steps} of ${STEPS} steps`);
    await page.click('#train-resume');
    await waitFor('window.demo.train.status !== "running"', 120_000);
    const r = await demo((d) => ({ status: d.train.status, error: d.train.error, result: d.train.result }));
    assert.is(r.status, 'done', `the run finished: ${r.error ?? ''}`);

    // The same run in Node: the page's session module on the same digits...
    const backend = await nodeBackend();
    const { digitsFromBytes } = await import(new URL('examples/browser/lib/digits.js', ROOT).href);
    const { TrainingSession } = await import(new URL('examples/browser/lib/session.js', ROOT).href);
    const data = digitsFromBytes(lib, new Uint8Array(readFileSync(DIGITS)), RUN.digits);
    const s = new TrainingSession(lib, backend, data, RUN);
    assert.ok(await s.run());
    const { deployModel, trainForm, deployForm } = s.finish();
    s.dispose();
    nodeSession = { losses: s.losses, deploy: deployModel, trainCorrect: trainForm.correct, deployCorrect: deployForm.correct };
    assert.is(s.losses.length, STEPS);
    assert.equal(r.result!.losses, s.losses, 'every loss equal, bit for bit');
    assert.is(r.result!.trainForm.correct, trainForm.correct);
    assert.is(r.result!.deployForm.correct, deployForm.correct);
    assert.is(r.result!.deployForm.correct, r.result!.trainForm.correct, 'deploy form scores as the training form');

    // ... and that session is the library's own loop: train() reports the same running means.
    const src = await loadSource('mnist', { limit: RUN.digits, testLimit: data.test.n });
    const trainLoader = new BatchLoader(src.train, { batchSize: RUN.batchSize, shuffle: true, seed: RUN.seed, dropLast: true });
    const testLoader = new BatchLoader(src.test, { batchSize: 128, shuffle: false, augment: false });
    const means: number[] = [];
    const result = await train(backend, { train: trainLoader, test: testLoader }, {
      model: s.config, epochs: RUN.epochs, batchSize: RUN.batchSize, lr: RUN.lr, optimizer: 'sgd', weightDecay: 1e-4,
      momentum: 0.9, nesterov: true, seed: RUN.seed,
    }, { onBatch: (b) => means.push(b.loss) });
    result.model.dispose();
    result.deployModel.dispose();
    let sum = 0;
    const running = s.losses.map((l: number, i: number) => (sum += l * RUN.batchSize) / ((i + 1) * RUN.batchSize));
    assert.equal(running, means, 'train()\'s running mean losses, bit for bit');
    await page.locator('#panel-train').screenshot({ path: join(shots, '1-train.png') });
  });

  test('the downloaded deploy file runs in `repvgg predict` and gives the Node-trained model\'s logits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'repvgg-browser-dl-'));
    try {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#dl-deploy')]);
      const file = join(dir, 'digits-deploy.safetensors');
      await download.saveAs(file);
      assert.is(download.suggestedFilename(), 'repvgg-digits-deploy.safetensors');
      const backend = await nodeBackend();
      const { digitsFromBytes } = await import(new URL('examples/browser/lib/digits.js', ROOT).href);
      const { test: testSet } = digitsFromBytes(lib, new Uint8Array(readFileSync(DIGITS)), 1);
      const loader = new BatchLoader(testSet, { batchSize: 4, shuffle: false, augment: false });
      const batch = loader.batches(0).next().value!;
      const xPath = join(dir, 'x.npy');
      writeFileSync(xPath, writeNpy({ dtype: 'float32', shape: [4, 1, 32, 32], data: batch.x }));
      const r = ok(cli('predict', '--weights', file, '--input', xPath, '--output', join(dir, 'y.npy')), 'predict on the page\'s file');
      assert.match(r.stdout, /custom RepVGG \(blocks 1,1,1,1, widths 0\.25,0\.25,0\.25,0\.5\), 10 classes, 1x32x32 input, deploy form/);
      const y = readNpy(new Uint8Array(readFileSync(join(dir, 'y.npy'))));
      const xt = Tensor.from(backend, batch.x, [4, 1, 32, 32]);
      const want = nodeSession!.deploy.forward(xt);
      const err = relErr(y.data as Float32Array, want.toFloat32Array());
      xt.dispose();
      want.dispose();
      assert.ok(err < TOL_RUNTIMES, `CLI on the downloaded file vs the Node-trained deploy model: ${err}`);
      // The page writes the library's metadata: predict takes a digit image with nothing else.
      const meta = readModelMetadata(readSafetensors(new Uint8Array(readFileSync(file))).metadata)!;
      assert.equal(meta.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      assert.equal(meta.preprocessing, { resize: 28, crop: [32, 32], mean: [...MNIST_MEAN], std: [...MNIST_STD] });
      const png = join(dir, 'digit.png');
      const raw = testSet.pixels.subarray(0, 32 * 32) as Uint8Array;
      writeFileSync(png, encodePng(Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => raw[Math.floor(i / 3)]), 32, 32));
      const p = ok(cli('predict', '--weights', file, '--image', png, '--json', '--topk', '2'), 'predict --image on the page\'s file');
      const top = JSON.parse(p.stdout.trim()).top as { label: string; index: number }[];
      assert.equal(top.map((t) => t.label), top.map((t) => String(t.index)), 'the digits\' names');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('speed panel: fused and planned within TOL_NETWORK of multi-branch at every batch size', async () => {
    await page.click('#speed-digits');
    await waitFor('window.demo.speed.status !== "running"', 120_000);
    const s = await demo((d) => d.speed);
    assert.is(s.status, 'done');
    const rows = s.results.digits;
    assert.equal(rows.map((r) => r.batch), [1, 8, 32]);
    for (const r of rows) {
      assert.ok(r.fusedErr < TOL_NETWORK && r.plannedErr < TOL_NETWORK, `batch ${r.batch}: errors ${r.fusedErr}, ${r.plannedErr}`);
      assert.ok([r.multiMs, r.fusedMs, r.plannedMs].every((t) => t > 0 && Number.isFinite(t)), `batch ${r.batch}: times`);
    }
    const cells = await page.locator('#speed-table tbody tr').count();
    assert.is(cells, 4, 'a heading row and three batch rows');
    await page.locator('#panel-speed').screenshot({ path: join(shots, '2-speed.png') });
  });

  test('predict: a digit drawn on the pad gets a top-5 from the page-trained model; logits as Node\'s for that input', async () => {
    const pad = page.locator('#pad');
    await pad.scrollIntoViewIfNeeded();
    const box = (await pad.boundingBox())!;
    const at = (x: number, y: number): [number, number] => [box.x + x * box.width, box.y + y * box.height];
    await page.mouse.move(...at(0.28, 0.22));
    await page.mouse.down();
    for (const [x, y] of [[0.72, 0.22], [0.6, 0.5], [0.48, 0.8]]) await page.mouse.move(...at(x, y), { steps: 8 });
    await page.mouse.up();
    await waitFor('window.demo.predict.last && !window.demo.predict.busy');
    const last = (await demo((d) => ({ ...d.predict.last!, x: Array.from(d.predict.last!.x), logits: Array.from(d.predict.last!.logits) })));
    assert.is(last.source, 'trained');
    assert.equal(last.shape, [1, 1, 32, 32]);
    assert.is(last.top.length, 5);
    assert.ok(last.top.every((t, i) => t.name === String(t.index) && (i === 0 || t.prob <= last.top[i - 1].prob)), 'digits, most likely first');
    const backend = await nodeBackend();
    const xt = Tensor.from(backend, Float32Array.from(last.x), [1, 1, 32, 32]);
    const y = nodeSession!.deploy.forward(xt);
    const err = relErr(last.logits, y.toFloat32Array());
    xt.dispose();
    y.dispose();
    assert.ok(err < TOL_RUNTIMES, `page vs Node logits for the drawn digit: ${err}`);
    assert.equal(problems, [], 'no console errors so far');
  });

  test('a dropped official-format .pth (small_train.pt) loads and predicts: logits as Node\'s; an image dropped next', async () => {
    const bytes = Array.from(modelFixtureBytes('small_train.pt'));
    // A real drop event carrying the file, as a drag from the desktop delivers it.
    await page.evaluate((bytes) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(bytes)], 'small_train.pt', { type: 'application/octet-stream' }));
      document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    await waitFor('window.demo.predict.models.file || window.demo.predict.error');
    assert.is(await demo((d) => d.predict.error), null, 'the file loaded');
    await waitFor('window.demo.predict.last && window.demo.predict.last.source === "file" && !window.demo.predict.busy');
    const info = await demo((d) => d.predict.models.file!);
    assert.match(info.arch, /^custom RepVGG \(blocks 2,3,2,1/);
    assert.is(info.form, 'training');
    assert.is(info.classes, 10);
    const check = async (what: string) => {
      const last = await demo((d) => ({ ...d.predict.last!, x: Array.from(d.predict.last!.x), logits: Array.from(d.predict.last!.logits) }));
      assert.is(last.source, 'file', what);
      assert.equal(last.shape, [1, 3, 32, 32], what);
      assert.is(last.top.length, 5, what);
      const backend = await nodeBackend();
      const { tensors } = readTorch(modelFixtureBytes('small_train.pt'));
      const m = new RepVGG(backend, { ...configFromWeights(tensors).config, init: false });
      loadStateDict(m, tensors);
      m.eval();
      const xt = Tensor.from(backend, Float32Array.from(last.x), [1, 3, 32, 32]);
      const y = m.forward(xt);
      const err = relErr(last.logits, y.toFloat32Array());
      xt.dispose();
      y.dispose();
      m.dispose();
      assert.ok(err < TOL_RUNTIMES, `${what}: page vs Node logits ${err}`);
    };
    await check('the drawing through the .pth model');
    // An image file dropped next: a PNG the page makes (white "3" on grey) goes through the same path.
    await page.evaluate(async () => {
      const c = new OffscreenCanvas(64, 48);
      const g = c.getContext('2d')!;
      g.fillStyle = '#888';
      g.fillRect(0, 0, 64, 48);
      g.fillStyle = '#fff';
      g.font = 'bold 40px sans-serif';
      g.fillText('3', 20, 40);
      const blob = await c.convertToBlob({ type: 'image/png' });
      window.demo.predict.last = null;
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'three.png', { type: 'image/png' }));
      document.getElementById('drop')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await waitFor('window.demo.predict.last && !window.demo.predict.busy');
    await check('a dropped PNG through the .pth model');
    await page.locator('#panel-predict').screenshot({ path: join(shots, '3-predict.png') });
    await page.screenshot({ path: join(shots, 'page.png'), fullPage: true });
    assert.equal(problems, [], 'no console errors, failed requests or HTTP errors in the whole session');
  });
}
