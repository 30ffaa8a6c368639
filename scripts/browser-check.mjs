// Manual check (needs Chromium, e.g. Debian's `chromium`; not part of the tests): the built library
// loads in a real browser as ES modules, `createBackend()` fetches the .wasm next to the modules,
// and A0 runs and converts; the page is loaded twice, plain and cross-origin isolated (COOP and
// COEP headers), and each time the backend says how many threads it runs and why not more. Run
// after `npm run build`:
//   node scripts/browser-check.mjs            (CHROMIUM=/path/to/chrome to pick another browser)
import { execFile } from 'node:child_process';
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

const types = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Serves the page and the built files (isolated: with COOP and COEP), loads it in Chromium, and
 *  resolves to the page's result line. */
function check(isolated) {
  return new Promise((resolve) => {
    const headers = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
    const server = http.createServer(async (req, res) => {
      const path = req.url.split('?')[0];
      try {
        const body = path === '/' ? page : await readFile(join(root, path));
        res.writeHead(200, { ...headers, 'content-type': types[path.slice(path.lastIndexOf('.'))] ?? 'text/html' });
        res.end(body);
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

let ok = true;
for (const isolated of [false, true]) {
  const result = await check(isolated);
  console.log(`browser${isolated ? ' (cross-origin isolated)' : ''}: ${result}`);
  ok &&= result.startsWith('ok ');
}
process.exitCode = ok ? 0 : 1;
