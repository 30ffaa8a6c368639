// Gathering for the convolution GEMMs: zero-bordered input copies, im2col B panels (8 columns
// interleaved, as f32_gemm_4x8 reads them), the col2im scatter of the strided input gradient, and
// the two operands of the weight gradient.
//
// Each image's input (one group at a time, the rows an item reads) is first copied into a
// zero-bordered scratch plane, so that gathering needs no bounds checks: every tap reads at base(p) + off(kk), where base(p) is
// the window's corner for output position p and off(kk) the tap's offset for kk = (ci, ky, kx).
// Columns q run over the positions of a block of images (q = image * np + p).
import { f32at, transposeStore4x4 } from './util';

/** Copies w floats from src to dst (rows are short: a loop beats memory.copy's call per row). */
// @ts-ignore: decorator
@inline function copyRow(dst: usize, src: usize, w: i32): void {
  let i = 0;
  for (; i + 4 <= w; i += 4) v128.store(f32at(dst, i), v128.load(f32at(src, i)));
  for (; i < w; i++) store<f32>(f32at(dst, i), load<f32>(f32at(src, i)));
}

// @ts-ignore: decorator
@inline function zeroRow(dst: usize, w: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= w; i += 4) v128.store(f32at(dst, i), z);
  for (; i < w; i++) store<f32>(f32at(dst, i), 0);
}

/** Writes rows [r0, r1) of the zero-bordered copies of planes [c0, c1) (h x w each, at src) into
 *  planes of `plane` floats with rows `wp` floats long (at dst): padded row r holds input row
 *  r - ph after pw zeros and before zeros up to wp, or only zeros where it is padding. Whole rows,
 *  borders included, so the scratch needs no clearing first (it may hold another layer's rows). */
export function padRows(src: usize, dst: usize, c0: i32, c1: i32, h: i32, w: i32, ph: i32, pw: i32, plane: i32, wp: i32,
  r0: i32, r1: i32): void {
  if (wp == 4 && w == 2 && pw == 1) {
    padRows2(src, dst, c0, c1, h, ph, plane, r0, r1);
    return;
  }
  const right = wp - pw - w;
  for (let ci = c0; ci < c1; ci++) {
    const s = f32at(src, ci * h * w);
    const d = f32at(dst, ci * plane);
    for (let r = r0; r < r1; r++) {
      const row = f32at(d, r * wp);
      const iy = r - ph;
      if (iy < 0 || iy >= h) {
        zeroRow(row, wp);
        continue;
      }
      zeroRow(row, pw);
      copyRow(f32at(row, pw), f32at(s, iy * w), w);
      zeroRow(f32at(row, pw + w), right);
    }
  }
}

/** padRows for rows of 2 floats padded by 1 on each side (2x2 maps in F(2,3), A0's 32x32
 *  training stage 3): each padded row is one f32x4 [0, a, b, 0], and the general loops' per-row
 *  overhead was most of the copy's time. */
function padRows2(src: usize, dst: usize, c0: i32, c1: i32, h: i32, ph: i32, plane: i32, r0: i32, r1: i32): void {
  const z = f32x4.splat(0);
  for (let ci = c0; ci < c1; ci++) {
    const s = f32at(src, ci * h * 2);
    const d = f32at(dst, ci * plane);
    for (let r = r0; r < r1; r++) {
      const iy = r - ph;
      const v = iy < 0 || iy >= h ? z : v128.shuffle<f32>(z, v128.load64_zero(f32at(s, iy * 2)), 0, 4, 5, 0);
      v128.store(f32at(d, r * 4), v);
    }
  }
}

/** The padded rows (channels [c0, c1)) that the windows of block columns [q0, q1) read: for each
 *  image of the block the columns touch, from its first output row times the stride to its last
 *  one's plus the kernel's height. x: the block's first image at the group's first channel, images
 *  xStride floats apart; the padded images are imgStride floats apart, (h + 2 ph) x wp each. */
export function padColumns(x: usize, xpad: usize, xStride: i32, c0: i32, c1: i32, h: i32, w: i32, ph: i32, pw: i32,
  wp: i32, imgStride: i32, np: i32, ow: i32, sh: i32, kh: i32, q0: i32, q1: i32): void {
  if (q1 <= q0) return;
  const hp = h + 2 * ph;
  const i1 = (q1 - 1) / np;
  for (let i = q0 / np; i <= i1; i++) {
    const lo = max(q0, i * np) - i * np;
    const hi = min(q1, (i + 1) * np) - i * np;
    const r0 = (lo / ow) * sh;
    const r1 = min(hp, ((hi - 1) / ow) * sh + kh);
    padRows(f32at(x, i * xStride), f32at(xpad, i * imgStride), c0, c1, h, w, ph, pw, hp * wp, wp, r0, r1);
  }
}

/** The reverse of padRows: the interiors of padded planes back into h x w planes. */
export function copyInterior(src: usize, dst: usize, planes: i32, h: i32, w: i32, ph: i32, pw: i32): void {
  const wp = w + 2 * pw;
  const plane = (h + 2 * ph) * wp;
  for (let c = 0; c < planes; c++) {
    for (let y = 0; y < h; y++) {
      memory.copy(f32at(dst, (c * h + y) * w), f32at(src, c * plane + (y + ph) * wp + pw), <usize>w << 2);
    }
  }
}

/** For every reduction index kk = (ci, ky, kx): its offset ci*hp*wp + ky*wp + kx in the padded input. */
export function fillTapOffsets(table: usize, kd: i32, hp: i32, wp: i32, kh: i32, kw: i32): void {
  const taps = kh * kw;
  for (let kk = 0; kk < kd; kk++) {
    const ci = kk / taps;
    const r = kk - ci * taps;
    const ky = r / kw;
    store<i32>(table + (<usize>kk << 2), ci * hp * wp + ky * wp + (r - ky * kw));
  }
}

/** Padded-input offsets of the windows of block columns q0 .. q0 + 7 (each image's padded planes
 *  are imgStride floats apart). Columns past the end repeat the last one: they are computed but
 *  never stored. Returns true when all 8 lie in one output row of one image. */
export function fillColumnBases(bases: usize, q0: i32, cols: i32, np: i32, ow: i32, wp: i32, sh: i32, sw: i32, imgStride: i32): bool {
  for (let j = 0; j < 8; j++) {
    const q = q0 + (j < cols ? j : cols - 1);
    const img = q / np;
    const p = q - img * np;
    const oy = p / ow;
    store<i32>(bases + (<usize>j << 2), img * imgStride + oy * sh * wp + (p - oy * ow) * sw);
  }
  if (cols != 8 || q0 / np != (q0 + 7) / np) return false;
  const p0 = q0 % np;
  return p0 / ow == (p0 + 7) / ow;
}

/** B panel of im2col(X) for the forward: rows kk in [kc0, kc0 + kc), 8 output positions. */
export function packIm2colPanel(xp: usize, dst: usize, table: usize, bases: usize, kc0: i32, kc: i32, sameRow: bool, sw: i32): void {
  const b0 = load<i32>(bases);
  if (sameRow && sw == 1) {
    for (let kk = 0; kk < kc; kk++) {
      const src = f32at(xp, b0 + load<i32>(table + (<usize>(kc0 + kk) << 2)));
      const d = dst + (<usize>kk << 5);
      v128.store(d, v128.load(src));
      v128.store(d, v128.load(src, 16), 16);
    }
    return;
  }
  if (sameRow && sw == 2) {
    for (let kk = 0; kk < kc; kk++) {
      const src = f32at(xp, b0 + load<i32>(table + (<usize>(kc0 + kk) << 2)));
      const d = dst + (<usize>kk << 5);
      v128.store(d, v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6));
      v128.store(d, v128.shuffle<f32>(v128.load(src, 32), v128.load(src, 48), 0, 2, 4, 6), 16);
    }
    return;
  }
  const b1 = load<i32>(bases, 4), b2 = load<i32>(bases, 8), b3 = load<i32>(bases, 12);
  const b4 = load<i32>(bases, 16), b5 = load<i32>(bases, 20), b6 = load<i32>(bases, 24), b7 = load<i32>(bases, 28);
  for (let kk = 0; kk < kc; kk++) {
    const src = f32at(xp, load<i32>(table + (<usize>(kc0 + kk) << 2)));
    const d = dst + (<usize>kk << 5);
    store<f32>(d, load<f32>(f32at(src, b0)));
    store<f32>(d, load<f32>(f32at(src, b1)), 4);
    store<f32>(d, load<f32>(f32at(src, b2)), 8);
    store<f32>(d, load<f32>(f32at(src, b3)), 12);
    store<f32>(d, load<f32>(f32at(src, b4)), 16);
    store<f32>(d, load<f32>(f32at(src, b5)), 20);
    store<f32>(d, load<f32>(f32at(src, b6)), 24);
    store<f32>(d, load<f32>(f32at(src, b7)), 28);
  }
}

/** B panel of dY for the strided input gradient: kg rows (channels of one group), 8 columns of
 *  a block of images starting at image img0. Columns past `cols` are zero. */
export function packDyPanel(dy: usize, dst: usize, srcs: usize, q0: i32, cols: i32, np: i32, img0: i32, k: i32, g: i32, kg: i32): void {
  // Where column j's dY values start (channel g * kg of its image).
  for (let j = 0; j < 8; j++) {
    const q = q0 + (j < cols ? j : cols - 1);
    const i = q / np;
    store<i32>(srcs + (<usize>j << 2), ((img0 + i) * k + g * kg) * np + (q - i * np));
  }
  const contiguous = cols == 8 && q0 / np == (q0 + 7) / np;
  for (let ko = 0; ko < kg; ko++) {
    const d = dst + (<usize>ko << 5);
    if (contiguous) {
      const src = f32at(dy, load<i32>(srcs) + ko * np);
      v128.store(d, v128.load(src));
      v128.store(d, v128.load(src, 16), 16);
    } else {
      for (let j = 0; j < 8; j++) {
        store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(f32at(dy, load<i32>(srcs + (<usize>j << 2)) + ko * np)) : 0);
      }
    }
  }
}

/** col2im: adds the 4x8 tile (rows kk0 .. kk0 + rows - 1 of dcol, `cols` columns) into the padded
 *  gradient at each column's window base plus each row's tap offset. */
export function scatterTile(tile: usize, dxpad: usize, table: usize, bases: usize, kk0: i32, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const dst = f32at(dxpad, load<i32>(table + (<usize>(kk0 + r) << 2)));
    const t = tile + (<usize>(r * 8) << 2);
    for (let j = 0; j < cols; j++) {
      const p = f32at(dst, load<i32>(bases + (<usize>j << 2)));
      store<f32>(p, load<f32>(p) + load<f32>(t + (<usize>j << 2)));
    }
  }
}

/** Weight gradient, A operand: dY rows of one group, 4 output channels interleaved per position,
 *  for pc positions from block column q0 (positions run across images). Rows past kg are zero. */
export function packDyRows(dy: usize, dst: usize, q0: i32, pc: i32, np: i32, img0: i32, k: i32, g: i32, kg: i32, mt: i32): void {
  for (let m = 0; m < mt; m++) {
    const d = dst + (<usize>(m * pc) << 4);
    for (let r = 0; r < 4; r++) {
      const row = m * 4 + r;
      let i = q0 / np;
      let p = q0 - i * np;
      for (let q = 0; q < pc; q++) {
        const v: f32 = row < kg ? load<f32>(f32at(dy, ((img0 + i) * k + g * kg + row) * np + p)) : 0;
        store<f32>(d + ((<usize>(q * 4 + r)) << 2), v);
        p++;
        if (p == np) { p = 0; i++; }
      }
    }
  }
}

/** Weight gradient, B operand: col(X) transposed, 8 taps interleaved per position, one panel of
 *  taps t*8 .. t*8+7 for pc positions from block column q0. Positions in order, so writes stay
 *  sequential and reads walk the input rows. */
export function packColumnsTransposed(xpad: usize, d0: usize, table: usize, t: i32, kd: i32, q0: i32, pc: i32,
  np: i32, oh: i32, ow: i32, wp: i32, sh: i32, sw: i32, imgStride: i32): void {
  const taps = min(8, kd - t * 8);
  const tt = table + (<usize>(t * 8) << 2);
  // Taps past kd read offset 0 (a valid address) and are multiplied into columns that are never stored.
  const o0 = load<i32>(tt);
  const o1 = taps > 1 ? load<i32>(tt, 4) : 0, o2 = taps > 2 ? load<i32>(tt, 8) : 0;
  const o3 = taps > 3 ? load<i32>(tt, 12) : 0, o4 = taps > 4 ? load<i32>(tt, 16) : 0;
  const o5 = taps > 5 ? load<i32>(tt, 20) : 0, o6 = taps > 6 ? load<i32>(tt, 24) : 0;
  const o7 = taps > 7 ? load<i32>(tt, 28) : 0;
  let i = q0 / np;
  const p0 = q0 - i * np;
  let oy = p0 / ow;
  let ox = p0 - oy * ow;
  let q = 0;
  while (q < pc) {
    const src = f32at(xpad, i * imgStride + oy * sh * wp + ox * sw);
    const d = d0 + (<usize>q << 5);
    let step = 1;
    if (sw == 1 && ox + 4 <= ow && q + 4 <= pc) {
      // Four positions of one output row at once: each tap is 4 consecutive input values, and
      // two 4x4 transposes turn 8 taps x 4 positions into 4 rows of 8 taps.
      transposeStore4x4(d, 32, v128.load(f32at(src, o0)), v128.load(f32at(src, o1)), v128.load(f32at(src, o2)), v128.load(f32at(src, o3)));
      transposeStore4x4(d + 16, 32, v128.load(f32at(src, o4)), v128.load(f32at(src, o5)), v128.load(f32at(src, o6)), v128.load(f32at(src, o7)));
      step = 4;
    } else {
      store<f32>(d, load<f32>(f32at(src, o0)));
      store<f32>(d, load<f32>(f32at(src, o1)), 4);
      store<f32>(d, load<f32>(f32at(src, o2)), 8);
      store<f32>(d, load<f32>(f32at(src, o3)), 12);
      store<f32>(d, load<f32>(f32at(src, o4)), 16);
      store<f32>(d, load<f32>(f32at(src, o5)), 20);
      store<f32>(d, load<f32>(f32at(src, o6)), 24);
      store<f32>(d, load<f32>(f32at(src, o7)), 28);
    }
    q += step;
    ox += step;
    if (ox == ow) {
      ox = 0;
      oy++;
      if (oy == oh) { oy = 0; i++; }
    }
  }
}
