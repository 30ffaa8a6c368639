// Winograd's weight transform: U = G g G^T for every (out, in) channel pair of a 3x3 conv, packed
// per transform point xi as the 4-row A panels of f32_gemm_4x8 (conv2d_winograd.ts runs the GEMMs;
// conv2d_winograd_plan.ts gives the packed size and the stride between points). Done once per
// model (or once per call for conv2d's input gradient, on the flipped kernel), in float64.
//
// Interpolation points. With the points 0, +-a, +-b, inf (F(4,3)) the transforms are
//   B^T rows = the Lagrange numerators of the points:  0: a^2b^2 d0 - (a^2+b^2) d2 + d4
//     +-a: (d4 - b^2 d2) +- a (d3 - b^2 d1)    +-b: (d4 - a^2 d2) +- b (d3 - a^2 d1)
//     inf: a^2b^2 d1 - (a^2+b^2) d3 + d5
//   G rows    = [1, x, x^2] / (numerator at x); inf: [0, 0, 1]
//   A^T row i = [0^i, a^i, (-a)^i, b^i, (-b)^i, (i == 3)]
// (Lavin & Gray's F(4,3) is a = 1, b = 2.) F(2,3) uses 0, +-1, inf: B^T = [d0 - d2, d1 + d2,
// d2 - d1, d3 - d1], G rows [1,0,0], [1,1,1]/2, [1,-1,1]/2, [0,0,1], A^T = [1,1,1,0; 0,1,-1,1].
//
// F(4,3) runs on 0, +-5/8, +-3/2, inf. Over symmetric sets 0, +-a, +-b, inf the float32 error is
// flat near a = 2/3, b = 3/2 (the {+-c, +-1/c} family of Alam, Anderson, Barabasz & Gregg 2022,
// c = 2/3) and about half that of Lavin & Gray's points (bench/winograd.md); 5/8 and 3/2 are as
// accurate and exact in binary, so every transform constant is exact in float32.
//
// The `m` argument: 2, or 4 for F(4,3) on the default points. For the accuracy study,
// m = 4 | (set << 8) picks another point set (see pointA, pointB); pack_weight and the driver must be
// given the same m.
import { uPointBytes } from './conv2d_winograd_plan';
import { ceilDiv, f32at } from './util';

// F(4,3) points used when m == 4 (set 0).
const DEFAULT_POINTS_4: i32 = 5;

/** The F(4,3) points +-a, +-b of a point set (besides 0 and infinity); set 0 is the default. */
export function pointA(set: i32): f64 {
  const s = set == 0 ? DEFAULT_POINTS_4 : set;
  if (s == 1) return 1;          // Lavin & Gray: 0, +-1, +-2, inf
  if (s == 2) return 1;          // 0, +-1, +-1/2, inf
  if (s == 3) return 0.5;        // 0, +-1/2, +-2, inf
  if (s == 4) return 2.0 / 3;    // 0, +-2/3, +-3/2, inf
  return 0.625;                  // 5: 0, +-5/8, +-3/2, inf
}
export function pointB(set: i32): f64 {
  const s = set == 0 ? DEFAULT_POINTS_4 : set;
  if (s == 1) return 2;
  if (s == 2) return 0.5;
  if (s == 3) return 2;
  return 1.5;
}

const ZERO_KERNEL = memory.data(9 * 4); // read as the kernels of rows past the last out channel

/** Row r of G applied to the taps (g0, g1, g2) along one axis, f64x2. Rows: [1, 0, 0] / N0,
 *  [1, +-a, a^2] / Na, [1, +-b, b^2] / Nb (F(4,3) only), [0, 0, 1]. */
// @ts-ignore: decorator
@inline function gRow(r: i32, last: i32, g0: v128, g1: v128, g2: v128,
  inv0: v128, a: v128, a2: v128, invA: v128, b: v128, b2: v128, invB: v128): v128 {
  if (r == 0) return f64x2.mul(g0, inv0);
  if (r == last) return g2;
  if (r <= 2) {
    const e = f64x2.add(g0, f64x2.mul(a2, g2)), o = f64x2.mul(a, g1);
    return f64x2.mul(r == 1 ? f64x2.add(e, o) : f64x2.sub(e, o), invA);
  }
  const e = f64x2.add(g0, f64x2.mul(b2, g2)), o = f64x2.mul(b, g1);
  return f64x2.mul(r == 3 ? f64x2.add(e, o) : f64x2.sub(e, o), invB);
}

/** Two f64x2 (rows 0-1 and 2-3) rounded to one f32x4. */
// @ts-ignore: decorator
@inline function round4(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/** G applied along the second axis to one row (t0, t1, t2) of G g, for both halves, rounded and
 *  stored as the alpha points q `stride` bytes apart. */
// @ts-ignore: decorator
@inline function storeGRow(out: usize, stride: usize, six: bool, l0: v128, l1: v128, l2: v128, h0: v128, h1: v128, h2: v128,
  inv0: v128, a: v128, a2: v128, invA: v128, b: v128, b2: v128, invB: v128): void {
  v128.store(out, round4(f64x2.mul(l0, inv0), f64x2.mul(h0, inv0)));
  const lea = f64x2.add(l0, f64x2.mul(a2, l2)), loa = f64x2.mul(a, l1);
  const hea = f64x2.add(h0, f64x2.mul(a2, h2)), hoa = f64x2.mul(a, h1);
  v128.store(out + stride, round4(f64x2.mul(f64x2.add(lea, loa), invA), f64x2.mul(f64x2.add(hea, hoa), invA)));
  v128.store(out + 2 * stride, round4(f64x2.mul(f64x2.sub(lea, loa), invA), f64x2.mul(f64x2.sub(hea, hoa), invA)));
  if (six) {
    const leb = f64x2.add(l0, f64x2.mul(b2, l2)), lob = f64x2.mul(b, l1);
    const heb = f64x2.add(h0, f64x2.mul(b2, h2)), hob = f64x2.mul(b, h1);
    v128.store(out + 3 * stride, round4(f64x2.mul(f64x2.add(leb, lob), invB), f64x2.mul(f64x2.add(heb, hob), invB)));
    v128.store(out + 4 * stride, round4(f64x2.mul(f64x2.sub(leb, lob), invB), f64x2.mul(f64x2.sub(heb, hob), invB)));
    v128.store(out + 5 * stride, round4(l2, h2));
  } else {
    v128.store(out + 3 * stride, round4(l2, h2));
  }
}

/** Tap `off` (bytes) of 4 kernels as one f32x4. */
// @ts-ignore: decorator
@inline function tap4(k0: usize, k1: usize, k2: usize, k3: usize, off: usize): v128 {
  let v = f32x4.splat(load<f32>(k0 + off));
  v = f32x4.replace_lane(v, 1, load<f32>(k1 + off));
  v = f32x4.replace_lane(v, 2, load<f32>(k2 + off));
  return f32x4.replace_lane(v, 3, load<f32>(k3 + off));
}
// @ts-ignore: decorator
@inline function promoteLo(v: v128): v128 { return f64x2.promote_low_f32x4(v); }
// @ts-ignore: decorator
@inline function promoteHi(v: v128): v128 { return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)); }

/** Packs U = G g G^T for every (out, in) channel pair of w [k, c/groups, 3, 3] as
 *  [group][xi][4-row panel of out channels][in channel][4], rows past the last out channel zero.
 *  flipped = 1 packs the kernel of the stride-1 input gradient instead: per group, out channel ci
 *  and in channel ko, the 3x3 kernel rotated by 180 degrees (a conv with c outputs and k inputs,
 *  padding 2 - p, computes conv2d's backward input). The transform runs in float64 (f64x2 over
 *  two out channels), in registers (no static scratch: callers may pack on several threads), and
 *  is rounded to float32 once. Packs panels [p0, p1) of conv2d_winograd_panels (panel g * mt + mp):
 *  threads share one packing. */
export function conv2d_winograd_pack_weight(w: usize, dst: usize, k: i32, c: i32, groups: i32, m: i32, flipped: i32,
  p0: i32, p1: i32): void {
  const flip = flipped != 0;
  packWinogradPanels(w, dst, <usize>uPointBytes(flip ? c / groups : k / groups, flip ? k / groups : c / groups), 0,
    k, c, groups, m, flipped, p0, p1);
}

/** conv2d_winograd_pack_weight's panels [p0, p1) into dst laid out with `xiStride` bytes between
 *  points, dst holding the panels from `panel0` on: the whole packing (xiStride = uPointBytes,
 *  panel0 = 0), or a slice of one group's panels (conv2d_winograd.ts packs slices that stay in
 *  a core's cache). */
export function packWinogradPanels(w: usize, dst: usize, xiStride: usize, panel0: i32, k: i32, c: i32, groups: i32, m: i32,
  flipped: i32, p0: i32, p1: i32): void {
  const six = (m & 0xff) == 4;
  const alpha = six ? 6 : 4;
  const T = alpha * alpha;
  const kg = k / groups;
  const cg = c / groups;
  const ko2 = flipped ? cg : kg;   // outputs and inputs per group of the packed conv
  const ci2 = flipped ? kg : cg;
  const mt = ceilDiv(ko2, 4);
  // G's constants: F(2,3) is 0, +-1, inf with numerators 1, 2, 2.
  let pa: f64 = 1, pb: f64 = 1, n0: f64 = 1, na: f64 = 2, nb: f64 = 1;
  if (six) {
    const set = (m >> 8) == 0 ? DEFAULT_POINTS_4 : m >> 8;
    pa = pointA(set); pb = pointB(set);
    const a2 = pa * pa, b2 = pb * pb;
    n0 = a2 * b2; na = 2 * a2 * (a2 - b2); nb = 2 * b2 * (b2 - a2);
  }
  const inv0 = f64x2.splat(1 / n0), invA = f64x2.splat(1 / na), invB = f64x2.splat(1 / nb);
  const A = f64x2.splat(pa), A2 = f64x2.splat(pa * pa), B = f64x2.splat(pb), B2 = f64x2.splat(pb * pb);
  const last = alpha - 1;
  for (let p = p0; p < p1; p++) {
    const g = p / mt;
    const mp = p - g * mt;
    for (let i = 0; i < ci2; i++) {
      // The 3x3 kernels of (mp * 4 + r, i), r = 0..3: w[g*kg + o][i] or, flipped, w[g*kg + i][o]
      // rotated by 180 degrees (tap t read at 8 - t); one f32x4 per tap over the 4 rows.
      const o = mp * 4;
      const k0 = o < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o : (g * kg + o) * cg + i) * 9) : ZERO_KERNEL;
      const k1 = o + 1 < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o + 1 : (g * kg + o + 1) * cg + i) * 9) : ZERO_KERNEL;
      const k2 = o + 2 < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o + 2 : (g * kg + o + 2) * cg + i) * 9) : ZERO_KERNEL;
      const k3 = o + 3 < ko2 ? f32at(w, (flipped ? (g * kg + i) * cg + o + 3 : (g * kg + o + 3) * cg + i) * 9) : ZERO_KERNEL;
      // Tap (u, v) of the 4 rows, as f64x2 halves: rows 0-1 (l) and 2-3 (h).
      const f = flipped != 0;
      const v00 = tap4(k0, k1, k2, k3, f ? 32 : 0), v01 = tap4(k0, k1, k2, k3, f ? 28 : 4), v02 = tap4(k0, k1, k2, k3, f ? 24 : 8);
      const v10 = tap4(k0, k1, k2, k3, f ? 20 : 12), v11 = tap4(k0, k1, k2, k3, 16), v12 = tap4(k0, k1, k2, k3, f ? 12 : 20);
      const v20 = tap4(k0, k1, k2, k3, f ? 8 : 24), v21 = tap4(k0, k1, k2, k3, f ? 4 : 28), v22 = tap4(k0, k1, k2, k3, f ? 0 : 32);
      const l00 = promoteLo(v00), l01 = promoteLo(v01), l02 = promoteLo(v02), l10 = promoteLo(v10), l11 = promoteLo(v11);
      const l12 = promoteLo(v12), l20 = promoteLo(v20), l21 = promoteLo(v21), l22 = promoteLo(v22);
      const h00 = promoteHi(v00), h01 = promoteHi(v01), h02 = promoteHi(v02), h10 = promoteHi(v10), h11 = promoteHi(v11);
      const h12 = promoteHi(v12), h20 = promoteHi(v20), h21 = promoteHi(v21), h22 = promoteHi(v22);
      // Row r of G g (G along the kernel's rows u), then G along its columns v: U[r][q].
      const out = dst + <usize>(g * T) * xiStride + (<usize>((mp - panel0) * ci2 + i) << 4);
      const rs = <usize>alpha * xiStride;
      storeGRow(out, xiStride, six,
        gRow(0, last, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(0, last, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
        gRow(0, last, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(0, last, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
        gRow(0, last, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(0, last, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
        inv0, A, A2, invA, B, B2, invB);
      storeGRow(out + rs, xiStride, six,
        gRow(1, last, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(1, last, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
        gRow(1, last, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(1, last, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
        gRow(1, last, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(1, last, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
        inv0, A, A2, invA, B, B2, invB);
      storeGRow(out + 2 * rs, xiStride, six,
        gRow(2, last, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(2, last, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
        gRow(2, last, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(2, last, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
        gRow(2, last, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(2, last, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
        inv0, A, A2, invA, B, B2, invB);
      if (six) {
        storeGRow(out + 3 * rs, xiStride, true,
          gRow(3, 5, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(3, 5, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
          gRow(3, 5, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(3, 5, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
          gRow(3, 5, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(3, 5, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
          inv0, A, A2, invA, B, B2, invB);
        storeGRow(out + 4 * rs, xiStride, true,
          gRow(4, 5, l00, l10, l20, inv0, A, A2, invA, B, B2, invB), gRow(4, 5, l01, l11, l21, inv0, A, A2, invA, B, B2, invB),
          gRow(4, 5, l02, l12, l22, inv0, A, A2, invA, B, B2, invB), gRow(4, 5, h00, h10, h20, inv0, A, A2, invA, B, B2, invB),
          gRow(4, 5, h01, h11, h21, inv0, A, A2, invA, B, B2, invB), gRow(4, 5, h02, h12, h22, inv0, A, A2, invA, B, B2, invB),
          inv0, A, A2, invA, B, B2, invB);
        storeGRow(out + 5 * rs, xiStride, true, l20, l21, l22, h20, h21, h22, inv0, A, A2, invA, B, B2, invB);
      } else {
        storeGRow(out + 3 * rs, xiStride, false, l20, l21, l22, h20, h21, h22, inv0, A, A2, invA, B, B2, invB);
      }
    }
  }
}
