// The demo page: starts the worker (which loads the library and its kernels), shows what runs,
// and wires the three panels. `window.demo` exposes the panels' state to the console and to the
// browser test (test/browser.test.ts).
// URL options: ?simd=plain pins the plain-SIMD build; ?backend=reference runs the TypeScript backend.
import { createClient } from './client.js';
import { initPredictPanel } from './panels/predict.js';
import { initSpeedPanel } from './panels/speed.js';
import { initTrainPanel } from './panels/train.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const demo = { ready: false, error: null, runtime: null };
globalThis.demo = demo;

const client = createClient(new URL('./worker.js', import.meta.url));
demo.client = client;
const predictPanel = initPredictPanel(client, demo);
const trainPanel = initTrainPanel(client, demo, { onTrained: (info) => predictPanel.trained(info) });
const speedPanel = initSpeedPanel(client, demo);

try {
  const rt = await client.call('init', {
    relaxedSimd: params.get('simd') === 'plain' ? false : 'auto',
    kind: params.get('backend') ?? 'auto',
  });
  demo.runtime = rt;
  $('rt-backend').textContent = rt.name;
  $('rt-isa').textContent = rt.isa ?? 'none (TypeScript loops)';
  $('rt-threads').textContent = `${rt.threads} thread${rt.threads === 1 ? '' : 's'}`;
  $('rt-isolated').textContent = rt.isolated ? 'cross-origin isolated' : 'not isolated';
  $('rt-reason').textContent = `Why ${rt.threads === 1 ? 'one thread' : `${rt.threads} threads`}: ${rt.reason}.` +
    (rt.cores ? ` This device reports ${rt.cores} logical cores.` : '') + ` Kernels ready in ${rt.ms.toFixed(0)} ms.`;
  trainPanel.ready();
  speedPanel.ready();
  demo.ready = true;
} catch (e) {
  demo.error = e.message;
  $('rt-backend').textContent = 'failed';
  $('train-status').textContent = `Could not start: ${e.message}`;
  $('train-status').classList.add('error');
}
