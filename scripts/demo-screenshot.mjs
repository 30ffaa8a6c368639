// How docs/demo.png is made (a manual step, after `npm run build`): the demo page in headless
// Chromium, the training panel run with its defaults, the digits network timed, a "2" drawn on
// the pad, then the whole page captured. Prints the browser's version for the README.
//   node scripts/demo-screenshot.mjs [--a0] [--out docs/demo.png]     (CHROMIUM=/path/to/chrome)
// --a0 also times RepVGG-A0 at 224x224 (about a minute on a busy machine).
import { statSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startDemoServer } from '../examples/browser/server.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const out = arg('out', new URL('../docs/demo.png', import.meta.url).pathname);
const server = await startDemoServer({ port: 0 });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 0.8 });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForFunction(() => window.demo?.ready || window.demo?.error);
  await page.click('#train-go');
  await page.waitForFunction(() => window.demo.train.status !== 'running', null, { timeout: 300_000 });
  for (const id of process.argv.includes('--a0') ? ['#speed-a0', '#speed-digits'] : ['#speed-digits']) {
    await page.click(id);
    await page.waitForFunction(() => window.demo.speed.status !== 'running', null, { timeout: 600_000 });
  }
  // A "2": the top arc, the diagonal, the base.
  const pad = page.locator('#pad');
  await pad.scrollIntoViewIfNeeded();
  const box = await pad.boundingBox();
  const at = (x, y) => [box.x + x * box.width, box.y + y * box.height];
  const path = [[0.3, 0.32], [0.38, 0.2], [0.52, 0.16], [0.65, 0.22], [0.68, 0.36], [0.6, 0.5], [0.45, 0.64], [0.3, 0.8], [0.5, 0.8], [0.72, 0.8]];
  await page.mouse.move(...at(...path[0]));
  await page.mouse.down();
  for (const p of path.slice(1)) await page.mouse.move(...at(...p), { steps: 6 });
  await page.mouse.up();
  await page.waitForFunction(() => window.demo.predict.last && !window.demo.predict.busy);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: out, fullPage: true });
  const r = await page.evaluate(() => ({ acc: window.demo.train.result?.deployForm.top1, top: window.demo.predict.last.top[0], rt: window.demo.runtime }));
  console.log(`${out}: ${(statSync(out).size / 1024).toFixed(0)} KB; ${browser.version()}; ${r.rt.name} ${r.rt.isa}; ` +
    `deploy accuracy ${r.acc}; the drawing read as ${r.top.index} (p=${r.top.prob.toFixed(3)})`);
} finally {
  await browser.close();
  await server.close();
}
