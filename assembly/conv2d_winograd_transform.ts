// Winograd's input and output transforms, f32x4 over 4 tiles (conv2d_winograd.ts drives them; the
// point sets and their B^T, A^T are described in conv2d_winograd_pack.ts):
//
//   V[xi] = B^T d B        per input tile d ((m+2) x (m+2), stride m) and input channel, written
//                          straight into 8-column B panels: 8 tiles per panel, 4 tiles per f32x4
//   y     = A^T M A (+ bias, ReLU)   per output tile, read from M[panel][xi][kgp][8]
//
// Both walk a column block's tiles through its lane table (fillLanes): per group of 4 tiles, 64
// bytes holding each tile's input offset in the padded block (bytes 0-15), its output offset
// (16-31), and its valid rows (32-47) and columns (48-63). Partial edge tiles read zeros past the
// map and store only the outputs that exist.
import { pointA, pointB } from './conv2d_winograd_pack';
import { f32at, tr0, tr1, tr2, tr3 } from './util';

/** Fills the lane table of a column block: for each tile column q in [q0, q0 + cols) of the image
 *  block (and up to the next multiple of 8, repeating the last tile), its input offset in the
 *  padded block (bytes), its output offset relative to channel 0 of image 0 of the image block
 *  (bytes; the group's channel offset is added by the caller), and its valid rows and columns
 *  (0 rows for the repeated columns). */
export function fillLanes(lanes: usize, q0: i32, cols: i32, mm: i32, tw: i32, tpi: i32, wp: i32, imgStride: i32,
  oh: i32, ow: i32, outImgStride: i32): void {
  const total = (cols + 7) & ~7;
  for (let j = 0; j < total; j++) {
    const q = q0 + (j < cols ? j : cols - 1);
    const img = q / tpi;
    const t = q - img * tpi;
    const ty = t / tw;
    const tx = t - ty * tw;
    const lt = lanes + (<usize>(j >> 2) << 6) + (<usize>(j & 3) << 2);
    store<i32>(lt, (img * imgStride + ty * mm * wp + tx * mm) << 2);
    store<i32>(lt, (img * outImgStride + ty * mm * ow + tx * mm) << 2, 16);
    store<i32>(lt, j < cols ? min(mm, oh - ty * mm) : 0, 32);
    store<i32>(lt, min(mm, ow - tx * mm), 48);
  }
}

/** The 1D F(4,3) input transform of d0..d5, its 6 results stored `stride` bytes apart. */
// @ts-ignore: decorator
@inline function in6(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, out: usize, stride: usize,
  A: v128, B: v128, A2: v128, B2: v128, AB2: v128, S: v128): void {
  const e1 = f32x4.sub(d4, f32x4.mul(B2, d2));
  const o1 = f32x4.mul(A, f32x4.sub(d3, f32x4.mul(B2, d1)));
  const e2 = f32x4.sub(d4, f32x4.mul(A2, d2));
  const o2 = f32x4.mul(B, f32x4.sub(d3, f32x4.mul(A2, d1)));
  v128.store(out, f32x4.add(f32x4.sub(f32x4.mul(AB2, d0), f32x4.mul(S, d2)), d4));
  v128.store(out + stride, f32x4.add(e1, o1));
  v128.store(out + 2 * stride, f32x4.sub(e1, o1));
  v128.store(out + 3 * stride, f32x4.add(e2, o2));
  v128.store(out + 4 * stride, f32x4.sub(e2, o2));
  v128.store(out + 5 * stride, f32x4.add(f32x4.sub(f32x4.mul(AB2, d1), f32x4.mul(S, d3)), d5));
}

/** Input transform F(4,3) of the column block: for every group of 4 tiles (lane offsets in the
 *  lane table) and input channel ci in [c0, c1), V[xi][panel][ci][lane] = (B^T d B)[xi], on the points of point
 *  set `set` (see pointA, pointB). */
export function inputTransform4(xpad: usize, vblk: usize, lanes: usize, nlg: i32, cg: i32, c0: i32, c1: i32, planeB: usize, wpB: usize,
  xiS: usize, hbuf: usize, set: i32): void {
  const fa = <f32>pointA(set), fb = <f32>pointB(set);
  const A = f32x4.splat(fa), B = f32x4.splat(fb);
  const A2 = f32x4.splat(fa * fa), B2 = f32x4.splat(fb * fb);
  const AB2 = f32x4.splat(fa * fa * fb * fb), S = f32x4.splat(fa * fa + fb * fb);
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const o0 = <usize>load<i32>(lt), o1 = <usize>load<i32>(lt, 4), o2 = <usize>load<i32>(lt, 8), o3 = <usize>load<i32>(lt, 12);
    const vd0 = vblk + ((<usize>(u >> 1) * <usize>cg) << 5) + (<usize>(u & 1) << 4);
    let plane = xpad + <usize>c0 * planeB;
    for (let ci = c0; ci < c1; ci++) {
      // Rows: the 6 values of each tile's row r, transposed to 6 vectors over the 4 tiles, then
      // the transform along x into hbuf[r][j].
      let src = plane;
      let hb = hbuf;
      for (let r = 0; r < 6; r++) {
        const a = v128.load(src + o0), b = v128.load(src + o1), c = v128.load(src + o2), e = v128.load(src + o3);
        const a2 = v128.load(src + o0, 8), b2 = v128.load(src + o1, 8), c2 = v128.load(src + o2, 8), e2 = v128.load(src + o3, 8);
        const t = v128.shuffle<f32>(a2, b2, 2, 6, 3, 7);
        const s = v128.shuffle<f32>(c2, e2, 2, 6, 3, 7);
        in6(tr0(a, b, c, e), tr1(a, b, c, e), tr2(a, b, c, e), tr3(a, b, c, e),
          v128.shuffle<f32>(t, s, 0, 1, 4, 5), v128.shuffle<f32>(t, s, 2, 3, 6, 7), hb, 16, A, B, A2, B2, AB2, S);
        src += wpB;
        hb += 96;
      }
      // Columns: the transform along y of hbuf[.][j], straight into the B panels.
      const vd = vd0 + (<usize>ci << 5);
      for (let j = 0; j < 6; j++) {
        const hj = hbuf + (<usize>j << 4);
        in6(v128.load(hj), v128.load(hj, 96), v128.load(hj, 192), v128.load(hj, 288), v128.load(hj, 384), v128.load(hj, 480),
          vd + <usize>j * xiS, 6 * xiS, A, B, A2, B2, AB2, S);
      }
      plane += planeB;
    }
  }
}

/** Input transform F(2,3): rows and columns of B^T = [d0 - d2, d1 + d2, d2 - d1, d3 - d1]. */
export function inputTransform2(xpad: usize, vblk: usize, lanes: usize, nlg: i32, cg: i32, c0: i32, c1: i32, planeB: usize, wpB: usize,
  xiS: usize, hbuf: usize): void {
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const o0 = <usize>load<i32>(lt), o1 = <usize>load<i32>(lt, 4), o2 = <usize>load<i32>(lt, 8), o3 = <usize>load<i32>(lt, 12);
    const vd0 = vblk + ((<usize>(u >> 1) * <usize>cg) << 5) + (<usize>(u & 1) << 4);
    let plane = xpad + <usize>c0 * planeB;
    for (let ci = c0; ci < c1; ci++) {
      let src = plane;
      let hb = hbuf;
      for (let r = 0; r < 4; r++) {
        const a = v128.load(src + o0), b = v128.load(src + o1), c = v128.load(src + o2), e = v128.load(src + o3);
        const d0 = tr0(a, b, c, e), d1 = tr1(a, b, c, e), d2 = tr2(a, b, c, e), d3 = tr3(a, b, c, e);
        v128.store(hb, f32x4.sub(d0, d2));
        v128.store(hb, f32x4.add(d1, d2), 16);
        v128.store(hb, f32x4.sub(d2, d1), 32);
        v128.store(hb, f32x4.sub(d3, d1), 48);
        src += wpB;
        hb += 64;
      }
      const vd = vd0 + (<usize>ci << 5);
      for (let j = 0; j < 4; j++) {
        const hj = hbuf + (<usize>j << 4);
        const d0 = v128.load(hj), d1 = v128.load(hj, 64), d2 = v128.load(hj, 128), d3 = v128.load(hj, 192);
        const out = vd + <usize>j * xiS;
        v128.store(out, f32x4.sub(d0, d2));
        v128.store(out + 4 * xiS, f32x4.add(d1, d2));
        v128.store(out + 8 * xiS, f32x4.sub(d2, d1));
        v128.store(out + 12 * xiS, f32x4.sub(d3, d1));
      }
      plane += planeB;
    }
  }
}

/** Stores the first `cols` floats of v at p (cols < 4). */
// @ts-ignore: decorator
@inline function storePartial(p: usize, v: v128, cols: i32): void {
  if (cols > 0) store<f32>(p, f32x4.extract_lane(v, 0));
  if (cols > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (cols > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** Stores row i (4 values) of one lane's output tile, clipped to the map. */
// @ts-ignore: decorator
@inline function storeLane4(p: usize, v: v128, i: i32, rows: i32, cols: i32): void {
  if (i < rows) {
    if (cols == 4) v128.store(p, v);
    else storePartial(p, v, cols);
  }
}

/** The 1D F(4,3) output transform of m0..m5 into o0..o3 (stored `stride` bytes apart). */
// @ts-ignore: decorator
@inline function out6(m0: v128, m1: v128, m2: v128, m3: v128, m4: v128, m5: v128, out: usize, stride: usize,
  A: v128, B: v128, A2: v128, B2: v128, A3: v128, B3: v128): void {
  const p1 = f32x4.add(m1, m2), q1 = f32x4.sub(m1, m2);
  const p2 = f32x4.add(m3, m4), q2 = f32x4.sub(m3, m4);
  v128.store(out, f32x4.add(f32x4.add(m0, p1), p2));
  v128.store(out + stride, f32x4.add(f32x4.mul(A, q1), f32x4.mul(B, q2)));
  v128.store(out + 2 * stride, f32x4.add(f32x4.mul(A2, p1), f32x4.mul(B2, p2)));
  v128.store(out + 3 * stride, f32x4.add(f32x4.add(f32x4.mul(A3, q1), f32x4.mul(B3, q2)), m5));
}

/** Output transform F(4,3) of the column block: y tile = A^T M A + bias (ReLU), per output
 *  channel in [ko0, ko1) and group of 4 tiles; yg points at the group's first output channel of image 0. */
export function outputTransform4(mblk: usize, yg: usize, bias: usize, relu: i32, lanes: usize, nlg: i32, ko0: i32, ko1: i32, xs: usize,
  planeB: usize, owB: usize, tbuf: usize, set: i32): void {
  const fa = <f32>pointA(set), fb = <f32>pointB(set);
  const A = f32x4.splat(fa), B = f32x4.splat(fb);
  const A2 = f32x4.splat(fa * fa), B2 = f32x4.splat(fb * fb);
  const A3 = f32x4.splat(fa * fa * fa), B3 = f32x4.splat(fb * fb * fb);
  const zero = f32x4.splat(0);
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const d0 = <usize>load<i32>(lt, 16), d1 = <usize>load<i32>(lt, 20), d2 = <usize>load<i32>(lt, 24), d3 = <usize>load<i32>(lt, 28);
    const r0 = load<i32>(lt, 32), r1 = load<i32>(lt, 36), r2 = load<i32>(lt, 40), r3 = load<i32>(lt, 44);
    const c0 = load<i32>(lt, 48), c1 = load<i32>(lt, 52), c2 = load<i32>(lt, 56), c3 = load<i32>(lt, 60);
    const full = (r0 & r1 & r2 & r3) == 4 && (c0 & c1 & c2 & c3) == 4;
    // M of this panel: [xi][kgp][8]; this half's 4 columns.
    const mb0 = mblk + <usize>(u >> 1) * 36 * xs + (<usize>(u & 1) << 4);
    for (let ko = ko0; ko < ko1; ko++) {
      const mb = mb0 + (<usize>ko << 5);
      // Columns of the 6x6 tile (s): A^T along y into tbuf[i][s].
      for (let s = 0; s < 6; s++) {
        const ms = mb + <usize>s * xs;
        out6(v128.load(ms), v128.load(ms + 6 * xs), v128.load(ms + 12 * xs), v128.load(ms + 18 * xs),
          v128.load(ms + 24 * xs), v128.load(ms + 30 * xs), tbuf + (<usize>s << 4), 96, A, B, A2, B2, A3, B3);
      }
      // Rows i: A^T along x, bias, ReLU, then the 4x4 transpose gives each tile's row i.
      const bv = f32x4.splat(bias ? load<f32>(f32at(bias, ko)) : 0);
      const yk = yg + <usize>ko * planeB;
      for (let i = 0; i < 4; i++) {
        const t = tbuf + <usize>i * 96;
        const m0 = v128.load(t), m1 = v128.load(t, 16), m2 = v128.load(t, 32);
        const m3 = v128.load(t, 48), m4 = v128.load(t, 64), m5 = v128.load(t, 80);
        const p1 = f32x4.add(m1, m2), q1 = f32x4.sub(m1, m2);
        const p2 = f32x4.add(m3, m4), q2 = f32x4.sub(m3, m4);
        let y0 = f32x4.add(f32x4.add(f32x4.add(m0, p1), p2), bv);
        let y1 = f32x4.add(f32x4.add(f32x4.mul(A, q1), f32x4.mul(B, q2)), bv);
        let y2 = f32x4.add(f32x4.add(f32x4.mul(A2, p1), f32x4.mul(B2, p2)), bv);
        let y3 = f32x4.add(f32x4.add(f32x4.add(f32x4.mul(A3, q1), f32x4.mul(B3, q2)), m5), bv);
        if (relu) {
          y0 = f32x4.pmax(y0, zero); y1 = f32x4.pmax(y1, zero);
          y2 = f32x4.pmax(y2, zero); y3 = f32x4.pmax(y3, zero);
        }
        const row = yk + <usize>i * owB;
        const l0 = tr0(y0, y1, y2, y3), l1 = tr1(y0, y1, y2, y3), l2 = tr2(y0, y1, y2, y3), l3 = tr3(y0, y1, y2, y3);
        if (full) {
          v128.store(row + d0, l0); v128.store(row + d1, l1); v128.store(row + d2, l2); v128.store(row + d3, l3);
        } else {
          storeLane4(row + d0, l0, i, r0, c0); storeLane4(row + d1, l1, i, r1, c1);
          storeLane4(row + d2, l2, i, r2, c2); storeLane4(row + d3, l3, i, r3, c3);
        }
      }
    }
  }
}

/** Stores one lane's 2 outputs of a row (lo lane of v64 = the pair), clipped. */
// @ts-ignore: decorator
@inline function storeLane2(p: usize, v: v128, idx: i32, i: i32, rows: i32, cols: i32): void {
  if (i < rows) {
    if (cols == 2) {
      if (idx == 0) v128.store64_lane(p, v, 0); else v128.store64_lane(p, v, 1);
    } else if (cols == 1) {
      if (idx == 0) v128.store32_lane(p, v, 0); else v128.store32_lane(p, v, 2);
    }
  }
}

/** Output transform F(2,3): A^T = [1, 1, 1, 0; 0, 1, -1, 1]. */
export function outputTransform2(mblk: usize, yg: usize, bias: usize, relu: i32, lanes: usize, nlg: i32, ko0: i32, ko1: i32, xs: usize,
  planeB: usize, owB: usize): void {
  const zero = f32x4.splat(0);
  for (let u = 0; u < nlg; u++) {
    const lt = lanes + (<usize>u << 6);
    const d0 = <usize>load<i32>(lt, 16), d1 = <usize>load<i32>(lt, 20), d2 = <usize>load<i32>(lt, 24), d3 = <usize>load<i32>(lt, 28);
    const r0 = load<i32>(lt, 32), r1 = load<i32>(lt, 36), r2 = load<i32>(lt, 40), r3 = load<i32>(lt, 44);
    const c0 = load<i32>(lt, 48), c1 = load<i32>(lt, 52), c2 = load<i32>(lt, 56), c3 = load<i32>(lt, 60);
    const full = (r0 & r1 & r2 & r3) == 2 && (c0 & c1 & c2 & c3) == 2;
    const mb0 = mblk + <usize>(u >> 1) * 16 * xs + (<usize>(u & 1) << 4);
    for (let ko = ko0; ko < ko1; ko++) {
      const mb = mb0 + (<usize>ko << 5);
      // Columns s: t0s = m0s + m1s + m2s, t1s = m1s - m2s + m3s (m_rs at xi = r * 4 + s).
      let t00: v128, t01: v128, t02: v128, t03: v128, t10: v128, t11: v128, t12: v128, t13: v128;
      {
        const a = v128.load(mb), b = v128.load(mb + 4 * xs), c = v128.load(mb + 8 * xs), d = v128.load(mb + 12 * xs);
        t00 = f32x4.add(f32x4.add(a, b), c); t10 = f32x4.add(f32x4.sub(b, c), d);
      }
      {
        const a = v128.load(mb + xs), b = v128.load(mb + 5 * xs), c = v128.load(mb + 9 * xs), d = v128.load(mb + 13 * xs);
        t01 = f32x4.add(f32x4.add(a, b), c); t11 = f32x4.add(f32x4.sub(b, c), d);
      }
      {
        const a = v128.load(mb + 2 * xs), b = v128.load(mb + 6 * xs), c = v128.load(mb + 10 * xs), d = v128.load(mb + 14 * xs);
        t02 = f32x4.add(f32x4.add(a, b), c); t12 = f32x4.add(f32x4.sub(b, c), d);
      }
      {
        const a = v128.load(mb + 3 * xs), b = v128.load(mb + 7 * xs), c = v128.load(mb + 11 * xs), d = v128.load(mb + 15 * xs);
        t03 = f32x4.add(f32x4.add(a, b), c); t13 = f32x4.add(f32x4.sub(b, c), d);
      }
      const bv = f32x4.splat(bias ? load<f32>(f32at(bias, ko)) : 0);
      let y00 = f32x4.add(f32x4.add(f32x4.add(t00, t01), t02), bv);
      let y01 = f32x4.add(f32x4.add(f32x4.sub(t01, t02), t03), bv);
      let y10 = f32x4.add(f32x4.add(f32x4.add(t10, t11), t12), bv);
      let y11 = f32x4.add(f32x4.add(f32x4.sub(t11, t12), t13), bv);
      if (relu) {
        y00 = f32x4.pmax(y00, zero); y01 = f32x4.pmax(y01, zero);
        y10 = f32x4.pmax(y10, zero); y11 = f32x4.pmax(y11, zero);
      }
      const yk = yg + <usize>ko * planeB;
      // Row i of lane l: (y_i0[l], y_i1[l]); lanes 0, 1 in lo, 2, 3 in hi.
      const lo0 = v128.shuffle<f32>(y00, y01, 0, 4, 1, 5), hi0 = v128.shuffle<f32>(y00, y01, 2, 6, 3, 7);
      const lo1 = v128.shuffle<f32>(y10, y11, 0, 4, 1, 5), hi1 = v128.shuffle<f32>(y10, y11, 2, 6, 3, 7);
      if (full) {
        v128.store64_lane(yk + d0, lo0, 0); v128.store64_lane(yk + d1, lo0, 1);
        v128.store64_lane(yk + d2, hi0, 0); v128.store64_lane(yk + d3, hi0, 1);
        const y1 = yk + owB;
        v128.store64_lane(y1 + d0, lo1, 0); v128.store64_lane(y1 + d1, lo1, 1);
        v128.store64_lane(y1 + d2, hi1, 0); v128.store64_lane(y1 + d3, hi1, 1);
      } else {
        storeLane2(yk + d0, lo0, 0, 0, r0, c0); storeLane2(yk + d1, lo0, 1, 0, r1, c1);
        storeLane2(yk + d2, hi0, 0, 0, r2, c2); storeLane2(yk + d3, hi0, 1, 0, r3, c3);
        const y1 = yk + owB;
        storeLane2(y1 + d0, lo1, 0, 1, r0, c0); storeLane2(y1 + d1, lo1, 1, 1, r1, c1);
        storeLane2(y1 + d2, hi1, 0, 1, r2, c2); storeLane2(y1 + d3, hi1, 1, 1, r3, c3);
      }
    }
  }
}
