// conv2d-winograd: 3x3 stride-1 convolutions (NCHW, zero padding 0..2, groups) by Winograd's
// minimal filtering F(m x m, 3 x 3), m = 2 or 4, over the 4x8 micro-kernel of f32_gemm_4x8.ts.
// Reached through conv2d.ts (conv2d, conv2d_backward_input and conv2d_packed with algo = m).
//
//   U[xi] = G g G^T        per (out, in) channel pair: done once per model (pack_weight), in
//                          float64, rounded once, packed per transform point xi as 4-row A panels
//   V[xi] = B^T d B        per input tile d ((m+2) x (m+2), stride m) and input channel, written
//                          straight into 8-column B panels: 8 tiles per panel, 4 tiles per f32x4
//   M[xi] = U[xi] V[xi]    one GEMM per point xi ((m+2)^2 of them): [k x c] [c x tiles]
//   y     = A^T M A (+ bias, ReLU)   per output tile, f32x4 over 4 tiles, written into y
//
// The tiles of a call are numbered image by image, row by row (q = image * tiles + ty * tw + tx);
// small maps are batched across images (a GEMM's columns then run over several images' tiles),
// large ones cut into column blocks, so the V and M of a block stay near the core (BLOCK_BYTES in
// conv2d_winograd_plan.ts).
// Partial edge tiles (maps not a multiple of m) read zeros past the map and store only the outputs
// that exist.
//
// This file is the driver; the rest lies along the same lines as the direct conv's files:
//   conv2d_winograd_pack.ts        the point sets, U = G g G^T and its packing (pack_weight)
//   conv2d_winograd_transform.ts   the lane table, the input (B^T d B) and output (A^T M A) transforms
//   conv2d_winograd_plan.ts        the packed weights' size and the workspace layout (planWinograd)
//
// Nothing here allocates: the driver works in the caller's workspace, whose layout planWinograd
// writes once for both conv2d_winograd_workspace and conv2d_winograd.
import { f32_gemm_4x8, f32_gemm_4x8_zero } from './f32_gemm_4x8';
import {
  pl_cg, pl_hp, pl_kc, pl_kg, pl_kgp, pl_lanes, pl_m, pl_mm, pl_nb, pl_ncb, pl_T, pl_tmp, pl_tpi, pl_tw, pl_v, pl_wp,
  pl_xiM, pl_xiV, pl_xpad, planWinograd, uPointBytes,
} from './conv2d_winograd_plan';
import { fillLanes, inputTransform2, inputTransform4, outputTransform2, outputTransform4 } from './conv2d_winograd_transform';
import { f32at } from './util';

export { conv2d_winograd_pack_weight } from './conv2d_winograd_pack';
export { conv2d_winograd_weight_bytes } from './conv2d_winograd_plan';

/** Copies `planes` planes of h x w to rows `wp` floats apart, planes `plane` floats apart (the
 *  destination's border is zero already). */
function copyPadded(src: usize, dst: usize, planes: i32, h: i32, w: i32, plane: i32, wp: i32): void {
  // Rows are short (2..56 floats): a loop beats memory.copy's call per row.
  const rowB = <usize>wp << 2;
  const planeB = <usize>plane << 2;
  const w4 = w & ~3;
  for (let ci = 0; ci < planes; ci++) {
    let d = dst + <usize>ci * planeB;
    for (let yy = 0; yy < h; yy++) {
      let i = 0;
      for (; i < w4; i += 4) v128.store(f32at(d, i), v128.load(f32at(src, i)));
      for (; i < w; i++) store<f32>(f32at(d, i), load<f32>(f32at(src, i)));
      src = f32at(src, w);
      d += rowB;
    }
  }
}

/** M[panel][xi][kgp][8] = U[xi] V[xi] for the points xi of a column block: one GEMM per point, the
 *  B panel (8 tiles, kc channels) in L1 across the A panels of U[xi]. */
function gemmPoints(ug: usize, uxi: usize, vblk: usize, xiS: usize, mblk: usize, xiM: usize, T: i32, npb: i32, mt: i32,
  cg: i32, kcStep: i32): void {
  const mPanel = <usize>T * xiM;
  for (let xi = 0; xi < T; xi++) {
    const ux = ug + <usize>xi * uxi;
    const vx = vblk + <usize>xi * xiS;
    const mx = mblk + <usize>xi * xiM;
    for (let kc0 = 0; kc0 < cg; kc0 += kcStep) {
      const kc = min(kcStep, cg - kc0);
      for (let j = 0; j < npb; j++) {
        const bp = vx + (<usize>(j * cg + kc0) << 5);
        const cp = mx + <usize>j * mPanel;
        for (let mp = 0; mp < mt; mp++) {
          const ap = ux + (<usize>(mp * cg + kc0) << 4);
          if (kc0 == 0) f32_gemm_4x8_zero(kc, ap, bp, cp + (<usize>mp << 7), 8);
          else f32_gemm_4x8(kc, ap, bp, cp + (<usize>mp << 7), 8);
        }
      }
    }
  }
}

export function conv2d_winograd_workspace(n: i32, c: i32, h: i32, w: i32, k: i32, groups: i32, ph: i32, pw: i32,
  oh: i32, ow: i32, m: i32): i32 {
  return planWinograd(n, c, h, w, k, groups, ph, pw, oh, ow, m);
}

/** y = conv2d(x, w, 3x3, stride 1, padding ph, pw) + bias (bias 0: none), ReLU when relu = 1,
 *  with w packed by conv2d_winograd_pack_weight for the same m; ws holds
 *  conv2d_winograd_workspace(...) bytes. y is overwritten. */
export function conv2d_winograd(x: usize, packedU: usize, bias: usize, y: usize, n: i32, c: i32, h: i32, w: i32,
  k: i32, groups: i32, ph: i32, pw: i32, oh: i32, ow: i32, m: i32, relu: i32, ws: usize): void {
  planWinograd(n, c, h, w, k, groups, ph, pw, oh, ow, m);
  if (oh <= 0 || ow <= 0) return;
  const mm = pl_m, T = pl_T, cg = pl_cg, kg = pl_kg, kgp = pl_kgp;
  const hp = pl_hp, wp = pl_wp, tw = pl_tw, tpi = pl_tpi, nb = pl_nb, ncb = pl_ncb, kcStep = pl_kc;
  const xpad = ws + <usize>pl_xpad;
  const vblk = ws + <usize>pl_v;
  const mblk = ws + <usize>pl_mm;
  const lanes = ws + <usize>pl_lanes;
  const tmp = ws + <usize>pl_tmp;
  const mt = kgp >> 2;
  const plane = hp * wp;
  const imgStride = cg * plane;
  const ohow = oh * ow;
  const set = m >> 8;   // F(4,3)'s point set

  memory.fill(xpad, 0, <usize>(nb * imgStride + 16) << 2);
  for (let img0 = 0; img0 < n; img0 += nb) {
    const cnt = min(nb, n - img0);
    const ncols = cnt * tpi;
    for (let g = 0; g < groups; g++) {
      // Zero-bordered copies of this group's input planes of the block's images.
      for (let i = 0; i < cnt; i++) {
        copyPadded(f32at(x, ((img0 + i) * c + g * cg) * h * w), f32at(xpad, i * imgStride + ph * wp + pw), cg, h, w, plane, wp);
      }
      const uxi = <usize>uPointBytes(kg, cg);
      const ug = packedU + <usize>(g * T) * uxi;
      const yg = f32at(y, (img0 * k + g * kg) * ohow);
      for (let q0 = 0; q0 < ncols; q0 += ncb) {
        const cols = min(ncb, ncols - q0);
        const npb = (cols + 7) >> 3;
        const nlg = npb * 2;
        fillLanes(lanes, q0, cols, mm, tw, tpi, wp, imgStride, oh, ow, k * ohow);
        const xiS = <usize>pl_xiV;
        if (mm == 4) {
          inputTransform4(xpad, vblk, lanes, nlg, cg, <usize>plane << 2, <usize>wp << 2, xiS, tmp, set);
        } else {
          inputTransform2(xpad, vblk, lanes, nlg, cg, <usize>plane << 2, <usize>wp << 2, xiS, tmp);
        }
        gemmPoints(ug, uxi, vblk, xiS, mblk, <usize>pl_xiM, T, npb, mt, cg, kcStep);
        if (mm == 4) {
          outputTransform4(mblk, yg, bias ? f32at(bias, g * kg) : 0, relu, lanes, nlg, kg, <usize>pl_xiM, <usize>ohow << 2, <usize>ow << 2,
            tmp, set);
        } else {
          outputTransform2(mblk, yg, bias ? f32at(bias, g * kg) : 0, relu, lanes, nlg, kg, <usize>pl_xiM, <usize>ohow << 2, <usize>ow << 2);
        }
      }
    }
  }
}
