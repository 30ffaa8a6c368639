// Manual check (needs Chromium, e.g. Debian's `chromium`; not part of the tests): the built library
// loads in a real browser as ES modules, `createBackend()` fetches the .wasm next to the modules,
// and A0 runs and converts; the page is loaded twice, plain and cross-origin isolated (COOP and
// COEP headers), and each time the backend says how many threads it runs and why not more; then
// the isolated page runs the library in a Web Worker on 1 and 3 threads (Web Workers of its own)
// and compares the logits byte for byte. Run after `npm run build`:
//   node scripts/browser-check.mjs            (CHROMIUM=/path/to/chrome to pick another browser)
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const page = `<!doctype html><pre id="out">pending</pre><script type="module">
import { createBackend, createRepVGG, repvggModelConvert, Tensor } from '/dist/src/index.js';
const out = document.getElementById('out');
try {
  const b = await createBackend();
  const m = createRepVGG(b, 'A0', { numClasses: 10 }); m.eval();
  const x = Tensor.fill(b, [1, 3, 32, 32], 0.25);
  const y = m.forward(x).toFloat32Array();
  const d = repvggModelConvert(m); d.eval();
  const y2 = d.forward(x).toFloat32Array();
  let num = 0, den = 0; for (let i = 0; i < y.length; i++) { num += (y[i] - y2[i]) ** 2; den += y[i] ** 2; }
  out.textContent = 'ok backend=' + b.name + ' logits0=' + y[0].toFixed(5) + ' fusedErr=' + Math.sqrt(num / den).toExponential(2) +
    ' threads=' + b.threads + ' (crossOriginIsolated=' + self.crossOriginIsolated + ': ' + b.threadsReason + ')';
} catch (e) { out.textContent = 'error ' + e.message; }
</script>`;

// The library in a Web Worker: threads there are Web Workers of its own. The result comes back as a
// POST (headless Chromium's --dump-dom, with virtual time, does not wait for workers' fetches).
const workerPage = `<!doctype html><script type="module">
const send = (text) => fetch('/result', { method: 'POST', body: text });
const w = new Worker('/threads-worker.js', { type: 'module' });
w.onmessage = (e) => send(e.data);
w.onerror = (e) => send('error ' + e.message);
</script>`;
const threadsWorker = `
import { createBackend, createRepVGG, repvggModelConvert, Tensor } from '/dist/src/index.js';
try {
  const results = [];
  for (const threads of [1, 3]) {
    const b = await createBackend('wasm-simd', { threads });
    const m = repvggModelConvert(createRepVGG(b, 'A0', { numClasses: 10, seed: 1 })); m.eval();
    const x = Tensor.fill(b, [2, 3, 64, 64], 0.25);
    const t0 = performance.now();
    const y = m.forward(x).toFloat32Array();
    results.push({ threads: b.threads, reason: b.threadsReason, y, ms: performance.now() - t0 });
    b.dispose();
  }
  const same = results[0].y.every((v, i) => Object.is(v, results[1].y[i]));
  postMessage('ok threads=' + results.map((r) => r.threads).join(',') + ' sameBits=' + same +
    ' reasons=' + results.map((r) => r.reason).join(',') + ' ms=' + results.map((r) => r.ms.toFixed(0)).join(','));
} catch (e) { postMessage('error ' + e.message); }
`;

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves the page and the built files (isolated: with COOP and COEP), loads it in Chromium, and
 *  resolves to the page's result line. */
function check(isolated, body = page) {
  return new Promise((resolve) => {
    const headers = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    const server = http.createServer(async (req, res) => {
      const path = req.url.split('?')[0];
      try {
        const content = path === '/' ? body : path === '/threads-worker.js' ? threadsWorker : await readFile(join(root, path));
        res.writeHead(200, { ...headers, 'content-type': types[path.slice(path.lastIndexOf('.'))] ?? 'text/html' });
        res.end(content);
      } catch {
        res.writeHead(404);
        res.end();
      }
    }).listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      const browser = process.env.CHROMIUM ?? '/usr/bin/chromium';
      // The flags keep a sandboxed, offline machine quiet (no background connections, no first-run).
      // Asynchronous: the server must keep answering while the browser loads the page.
      execFile(browser, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=/tmp/repvgg-browser-check-${process.pid}-${isolated}`, '--virtual-time-budget=20000', '--dump-dom',
        `http://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: 90_000 }, (err, stdout, stderr) => {
        server.close();
        resolve(/<pre id="out">([^<]*)/.exec(stdout ?? '')?.[1] ?? `no result (${err?.message ?? stderr?.slice(0, 200)})`);
      });
    });
  });
}

/** The isolated page that runs the library in a Web Worker: resolves to the line it posts back. */
function checkWorker() {
  return new Promise((resolve) => {
    let browser;
    const done = (text) => { browser?.kill(); server.close(); resolve(text); };
    const headers = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    const server = http.createServer(async (req, res) => {
      const path = req.url.split('?')[0];
      if (path === '/result') {
        let text = '';
        req.on('data', (d) => { text += d; });
        req.on('end', () => { res.end(); done(text); });
        return;
      }
      try {
        const content = path === '/' ? workerPage : path === '/threads-worker.js' ? threadsWorker : await readFile(join(root, path));
        res.writeHead(200, { ...headers, 'content-type': types[path.slice(path.lastIndexOf('.'))] ?? 'text/html' });
        res.end(content);
      } catch {
        res.writeHead(404);
        res.end();
      }
    }).listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      browser = spawn(process.env.CHROMIUM ?? '/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu',
        '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
        `--user-data-dir=/tmp/repvgg-browser-check-${process.pid}-worker`, `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
      setTimeout(() => done('no result within 90 s'), 90_000).unref();
    });
  });
}

let ok = true;
for (const isolated of [false, true]) {
  const result = await check(isolated);
  console.log(`browser${isolated ? ' (cross-origin isolated)' : ''}: ${result}`);
  ok &&= result.startsWith('ok ');
}
const inWorker = await checkWorker();
console.log(`browser (library in a Web Worker): ${inWorker}`);
ok &&= inWorker.startsWith('ok ') && inWorker.includes('threads=1,3') && inWorker.includes('sameBits=true');
process.exitCode = ok ? 0 : 1;
