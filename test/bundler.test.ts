// The package as a bundler sees it (examples/vite, built by Vite): both .wasm builds are found and
// copied next to the bundle, and the bundled page in Chromium gives Node's logits. Skipped with a
// message without Chromium, except in CI (CI=true), where that fails.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { RepVGG } from '../src/models/repvgg.js';
import { Tensor } from '../src/tensor.js';
import { relErr } from './helpers/compare.js';
import { TOL_FORWARD } from './helpers/tolerances.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** Node's logits for the page's model and input (examples/vite/main.js). */
async function nodeLogits(): Promise<Float32Array> {
  const backend = await createBackend('wasm-simd');
  const model = new RepVGG(backend, { numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5], numClasses: 5, seed: 3 });
  model.eval();
  const x = Tensor.from(backend, Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.01)), [1, 3, 32, 32]);
  return model.forward(x).toFloat32Array();
}

if (!existsSync(CHROMIUM) && process.env.CI !== 'true') {
  console.log(`SKIPPED test/bundler.test.ts: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM=/path)`);
} else {
  test('vite build copies both .wasm builds; the bundled page in Chromium gives Node\'s logits', async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is required in CI: ${CHROMIUM} is missing`);
    const { build } = await import('vite');
    const out = mkdtempSync(join(tmpdir(), 'repvgg-vite-'));
    await build({ root: join(ROOT, 'examples/vite'), logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
    const assets = readdirSync(join(out, 'assets'));
    assert.ok(assets.some((f) => /^repvgg-[\w-]+\.wasm$/.test(f) && !f.startsWith('repvgg-relaxed')), `plain build copied: ${assets.join(', ')}`);
    assert.ok(assets.some((f) => /^repvgg-relaxed-[\w-]+\.wasm$/.test(f)), 'relaxed build copied');

    const server = http.createServer((req, res) => {
      let p = join(out, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      if (p.endsWith('/')) p += 'index.html';
      if (!p.startsWith(out) || !existsSync(p)) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': TYPES[extname(p)] ?? 'application/octet-stream' });
      res.end(readFileSync(p));
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const { port } = server.address() as { port: number };
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.waitForFunction(() => document.getElementById('out')!.textContent !== 'loading', null, { timeout: 60_000 });
      const got = JSON.parse((await page.textContent('#out'))!) as { backend: string; isa: string; logits: number[] };
      assert.equal(errors, [], 'no page errors');
      assert.is(got.backend, 'wasm-simd');
      const ref = await nodeLogits();
      assert.ok(relErr(Float32Array.from(got.logits), ref) <= TOL_FORWARD, `bundled logits vs Node: ${relErr(Float32Array.from(got.logits), ref)}`);
    } finally {
      await browser.close();
      server.close();
    }
  });
}

test.run();
