// A picture of a feature map: every channel as a tile in a grid (about square), each min-max
// normalized on its own (so a channel of small values still shows its pattern) and coloured with
// viridis, a perceptually uniform colormap that also reads in grayscale.

/** Viridis at 9 evenly spaced points (from its published table); colours between are interpolated. */
const VIRIDIS: readonly [number, number, number][] = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];

/** Viridis colour of t in [0, 1]. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as [number, number, number];
}

export interface Grid { rgb: Uint8Array; width: number; height: number; cols: number; rows: number; scale: number }

/** The grid picture of one image's map [c, h, w]: tiles scaled up (nearest) to at least
 *  `minTile` pixels, one-pixel dark gaps between them. */
export function featureGrid(map: Float32Array, c: number, h: number, w: number, minTile = 32): Grid {
  if (map.length !== c * h * w) throw new Error(`featureGrid: [${c}, ${h}, ${w}] needs ${c * h * w} values, got ${map.length}`);
  const cols = Math.ceil(Math.sqrt(c));
  const rows = Math.ceil(c / cols);
  const scale = Math.max(1, Math.ceil(minTile / Math.max(h, w)));
  const [th, tw] = [h * scale, w * scale];
  const width = cols * (tw + 1) + 1;
  const height = rows * (th + 1) + 1;
  const rgb = new Uint8Array(width * height * 3).fill(24);
  for (let ch = 0; ch < c; ch++) {
    const plane = map.subarray(ch * h * w, (ch + 1) * h * w);
    let lo = Infinity, hi = -Infinity;
    for (const v of plane) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const span = hi > lo ? hi - lo : 1;
    const [x0, y0] = [1 + (ch % cols) * (tw + 1), 1 + Math.floor(ch / cols) * (th + 1)];
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const [r, g, b] = viridis((plane[Math.floor(y / scale) * w + Math.floor(x / scale)] - lo) / span);
        const o = ((y0 + y) * width + x0 + x) * 3;
        rgb[o] = r; rgb[o + 1] = g; rgb[o + 2] = b;
      }
    }
  }
  return { rgb, width, height, cols, rows, scale };
}
