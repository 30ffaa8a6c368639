// The feature-map picture (src/image/feature-grid.ts): an about-square grid of tiles, each channel
// normalized on its own, viridis from dark purple to yellow.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { featureGrid, viridis } from '../src/image/feature-grid.js';

test('viridis: its ends and monotone brightness', () => {
  assert.equal(viridis(0), [68, 1, 84]);
  assert.equal(viridis(1), [253, 231, 37]);
  assert.equal(viridis(NaN), viridis(0));
  let last = -1;
  for (let t = 0; t <= 1; t += 0.05) {
    const [r, g, b] = viridis(t);
    const luma = 0.299 * r + 0.587 * g + 0.114 * b;
    assert.ok(luma > last, `brighter at ${t.toFixed(2)}`);
    last = luma;
  }
});

test('10 channels of 4x4: a 4x3 grid, tiles scaled to 32 pixels, each channel min-max normalized', () => {
  const [c, h, w] = [10, 4, 4];
  const map = new Float32Array(c * h * w);
  // Channel ch is a ramp from ch * 100 to ch * 100 + 15: every channel spans the full colormap.
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) map[ch * h * w + i] = ch * 100 + i;
  const g = featureGrid(map, c, h, w);
  assert.equal([g.cols, g.rows, g.scale], [4, 3, 8]);
  assert.equal([g.width, g.height], [4 * 33 + 1, 3 * 33 + 1]);
  const px = (x: number, y: number) => [...g.rgb.subarray((y * g.width + x) * 3, (y * g.width + x) * 3 + 3)];
  for (const ch of [0, 9]) {
    const [x0, y0] = [1 + (ch % 4) * 33, 1 + Math.floor(ch / 4) * 33];
    assert.equal(px(x0, y0), viridis(0), `channel ${ch}: its minimum is dark`);
    assert.equal(px(x0 + 31, y0 + 31), viridis(1), `channel ${ch}: its maximum is bright`);
  }
  assert.equal(px(0, 0), [24, 24, 24], 'the gaps');
  assert.throws(() => featureGrid(new Float32Array(3), 1, 2, 2), /needs 4 values, got 3/);
});

test.run();
