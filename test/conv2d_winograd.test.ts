// Winograd F(2x2,3x3) and F(4x4,3x3) (assembly/conv2d_winograd.ts), called through conv2d's exports with
// algo 2 or 4 (conv2d_pack_weight + conv2d_packed, conv2d_backward_input), straight through the
// kernel exports, against a float64 direct convolution written here and against the float32
// direct kernels (conv2d_forward, conv2d_backward_input) of the wasm backend.
//
// Data as in RepVGG: inputs N(0, 1), He-scaled weights (std sqrt(2 / (9 * c / groups))), biases
// N(0, 0.1). Outputs are pre-filled with garbage and the workspace with NaN, so an output the
// kernel skips, or a workspace byte it reads before writing, fails the comparison.
//
// Tolerance: TOL_FORWARD (1e-5, test/helpers/tolerances.ts) for one kernel's forward (norm-wise relative error), for both F(2,3)
// and F(4,3), against the float64 reference and against the float32 direct kernel. Measured on
// these shapes (printed at the end of the run): F(2,3) at most 6.5e-7, F(4,3) with its default
// points (0, +-5/8, +-3/2, inf) at most 1.9e-6 (the 520-channel case; 1.5e-6 or less up to 256
// channels), i.e. 5x or more under the tolerance; the float32 direct kernel itself is at 1e-7..8e-7. The input-gradient use (flipped packing) is held to the
// same 1e-5, tighter than the 1e-4 for gradients (TOL_BACKWARD), as it is a forward convolution.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/index.js';
import type { Conv2dShape } from '../src/backend.js';
import type { WasmBackend, WasmBuf } from '../src/backends/wasm/index.js';
import { relErr, TOL_FORWARD } from './helpers/compare.js';
import { Rng } from './helpers/random.js';

const wasm = (await createBackend('wasm-simd')) as WasmBackend;
const K = wasm.kernels;
const GARBAGE = 1234.5;
/** The m argument: 2, 4, or 4 | (set << 8) for the point sets of the accuracy study. */
const ALGOS = [2, 4] as const;
const maxErr: Record<number, number> = { 2: 0, 4: 0 };

interface Case {
  n: number; c: number; k: number; groups: number; h: number; w: number; pad: number;
  bias: boolean; relu: boolean;
}

function label(s: Case): string {
  return `n=${s.n} ${s.c}->${s.k} g${s.groups} ${s.h}x${s.w} p${s.pad}${s.bias ? ' bias' : ''}${s.relu ? ' relu' : ''}`;
}

// ---- float64 references, straight from the definitions ----

/** y[n, k, oy, ox] = bias[k] + sum over the group's ci and the 3x3 taps (zero padding), ReLU'd. */
function conv3x3F64(s: Case, x: Float32Array, w: Float32Array, bias: Float32Array | null): Float64Array {
  const { n, c, k, groups, h, w: wd, pad } = s;
  const cg = c / groups, kg = k / groups;
  const oh = h + 2 * pad - 2, ow = wd + 2 * pad - 2;
  const y = new Float64Array(n * k * oh * ow);
  for (let im = 0; im < n; im++) {
    for (let ko = 0; ko < k; ko++) {
      const g = Math.floor(ko / kg);
      const yo = (im * k + ko) * oh * ow;
      if (bias) y.fill(bias[ko], yo, yo + oh * ow);
      for (let ci = 0; ci < cg; ci++) {
        const xo = (im * c + g * cg + ci) * h * wd;
        for (let r = 0; r < 3; r++) {
          for (let q = 0; q < 3; q++) {
            const wv = w[((ko * cg + ci) * 3 + r) * 3 + q];
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy - pad + r;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < ow; ox++) {
                const ix = ox - pad + q;
                if (ix < 0 || ix >= wd) continue;
                y[yo + oy * ow + ox] += x[xo + iy * wd + ix] * wv;
              }
            }
          }
        }
      }
      if (s.relu) for (let i = yo; i < yo + oh * ow; i++) y[i] = Math.max(y[i], 0);
    }
  }
  return y;
}

/** dx[n, ci, iy, ix] = sum over the group's ko and taps of dy[n, ko, iy + p - r, ix + p - q] w[ko, ci, r, q]. */
function conv3x3InputGradF64(s: Case, dy: Float32Array, w: Float32Array): Float64Array {
  const { n, c, k, groups, h, w: wd, pad } = s;
  const cg = c / groups, kg = k / groups;
  const oh = h + 2 * pad - 2, ow = wd + 2 * pad - 2;
  const dx = new Float64Array(n * c * h * wd);
  for (let im = 0; im < n; im++) {
    for (let ko = 0; ko < k; ko++) {
      const g = Math.floor(ko / kg);
      const yo = (im * k + ko) * oh * ow;
      for (let ci = 0; ci < cg; ci++) {
        const xo = (im * c + g * cg + ci) * h * wd;
        for (let r = 0; r < 3; r++) {
          for (let q = 0; q < 3; q++) {
            const wv = w[((ko * cg + ci) * 3 + r) * 3 + q];
            for (let oy = 0; oy < oh; oy++) {
              const iy = oy - pad + r;
              if (iy < 0 || iy >= h) continue;
              for (let ox = 0; ox < ow; ox++) {
                const ix = ox - pad + q;
                if (ix < 0 || ix >= wd) continue;
                dx[xo + iy * wd + ix] += dy[yo + oy * ow + ox] * wv;
              }
            }
          }
        }
      }
    }
  }
  return dx;
}

// ---- kernel calls ----

class Bufs {
  private readonly list: WasmBuf[] = [];
  of(data: ArrayLike<number>): WasmBuf { const buf = this.floats(data.length); wasm.view(buf).set(data); return buf; }
  floats(length: number, fill = 0): WasmBuf {
    const buf = wasm.alloc(length);
    if (fill !== 0) wasm.view(buf).fill(fill);
    this.list.push(buf);
    return buf;
  }
  bytes(bytes: number, fill = 0): WasmBuf { return this.floats(Math.ceil(bytes / 4), fill); }
  free(): void { for (const buf of this.list.splice(0)) wasm.free(buf); }
}

/** Winograd with `algo` m: forward through conv2d_pack_weight + conv2d_packed (bias and ReLU
 *  fused), or the input gradient through conv2d_backward_input (which packs the flipped kernel). */
function winograd(bufs: Bufs, s: Case, x: WasmBuf, w: WasmBuf, bias: WasmBuf | null, m: number, flipped: boolean): Float32Array {
  const sh = shapeOf(s);
  const shape = [sh.n, sh.c, sh.h, sh.w, sh.k, 3, 3, 1, 1, sh.ph, sh.pw, sh.groups, sh.oh, sh.ow] as const;
  if (flipped) {
    const dx = bufs.floats(s.n * s.c * s.h * s.w, GARBAGE);
    const ws = bufs.bytes(K.conv2d_backward_input_workspace(...shape, m, 1), NaN);
    K.conv2d_backward_input(x.ptr, w.ptr, dx.ptr, ...shape, m, ws.ptr);
    return wasm.view(dx).slice();
  }
  const u = bufs.bytes(K.conv2d_packed_bytes(s.k, s.c, s.groups, 3, 3, m), NaN);
  K.conv2d_pack_weight(w.ptr, u.ptr, s.k, s.c, s.groups, 3, 3, m);
  const y = bufs.floats(s.n * s.k * sh.oh * sh.ow, GARBAGE);
  const ws = bufs.bytes(K.conv2d_packed_workspace(...shape, m, 1), NaN);
  K.conv2d_packed(x.ptr, u.ptr, bias ? bias.ptr : 0, y.ptr, ...shape, m, s.relu ? 1 : 0, ws.ptr);
  return wasm.view(y).slice();
}

function shapeOf(s: Case): Conv2dShape {
  return { n: s.n, c: s.c, h: s.h, w: s.w, k: s.k, kh: 3, kw: 3, sh: 1, sw: 1, ph: s.pad, pw: s.pad,
    groups: s.groups, oh: s.h + 2 * s.pad - 2, ow: s.w + 2 * s.pad - 2 };
}

function data(s: Case, seed: number) {
  const rng = new Rng(seed);
  const x = rng.normals(s.n * s.c * s.h * s.w);
  const w = rng.normals(s.k * (s.c / s.groups) * 9, Math.sqrt(2 / (9 * s.c / s.groups)));
  const bias = s.bias ? rng.normals(s.k, 0.1) : null;
  return { x, w, bias };
}

function check(ours: Float32Array, ref: ArrayLike<number>, what: string, m?: number): number {
  const err = relErr(ours, ref);
  assert.ok(err <= TOL_FORWARD, `${what}: relative error ${err.toExponential(3)} > tolerance ${TOL_FORWARD}`);
  if (m !== undefined) maxErr[m] = Math.max(maxErr[m], err);
  return err;
}

// ---- the shape matrix ----

const CASES: Case[] = [];
{
  // channels in, out, groups
  const channels: [number, number, number][] = [[3, 8, 1], [17, 17, 1], [64, 64, 1], [64, 64, 2], [64, 32, 4]];
  let i = 0;
  for (const map of [1, 2, 3, 5, 7, 14, 56]) {
    for (const [c, k, groups] of channels) {
      if (map === 56 && c === 64) continue; // float64 reference too slow for the 10 s budget
      CASES.push({ n: i % 2 ? 3 : 1, c, k, groups, h: map, w: map, pad: 1, bias: i % 2 === 0, relu: i % 3 === 0 });
      i++;
    }
  }
  CASES.push(
    // padding 0 and 2, maps that are not square or not a multiple of the tile
    { n: 2, c: 17, k: 20, groups: 1, h: 7, w: 9, pad: 0, bias: true, relu: false },
    { n: 1, c: 17, k: 12, groups: 1, h: 5, w: 6, pad: 2, bias: false, relu: true },
    { n: 3, c: 64, k: 64, groups: 4, h: 3, w: 3, pad: 0, bias: true, relu: true },     // 1x1 output
    { n: 1, c: 8, k: 8, groups: 1, h: 1, w: 1, pad: 2, bias: true, relu: false },      // 1x1 input, 3x3 output
    { n: 1, c: 3, k: 8, groups: 1, h: 56, w: 56, pad: 2, bias: false, relu: false },
    { n: 2, c: 64, k: 64, groups: 2, h: 14, w: 13, pad: 2, bias: true, relu: true },
    // blocks: image blocks of 2 + 1 images, and column blocks inside one image's tiles
    { n: 3, c: 17, k: 20, groups: 1, h: 56, w: 56, pad: 1, bias: true, relu: true },
    { n: 1, c: 256, k: 32, groups: 1, h: 28, w: 28, pad: 1, bias: true, relu: false },
    // more input channels than one GEMM pass (512): two passes over the reduction
    { n: 1, c: 520, k: 8, groups: 1, h: 5, w: 5, pad: 1, bias: false, relu: false },
  );
}

CASES.forEach((s, idx) => {
  test(`forward ${label(s)}`, () => {
    const bufs = new Bufs();
    try {
      const { x, w, bias } = data(s, 1000 + idx);
      const ref = conv3x3F64(s, x, w, bias);
      const X = bufs.of(x), W = bufs.of(w), B = bias ? bufs.of(bias) : null;
      // The float32 direct kernel (ReLU applied here when the case has it).
      const Y = bufs.floats(ref.length, GARBAGE);
      wasm.conv2d(shapeOf(s), X, W, B, Y, 'direct');
      const direct = wasm.view(Y).slice();
      if (s.relu) for (let i = 0; i < direct.length; i++) direct[i] = Math.max(direct[i], 0);
      check(direct, ref, `${label(s)} direct vs float64`);
      for (const m of ALGOS) {
        const y = winograd(bufs, s, X, W, B, m, false);
        check(y, ref, `${label(s)} F(${m},3) vs float64`, m);
        check(y, direct, `${label(s)} F(${m},3) vs direct float32`);
      }
    } finally {
      bufs.free();
    }
  });
});

// ---- the flipped packing: conv2d's input gradient ----

const FLIPPED: Case[] = [
  { n: 2, c: 17, k: 12, groups: 1, h: 7, w: 7, pad: 1, bias: false, relu: false },
  { n: 3, c: 64, k: 64, groups: 4, h: 5, w: 5, pad: 1, bias: false, relu: false },
  { n: 1, c: 64, k: 32, groups: 2, h: 14, w: 14, pad: 1, bias: false, relu: false },
  { n: 4, c: 64, k: 64, groups: 1, h: 2, w: 2, pad: 1, bias: false, relu: false },
  { n: 2, c: 8, k: 16, groups: 1, h: 6, w: 5, pad: 0, bias: false, relu: false },
  { n: 1, c: 16, k: 8, groups: 2, h: 9, w: 9, pad: 2, bias: false, relu: false },
];

FLIPPED.forEach((s, idx) => {
  test(`input gradient (flipped packing) ${label(s)}`, () => {
    const bufs = new Bufs();
    try {
      const shape = shapeOf(s);
      const rng = new Rng(2000 + idx);
      const dy = rng.normals(s.n * s.k * shape.oh * shape.ow);
      const w = rng.normals(s.k * (s.c / s.groups) * 9, Math.sqrt(2 / (9 * s.c / s.groups)));
      const ref = conv3x3InputGradF64(s, dy, w);
      const DY = bufs.of(dy), W = bufs.of(w);
      const DX = bufs.floats(ref.length, GARBAGE);
      wasm.conv2dBackwardInput(shape, DY, W, DX, 'direct');
      const direct = wasm.view(DX).slice();
      check(direct, ref, `${label(s)} conv2d_backward_input vs float64`);
      for (const m of ALGOS) {
        const dx = winograd(bufs, s, DY, W, null, m, true);
        check(dx, ref, `${label(s)} F(${m},3) flipped vs float64`, m);
        check(dx, direct, `${label(s)} F(${m},3) flipped vs conv2d_backward_input`);
      }
    } finally {
      bufs.free();
    }
  });
});

// ---- weights packed in the call, a slice at a time ----

// At batch 1 with transformed weights of 2 MiB or more, conv2d and the input gradient pack the
// weights slice by slice beside the GEMMs that read them (conv2d_winograd_range_packing) instead
// of all at once: the same operations on the same values, so the same bits as packing first.
const WIDE: Case = { n: 1, c: 120, k: 140, groups: 1, h: 5, w: 7, pad: 1, bias: true, relu: false };

test(`weights packed in the call slice by slice: the same bits as packed first (${label(WIDE)}, forward)`, () => {
  const bufs = new Bufs();
  try {
    const sh = shapeOf(WIDE);
    const shape = [sh.n, sh.c, sh.h, sh.w, sh.k, 3, 3, 1, 1, sh.ph, sh.pw, sh.groups, sh.oh, sh.ow] as const;
    assert.ok(K.conv2d_packed_bytes(WIDE.k, WIDE.c, 1, 3, 3, 4) >= 2 << 20, 'the case must take the sliced path');
    const { x, w, bias } = data(WIDE, 3000);
    const X = bufs.of(x), W = bufs.of(w), B = bufs.of(bias!);
    const packedFirst = winograd(bufs, WIDE, X, W, B, 4, false);
    // One thread (the plain export) and the backend's threads.
    const y = bufs.floats(packedFirst.length, GARBAGE);
    K.conv2d(X.ptr, W.ptr, B.ptr, y.ptr, ...shape, 4, bufs.bytes(K.conv2d_workspace(...shape, 4, 1), NaN).ptr);
    assert.equal(wasm.view(y).slice(), packedFirst, 'conv2d (one thread) vs conv2d_pack_weight + conv2d_packed');
    wasm.view(y).fill(GARBAGE);
    wasm.conv2d(sh, X, W, B, y, 'winograd4');
    assert.equal(wasm.view(y).slice(), packedFirst, `conv2d (${wasm.threads} threads) vs conv2d_pack_weight + conv2d_packed`);
    check(packedFirst, conv3x3F64(WIDE, x, w, bias), `${label(WIDE)} F(4,3) vs float64`, 4);
  } finally {
    bufs.free();
  }
});

test(`weights packed in the call slice by slice: the same bits as packed first (${label(WIDE)}, input gradient)`, () => {
  const bufs = new Bufs();
  try {
    // The input gradient of a conv with c = 140 inputs, k = 120 outputs is the conv WIDE of the
    // rotated, transposed kernel (padding 2 - p = 1): pack that kernel first and compare.
    const fwd: Case = { ...WIDE, c: WIDE.k, k: WIDE.c, bias: false };
    const sh = shapeOf(fwd);
    const rng = new Rng(3001);
    const dy = rng.normals(fwd.n * fwd.k * sh.oh * sh.ow);
    const w = rng.normals(fwd.k * fwd.c * 9, Math.sqrt(2 / (9 * fwd.c)));
    const wt = new Float32Array(w.length);
    for (let ko = 0; ko < fwd.k; ko++) {
      for (let ci = 0; ci < fwd.c; ci++) {
        for (let t = 0; t < 9; t++) wt[(ci * fwd.k + ko) * 9 + 8 - t] = w[(ko * fwd.c + ci) * 9 + t];
      }
    }
    const DY = bufs.of(dy), W = bufs.of(w), WT = bufs.of(wt);
    const packedFirst = winograd(bufs, { ...WIDE, bias: false }, DY, WT, null, 4, false);
    const sliced = winograd(bufs, fwd, DY, W, null, 4, true);
    assert.equal(sliced, packedFirst, 'conv2d_backward_input vs the rotated kernel packed first');
    const dx = bufs.floats(sliced.length, GARBAGE);
    wasm.conv2dBackwardInput(sh, DY, W, dx, 'winograd4');
    assert.equal(wasm.view(dx).slice(), packedFirst, `conv2d_backward_input on ${wasm.threads} threads`);
    check(sliced, conv3x3InputGradF64(fwd, dy, w), `${label(fwd)} F(4,3) flipped vs float64`, 4);
  } finally {
    bufs.free();
  }
});

// ---- interpolation points of F(4,3) ----

test('F(4,3) point sets: the default (0, +-5/8, +-3/2, inf) is set 5 and beats Lavin & Gray\'s by 1.5x or more', () => {
  const s: Case = { n: 2, c: 96, k: 96, groups: 1, h: 14, w: 14, pad: 1, bias: false, relu: false };
  const bufs = new Bufs();
  try {
    const { x, w } = data(s, 77);
    const ref = conv3x3F64(s, x, w, null);
    const X = bufs.of(x), W = bufs.of(w);
    const names = ['default', '0 +-1 +-2 (Lavin & Gray)', '0 +-1 +-1/2', '0 +-1/2 +-2', '0 +-2/3 +-3/2', '0 +-5/8 +-3/2'];
    const outs = names.map((_, set) => winograd(bufs, s, X, W, null, 4 | (set << 8), false));
    const errs = outs.map((y) => relErr(y, ref));
    console.log(`  F(4,3) on ${label(s)}: ` + names.map((nm, i) => `${nm} ${errs[i].toExponential(2)}`).join(', '));
    assert.equal(outs[0], outs[5], 'the default is set 5');
    assert.ok(errs[0] * 1.5 <= errs[1], `default ${errs[0]} vs Lavin & Gray ${errs[1]}`);
    for (const e of errs) assert.ok(e <= TOL_FORWARD);
  } finally {
    bufs.free();
  }
});

test('packed weight bytes are the same for a conv and its flipped packing (the input gradient reuses the size)', () => {
  for (const [k, c, g] of [[8, 3, 1], [17, 64, 1], [12, 20, 4], [64, 64, 2]]) {
    for (const m of ALGOS) assert.is(K.conv2d_packed_bytes(k, c, g, 3, 3, m), K.conv2d_packed_bytes(c, k, g, 3, 3, m));
  }
});

test('a Winograd algorithm asked for a conv it does not apply to runs direct (stride 2, 1x1 kernels)', () => {
  const bufs = new Bufs();
  try {
    for (const [kh, sh, pad] of [[3, 2, 1], [1, 1, 0]]) {
      const [n, c, h, k] = [2, 8, 9, 12];
      const oh = Math.floor((h + 2 * pad - kh) / sh) + 1;
      const shape = [n, c, h, h, k, kh, kh, sh, sh, pad, pad, 1, oh, oh] as const;
      const rng = new Rng(kh * 10 + sh);
      const X = bufs.of(rng.normals(n * c * h * h)), W = bufs.of(rng.normals(k * c * kh * kh));
      const outs = [0, 4].map((m) => {
        const y = bufs.floats(n * k * oh * oh, GARBAGE);
        const ws = bufs.bytes(K.conv2d_workspace(...shape, m, 1), NaN);
        K.conv2d(X.ptr, W.ptr, 0, y.ptr, ...shape, m, ws.ptr);
        return wasm.view(y).slice();
      });
      assert.equal(outs[1], outs[0], `kernel ${kh}x${kh} stride ${sh}: the same bytes as direct`);
    }
  } finally {
    bufs.free();
  }
});

test('summary', () => {
  console.log(`  largest error vs float64: F(2,3) ${maxErr[2].toExponential(2)}, F(4,3) ${maxErr[4].toExponential(2)} (tolerance ${TOL_FORWARD})`);
});

test.run();
