// Winograd F(2x2,3x3) and F(4x4,3x3) (assembly/conv2d_winograd.ts) against the direct convolution
// (assembly/conv.ts) on every distinct 3x3 stride-1 layer of RepVGG-A0 at 224x224 (48 channels on
// 56x56, 96 on 28x28, 192 on 14x14; the stride-2 first blocks and the 1280-wide last stage are not
// 3x3 stride 1), at batch 1 and 8, and on the 64->64 56x56 layer of bench/kernels.ts. Then the
// flipped use (conv2d's input gradient) on A0's stride-1 layers at 32x32, batch 128 (48 channels on
// 8x8, 96 on 4x4, 192 on 2x2) against conv2d_backward_input.
//
// Both sides call the kernels directly with their workspaces allocated once, so the times are the
// kernels' alone. The direct forward packs its weights on every call (that is how it runs); the
// Winograd weights are packed once (a deploy model packs once), and the packing time is given
// separately: a training step would pay it once per step and layer.
//
// Timing: this machine is shared and its clock moves, so the algorithms of one shape run in
// interleaved rounds (the order rotating each round) and each round gives one time per algorithm
// (a mean over enough calls to last ~25 ms); the table gives the median over rounds and the
// p10-p90 spread, and the speed-up is the median of the per-round ratios.
//
// --accuracy instead measures errors (no timing): each algorithm and F(4,3) point set against a
// float64 direct convolution written here, on RepVGG-like layers (inputs N(0, 1), He-scaled
// weights), then the logits of a fused RepVGG-A0 (random weights, non-trivial BN statistics folded
// in) with its 3x3 stride-1 convs on Winograd against the same model on the direct conv.
//
// Usage: node dist/bench/winograd.js [--quick] [--rounds N] [--accuracy]   (under flock /tmp/bench.lock)
import { createBackend, createRepVGG, repvggModelConvert } from '../src/index.js';
import type { Conv2dShape } from '../src/backend.js';
import type { WasmBackend, WasmBuf } from '../src/backends/wasm/index.js';
import { fillRandom, randomizeBatchNorms, randomTensor } from './setup.js';
import { formatTable, machineLine, median, quantile } from './stats.js';

interface Layer { name: string; n: number; c: number; h: number; k: number; groups: number }

const FORWARD_LAYERS: Layer[] = [
  { name: 'A0 stage1 48->48 56x56', n: 1, c: 48, h: 56, k: 48, groups: 1 },
  { name: 'A0 stage2 96->96 28x28', n: 1, c: 96, h: 28, k: 96, groups: 1 },
  { name: 'A0 stage3 192->192 14x14', n: 1, c: 192, h: 14, k: 192, groups: 1 },
  { name: '64->64 56x56', n: 1, c: 64, h: 56, k: 64, groups: 1 },
];
// Beyond A0: where the rule's boundaries lie (few channels, maps of 7, 3, 2 and 1, wide layers).
const RULE_LAYERS: Layer[] = [
  { name: '8->8 56x56', n: 1, c: 8, h: 56, k: 8, groups: 1 },
  { name: '16->16 56x56', n: 1, c: 16, h: 56, k: 16, groups: 1 },
  { name: '640->640 14x14 (B2 stage3)', n: 1, c: 640, h: 14, k: 640, groups: 1 },
  { name: '640->640 g2 14x14 (B2g2 stage3)', n: 1, c: 640, h: 14, k: 640, groups: 2 },
  { name: '256->256 7x7', n: 8, c: 256, h: 7, k: 256, groups: 1 },
  { name: '128->128 5x5', n: 8, c: 128, h: 5, k: 128, groups: 1 },
  { name: '128->128 3x3', n: 8, c: 128, h: 3, k: 128, groups: 1 },
  { name: '128->128 2x2', n: 8, c: 128, h: 2, k: 128, groups: 1 },
  { name: '128->128 1x1', n: 8, c: 128, h: 1, k: 128, groups: 1 },
];
const TRAINING_LAYERS: Layer[] = [
  { name: 'A0@32 stage1 48->48 8x8', n: 128, c: 48, h: 8, k: 48, groups: 1 },
  { name: 'A0@32 stage2 96->96 4x4', n: 128, c: 96, h: 4, k: 96, groups: 1 },
  { name: 'A0@32 stage3 192->192 2x2', n: 128, c: 192, h: 2, k: 192, groups: 1 },
];

type Algo = 'direct' | 'F(2,3)' | 'F(4,3)';
const ALGOS: Algo[] = ['direct', 'F(2,3)', 'F(4,3)'];

/** 2 N K C/groups 9 H W: the direct convolution's multiply-adds, for every algorithm. */
function flops(l: Layer): number {
  return 2 * l.n * l.k * (l.c / l.groups) * 9 * l.h * l.h;
}

class Buffers {
  private readonly bufs: WasmBuf[] = [];
  constructor(readonly b: WasmBackend) {}
  floats(length: number, seed?: number): WasmBuf {
    const buf = this.b.alloc(length);
    if (seed !== undefined) fillRandom(this.b.view(buf), seed);
    this.bufs.push(buf);
    return buf;
  }
  bytes(bytes: number): WasmBuf { return this.floats(Math.ceil(bytes / 4)); }
  free(): void { for (const buf of this.bufs.splice(0)) this.b.free(buf); }
}

/** A function per algorithm computing the layer (forward, or backward input when `backward`). */
function runners(b: WasmBackend, bufs: Buffers, l: Layer, backward: boolean): { run: Record<Algo, () => void>; packMs: Record<'F(2,3)' | 'F(4,3)', number>; out: Record<Algo, WasmBuf> } {
  const K = b.kernels;
  const { n, c, h, k, groups } = l;
  const p = 1;
  const w = bufs.floats(k * (c / groups) * 9, 2);
  // forward: x [n, c, h, h] -> y [n, k, h, h]; backward input: dy [n, k, h, h] -> dx [n, c, h, h].
  const src = bufs.floats(n * (backward ? k : c) * h * h, 1);
  const outLen = n * (backward ? c : k) * h * h;
  const shape = [n, c, h, h, k, 3, 3, 1, 1, p, p, groups, h, h] as const;
  const out = {} as Record<Algo, WasmBuf>;
  const run = {} as Record<Algo, () => void>;
  const packMs = {} as Record<'F(2,3)' | 'F(4,3)', number>;
  out.direct = bufs.floats(outLen);
  if (backward) {
    const ws = bufs.bytes(K.conv2d_backward_input_workspace(...shape, 0, 1));
    run.direct = () => K.conv2d_backward_input(src.ptr, w.ptr, out.direct.ptr, ...shape, 0, ws.ptr);
  } else {
    const ws = bufs.bytes(K.conv2d_workspace(...shape, 0, 1));
    run.direct = () => K.conv2d(src.ptr, w.ptr, 0, out.direct.ptr, ...shape, 0, ws.ptr);
  }
  for (const m of [2, 4] as const) {
    const algo: 'F(2,3)' | 'F(4,3)' = m === 2 ? 'F(2,3)' : 'F(4,3)';
    // Packing (the weight transform) timed on its own; the flipped packing of the input gradient
    // costs the same (the same transform of the same weights).
    const u = bufs.bytes(K.conv2d_packed_bytes(k, c, groups, 3, 3, m));
    const pack = () => K.conv2d_pack_weight(w.ptr, u.ptr, k, c, groups, 3, 3, m);
    pack();
    const t: number[] = [];
    for (let i = 0; i < 5; i++) { const t0 = performance.now(); pack(); t.push(performance.now() - t0); }
    packMs[algo] = median(t);
    out[algo] = bufs.floats(outLen);
    if (backward) {
      // conv2d_backward_input packs the flipped kernel on every call: subtract packMs for the run alone.
      const ws = bufs.bytes(K.conv2d_backward_input_workspace(...shape, m, 1));
      run[algo] = () => K.conv2d_backward_input(src.ptr, w.ptr, out[algo].ptr, ...shape, m, ws.ptr);
    } else {
      const ws = bufs.bytes(K.conv2d_packed_workspace(...shape, m, 1));
      run[algo] = () => K.conv2d_packed(src.ptr, u.ptr, 0, out[algo].ptr, ...shape, m, 0, ws.ptr);
    }
  }
  return { run, packMs, out };
}

function relErr(a: Float32Array, ref: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) { num += (a[i] - ref[i]) ** 2; den += ref[i] ** 2; }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

interface Row { layer: Layer; algo: Algo; ms: number; p10: number; p90: number; speedup: number; packMs: number | null; err: number }

function measure(b: WasmBackend, l: Layer, backward: boolean, rounds: number): Row[] {
  const bufs = new Buffers(b);
  try {
    const { run, packMs, out } = runners(b, bufs, l, backward);
    // Warm-up (V8 tiers WASM up in the background), then calls per sample for ~25 ms.
    const reps = {} as Record<Algo, number>;
    for (const a of ALGOS) {
      const t0 = performance.now();
      let i = 0;
      for (; i < 3 || performance.now() - t0 < 150; i++) run[a]();
      reps[a] = Math.max(1, Math.round(25 / ((performance.now() - t0) / i)));
    }
    const times = Object.fromEntries(ALGOS.map((a) => [a, [] as number[]])) as Record<Algo, number[]>;
    for (let r = 0; r < rounds; r++) {
      const order = ALGOS.map((_, i) => ALGOS[(i + r) % ALGOS.length]);
      for (const a of order) {
        const t0 = performance.now();
        for (let i = 0; i < reps[a]; i++) run[a]();
        times[a].push((performance.now() - t0) / reps[a]);
      }
    }
    const ref = b.view(out.direct).slice();
    return ALGOS.map((a) => ({
      layer: l, algo: a, ms: median(times[a]), p10: quantile(times[a], 0.1), p90: quantile(times[a], 0.9),
      speedup: median(times.direct.map((t, i) => t / times[a][i])),
      packMs: a === 'direct' ? null : packMs[a], err: a === 'direct' ? 0 : relErr(b.view(out[a]), ref),
    }));
  } finally {
    bufs.free();
  }
}

function table(rows: Row[]): string {
  return formatTable(
    ['layer', 'batch', 'algorithm', 'ms (median)', 'p10-p90 ms', 'effective GFLOP/s', 'speed-up vs direct', 'weight packing ms', 'rel. error vs direct'],
    rows.map((r) => [r.layer.name, String(r.layer.n), r.algo, r.ms.toFixed(2), `${r.p10.toFixed(2)}-${r.p90.toFixed(2)}`,
      (flops(r.layer) / r.ms / 1e6).toFixed(1), r.algo === 'direct' ? '-' : `x${r.speedup.toFixed(2)}`,
      r.packMs === null ? '-' : r.packMs.toFixed(2), r.algo === 'direct' ? '-' : r.err.toExponential(1)]),
  );
}

function log(r: Row): void {
  console.log(`  ${r.layer.name.padEnd(28)} n=${String(r.layer.n).padEnd(4)} ${r.algo.padEnd(7)} ${r.ms.toFixed(2).padStart(8)} ms ` +
    `(${r.p10.toFixed(2)}-${r.p90.toFixed(2)})  ${(flops(r.layer) / r.ms / 1e6).toFixed(1).padStart(6)} GFLOP/s` +
    (r.algo === 'direct' ? '' : `  x${r.speedup.toFixed(2)}  pack ${r.packMs!.toFixed(2)} ms  err ${r.err.toExponential(1)}`));
}


// ---- accuracy ----

/** F(4,3) point sets by the m argument's set number (assembly/conv2d_winograd_pack.ts, pointA/pointB). */
const POINT_SETS: [number, string][] = [
  [5, '0, +-5/8, +-3/2 (default)'], [1, '0, +-1, +-2 (Lavin & Gray)'], [2, '0, +-1, +-1/2'],
  [3, '0, +-1/2, +-2'], [4, '0, +-2/3, +-3/2'],
];

/** Standard normal values (Box-Muller on a 32-bit LCG), rounded to float32. */
function normals(length: number, std: number, seed: number): Float32Array {
  const a = new Float32Array(length);
  let s = seed >>> 0;
  const u = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 2 ** 32; };
  for (let i = 0; i < length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), t = 2 * Math.PI * u();
    a[i] = std * r * Math.cos(t);
    if (i + 1 < length) a[i + 1] = std * r * Math.sin(t);
  }
  return a;
}

/** The float64 direct 3x3 convolution, stride 1, padding p (groups 1). */
function conv3x3F64(x: Float32Array, w: Float32Array, n: number, c: number, h: number, k: number, p: number): Float64Array {
  const oh = h + 2 * p - 2;
  const y = new Float64Array(n * k * oh * oh);
  for (let im = 0; im < n; im++) {
    for (let ko = 0; ko < k; ko++) {
      const yo = (im * k + ko) * oh * oh;
      for (let ci = 0; ci < c; ci++) {
        const xo = (im * c + ci) * h * h;
        for (let r = 0; r < 3; r++) {
          for (let q = 0; q < 3; q++) {
            const wv = w[((ko * c + ci) * 3 + r) * 3 + q];
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy - p + r;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < oh; ox++) {
                const ix = ox - p + q;
                if (ix >= 0 && ix < h) y[yo + oy * oh + ox] += x[xo + iy * h + ix] * wv;
              }
            }
          }
        }
      }
    }
  }
  return y;
}

function relErrF64(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) { num += (a[i] - ref[i]) ** 2; den += ref[i] ** 2; }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** Per-layer errors against float64: direct float32, F(2,3), F(4,3) on each point set. */
function layerAccuracy(b: WasmBackend, quick: boolean): string {
  const K = b.kernels;
  // n, c -> k, map (padding 1)
  const layers: [number, number, number, number][] = quick
    ? [[1, 48, 48, 28], [2, 192, 192, 7]]
    : [[1, 3, 16, 56], [1, 16, 16, 56], [1, 48, 48, 56], [1, 64, 64, 56], [1, 96, 96, 28], [2, 192, 192, 14],
      [4, 256, 256, 7], [8, 256, 256, 3], [16, 192, 192, 2], [16, 128, 128, 1]];
  const header = ['layer', 'direct float32', 'F(2,3)', ...POINT_SETS.map(([, name]) => `F(4,3) ${name}`)];
  const rows: string[][] = [];
  const maxima = new Array(header.length - 1).fill(0);
  layers.forEach(([n, c, k, h], li) => {
    const bufs = new Buffers(b);
    try {
      const x = normals(n * c * h * h, 1, 11 + li), w = normals(k * c * 9, Math.sqrt(2 / (9 * c)), 101 + li);
      const ref = conv3x3F64(x, w, n, c, h, k, 1);
      const X = bufs.floats(x.length), W = bufs.floats(w.length), Y = bufs.floats(ref.length);
      b.view(X).set(x);
      b.view(W).set(w);
      const errs: number[] = [];
      const s: Conv2dShape = { n, c, h, w: h, k, kh: 3, kw: 3, sh: 1, sw: 1, ph: 1, pw: 1, groups: 1, oh: h, ow: h };
      b.conv2d(s, X, W, null, Y, 'direct');
      errs.push(relErrF64(b.view(Y), ref));
      for (const m of [2, ...POINT_SETS.map(([set]) => 4 | (set << 8))]) {
        const u = bufs.bytes(K.conv2d_packed_bytes(k, c, 1, 3, 3, m));
        K.conv2d_pack_weight(W.ptr, u.ptr, k, c, 1, 3, 3, m);
        const ws = bufs.bytes(K.conv2d_packed_workspace(n, c, h, h, k, 3, 3, 1, 1, 1, 1, 1, h, h, m, 1));
        K.conv2d_packed(X.ptr, u.ptr, 0, Y.ptr, n, c, h, h, k, 3, 3, 1, 1, 1, 1, 1, h, h, m, 0, ws.ptr);
        errs.push(relErrF64(b.view(Y), ref));
      }
      errs.forEach((e, i) => { maxima[i] = Math.max(maxima[i], e); });
      rows.push([`${c}->${k} ${h}x${h}, batch ${n}`, ...errs.map((e) => e.toExponential(1))]);
      console.log(`  ${rows[rows.length - 1].join('  ')}`);
    } finally {
      bufs.free();
    }
  });
  rows.push(['**largest**', ...maxima.map((e) => `**${e.toExponential(1)}**`)]);
  return formatTable(header, rows);
}

/** Logits of a fused RepVGG with its 3x3 stride-1 convs on Winograd, against the direct conv. */
function networkAccuracy(b: WasmBackend, arch: string, size: number, n: number): string[][] {
  const K = b.kernels;
  const multi = createRepVGG(b, arch, { numClasses: 1000, seed: 1 });
  randomizeBatchNorms(multi, 5);
  multi.eval();
  const fused = repvggModelConvert(multi).eval();
  const x = randomTensor(b, [n, 3, size, size], 7);
  const original = b.conv2d;
  let m = 0;
  // Every conv runs with algo m (0: direct; Winograd applies to the 3x3 stride-1 convs, the
  // kernels run the others direct), whatever the model asks, so point sets can be compared too.
  b.conv2d = (s, X, W, B, Y) => {
    const shape = [s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow] as const;
    const bufs = new Buffers(b);
    try {
      const ws = bufs.bytes(K.conv2d_workspace(...shape, m, 1));
      K.conv2d((X as WasmBuf).ptr, (W as WasmBuf).ptr, B ? (B as WasmBuf).ptr : 0, (Y as WasmBuf).ptr, ...shape, m, ws.ptr);
    } finally {
      bufs.free();
    }
  };
  const logits = (model: typeof fused): Float32Array => { const y = model.forward(x); const a = y.toFloat32Array(); y.dispose(); return a; };
  try {
    const ref = logits(fused);
    const refMulti = logits(multi);
    const rows: string[][] = [[`${arch} ${size}x${size}, batch ${n}`, 'direct (fused vs multi-branch)', relErrF64(ref, refMulti).toExponential(1)]];
    for (const mm of [2, 4, 4 | (1 << 8)]) {
      m = mm;
      rows.push(['', mm === 2 ? 'F(2,3)' : mm === 4 ? 'F(4,3), default points' : 'F(4,3), Lavin & Gray points', relErrF64(logits(fused), ref).toExponential(1)]);
      m = 0;
    }
    for (const r of rows) console.log(`  ${r.join('  ')}`);
    return rows;
  } finally {
    b.conv2d = original;
    x.dispose();
    multi.dispose();
    fused.dispose();
  }
}

async function accuracy(quick: boolean): Promise<void> {
  const b = (await createBackend('wasm-simd', { threads: 1 })) as WasmBackend;
  console.log('Per-layer error against a float64 direct convolution (||ours - ref|| / ||ref||), padding 1:');
  const layers = layerAccuracy(b, quick);
  console.log('\nLogits of a fused RepVGG, stride-1 3x3 convs on Winograd, against the same model on the direct conv:');
  const net = quick ? networkAccuracy(b, 'A0', 32, 2) : [...networkAccuracy(b, 'A0', 224, 1), ...networkAccuracy(b, 'A0', 32, 8)];
  console.log('\n### Per-layer error against float64\n');
  console.log(layers);
  console.log('\n### Network logits\n');
  console.log(formatTable(['model', 'convs', 'relative error of the logits vs direct'], net));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  if (args.includes('--accuracy')) return accuracy(quick);
  const ri = args.indexOf('--rounds');
  const rounds = ri >= 0 ? Number(args[ri + 1]) : quick ? 3 : 9;
  const b = (await createBackend('wasm-simd', { threads: 1 })) as WasmBackend;
  console.log(machineLine());
  const fwd: Row[] = [];
  for (const n of quick ? [1] : [1, 8]) {
    for (const l of FORWARD_LAYERS) {
      for (const r of measure(b, { ...l, n }, false, rounds)) { log(r); fwd.push(r); }
    }
  }
  const rule: Row[] = [];
  if (!quick) {
    for (const l of RULE_LAYERS) {
      for (const r of measure(b, l, false, rounds)) { log(r); rule.push(r); }
    }
  }
  const bwd: Row[] = [];
  for (const l of TRAINING_LAYERS) {
    for (const r of measure(b, quick ? { ...l, n: 16 } : l, true, rounds)) { log(r); bwd.push(r); }
  }
  console.log('\n### Forward (3x3, stride 1, padding 1)\n');
  console.log(table(fwd));
  if (rule.length > 0) {
    console.log('\n### Forward, other shapes (where the rule changes)\n');
    console.log(table(rule));
  }
  console.log('\n### Backward input (flipped packing) on the A0 training shapes\n');
  console.log(table(bwd));
}

await main();
