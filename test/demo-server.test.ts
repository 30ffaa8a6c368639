// The browser demo's static server (examples/browser/server.mjs), over HTTP on a free port: the
// types browsers insist on (application/wasm, JavaScript modules), cross-origin isolation on every
// response, '/' to the demo, directories to index.html, and nothing outside the repository.
// Runs without a browser (test/browser.test.ts drives the page itself).
import { request } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = new URL('../../', import.meta.url);
const { startDemoServer } = await import(new URL('examples/browser/server.mjs', ROOT).href);
const server: { origin: string; url: string; close(): Promise<void> } = await startDemoServer({ port: 0, host: '127.0.0.1' });

/** A raw request (the path is sent as written: no client-side normalization of '..'). */
function get(path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(server.origin);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.end();
  });
}

const isolated = (h: Record<string, unknown>, what: string) => {
  assert.is(h['cross-origin-opener-policy'], 'same-origin', `${what}: COOP`);
  assert.is(h['cross-origin-embedder-policy'], 'require-corp', `${what}: COEP`);
};

test('the kernels as application/wasm, modules as JavaScript, the page as HTML; all cross-origin isolated', async () => {
  for (const [path, type] of [
    ['/dist/wasm/repvgg.wasm', 'application/wasm'],
    ['/dist/src/index.js', 'text/javascript; charset=utf-8'],
    ['/examples/browser/worker.js', 'text/javascript; charset=utf-8'],
    ['/examples/browser/server.mjs', 'text/javascript; charset=utf-8'],
    ['/examples/browser/style.css', 'text/css; charset=utf-8'],
    ['/examples/browser/', 'text/html; charset=utf-8'],
  ]) {
    const r = await get(path);
    assert.is(r.status, 200, path);
    assert.is(r.headers['content-type'], type, path);
    isolated(r.headers, path);
  }
  const wasm = await get('/dist/wasm/repvgg.wasm', 'HEAD');
  assert.is(wasm.body, '', 'HEAD has no body');
  assert.ok(Number(wasm.headers['content-length']) > 1000, 'HEAD gives the length');
});

test('/ goes to the demo; a directory without its slash gets one', async () => {
  const root = await get('/');
  assert.is(root.status, 302);
  assert.is(root.headers.location, '/examples/browser/');
  const dir = await get('/examples/browser');
  assert.is(dir.status, 301);
  assert.is(dir.headers.location, '/examples/browser/');
});

test('nothing outside the repository; missing files and other methods refused', async () => {
  for (const path of ['/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd', '/dist/%00x']) {
    const r = await get(path);
    assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status}`);
    assert.not.match(r.body, /root:/, `${path}: no /etc/passwd`);
    isolated(r.headers, path);
  }
  const missing = await get('/dist/no-such-file.js');
  assert.is(missing.status, 404);
  assert.match(missing.body, /npm run build/);
  assert.is((await get('/examples/browser/', 'POST')).status, 405);
});

test.after(() => server.close());
test.run();
