// From a JPEG's decoded component planes to pixels: chroma upsampling and colour conversion, as
// libjpeg-turbo 2.1 does them by default (and so PIL): "fancy" (triangular) upsampling for the
// 2:1 cases (jdsample.c h2v1_fancy_upsample, h2v2_fancy_upsample, h1v2_fancy_upsample), plain
// replication for other integral ratios (int_upsample), and the fixed-point YCbCr -> RGB tables
// of jdcolor.c. The same integer steps give the same samples, so decodeJpeg matches PIL exactly.

/** One decoded component: its samples (`stride` per row) and sampling factors. */
export interface Plane {
  data: Uint8Array;
  stride: number;
  /** the component's own size: ceil(image size * factor / largest factor) */
  width: number;
  height: number;
  h: number;
  v: number;
}

/**
 * The plane at the image's full resolution (width x height, rows `width` apart), upsampled by
 * hmax / h horizontally and vmax / v vertically, as libjpeg does with fancy upsampling on.
 */
export function upsample(p: Plane, hmax: number, vmax: number, width: number, height: number): Uint8Array {
  const hx = hmax / p.h;
  const vx = vmax / p.v;
  const out = new Uint8Array(width * height);
  const { data, stride } = p;
  const dw = p.width;
  const dh = p.height;
  // Input row i, with libjpeg's context rows at the edges: row -1 is row 0, row dh is row dh - 1.
  const rowAt = (i: number) => Math.min(Math.max(i, 0), dh - 1) * stride;
  const tmp = new Uint8Array(2 * dw + 2);
  if (hx === 1 && vx === 1) {
    for (let y = 0; y < height; y++) out.set(data.subarray(y * stride, y * stride + width), y * width);
  } else if (hx === 2 && vx === 1 && dw > 2) {
    for (let y = 0; y < height; y++) {
      h2v1(data, y * stride, dw, tmp);
      out.set(tmp.subarray(0, width), y * width);
    }
  } else if (hx === 1 && vx === 2) {
    for (let y = 0; y < height; y++) {
      const i = y >> 1;
      const near = rowAt(i);
      const far = rowAt(y & 1 ? i + 1 : i - 1);
      const bias = y & 1 ? 2 : 1;
      const o = y * width;
      for (let x = 0; x < width; x++) out[o + x] = (data[near + x] * 3 + data[far + x] + bias) >> 2;
    }
  } else if (hx === 2 && vx === 2 && dw > 2) {
    for (let y = 0; y < height; y++) {
      const i = y >> 1;
      h2v2(data, rowAt(i), rowAt(y & 1 ? i + 1 : i - 1), dw, tmp);
      out.set(tmp.subarray(0, width), y * width);
    }
  } else {
    // Any other integral ratio (and 2:1 on components at most 2 samples wide): replication.
    for (let y = 0; y < height; y++) {
      const r = Math.floor(y / vx) * stride;
      const o = y * width;
      for (let x = 0; x < width; x++) out[o + x] = data[r + Math.floor(x / hx)];
    }
  }
  return out;
}

/** jdsample.c h2v1_fancy_upsample on one row of `dw` (> 2) samples. */
function h2v1(d: Uint8Array, r: number, dw: number, out: Uint8Array): void {
  let v = d[r];
  out[0] = v;
  out[1] = (v * 3 + d[r + 1] + 2) >> 2;
  let o = 2;
  for (let i = 1; i < dw - 1; i++) {
    v = d[r + i] * 3;
    out[o++] = (v + d[r + i - 1] + 1) >> 2;
    out[o++] = (v + d[r + i + 1] + 2) >> 2;
  }
  v = d[r + dw - 1];
  out[o++] = (v * 3 + d[r + dw - 2] + 1) >> 2;
  out[o] = v;
}

/** jdsample.c h2v2_fancy_upsample: one output row from its nearer (`r0`) and farther (`r1`) input rows. */
function h2v2(d: Uint8Array, r0: number, r1: number, dw: number, out: Uint8Array): void {
  let thiscolsum = d[r0] * 3 + d[r1];
  let nextcolsum = d[r0 + 1] * 3 + d[r1 + 1];
  out[0] = (thiscolsum * 4 + 8) >> 4;
  out[1] = (thiscolsum * 3 + nextcolsum + 7) >> 4;
  let lastcolsum = thiscolsum;
  thiscolsum = nextcolsum;
  let o = 2;
  for (let i = 2; i < dw; i++) {
    nextcolsum = d[r0 + i] * 3 + d[r1 + i];
    out[o++] = (thiscolsum * 3 + lastcolsum + 8) >> 4;
    out[o++] = (thiscolsum * 3 + nextcolsum + 7) >> 4;
    lastcolsum = thiscolsum;
    thiscolsum = nextcolsum;
  }
  out[o++] = (thiscolsum * 3 + lastcolsum + 8) >> 4;
  out[o] = (thiscolsum * 4 + 7) >> 4;
}

// jdcolor.c build_ycc_rgb_table: 16-bit fixed point, each product rounded as libjpeg rounds it.
const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const FIX = (x: number) => Math.floor(x * (1 << SCALEBITS) + 0.5);
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Int32Array(256);
const CB_G = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = (FIX(1.402) * x + ONE_HALF) >> SCALEBITS;
  CB_B[i] = (FIX(1.772) * x + ONE_HALF) >> SCALEBITS;
  CR_G[i] = -FIX(0.71414) * x;
  CB_G[i] = -FIX(0.34414) * x + ONE_HALF;
}

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** YCbCr -> RGB (jdcolor.c ycc_rgb_convert), into `out` (3 samples a pixel). */
export function yccToRgb(y: Uint8Array, cb: Uint8Array, cr: Uint8Array, out: Uint8Array): void {
  for (let i = 0, o = 0; i < y.length; i++, o += 3) {
    const Y = y[i];
    const b = cb[i];
    const r = cr[i];
    out[o] = clamp(Y + CR_R[r]);
    out[o + 1] = clamp(Y + ((CB_G[b] + CR_G[r]) >> SCALEBITS));
    out[o + 2] = clamp(Y + CB_B[b]);
  }
}

/**
 * Four components (Adobe CMYK, or YCCK when `ycck`) -> RGB the way PIL gets it: libjpeg gives
 * CMYK (jdcolor.c ycck_cmyk_convert for YCCK), PIL reads it as Adobe's inverted CMYK ("CMYK;I")
 * and converts to RGB with R = (255 - K)(255 - C) / 255 rounded its own way (Convert.c cmyk2rgb).
 */
export function cmykToRgb(c0: Uint8Array, c1: Uint8Array, c2: Uint8Array, k: Uint8Array, ycck: boolean, out: Uint8Array): void {
  for (let i = 0, o = 0; i < c0.length; i++, o += 3) {
    let c: number;
    let m: number;
    let y: number;
    if (ycck) {
      const Y = c0[i];
      const b = c1[i];
      const r = c2[i];
      c = clamp(255 - (Y + CR_R[r]));
      m = clamp(255 - (Y + ((CB_G[b] + CR_G[r]) >> SCALEBITS)));
      y = clamp(255 - (Y + CB_B[b]));
    } else {
      c = c0[i];
      m = c1[i];
      y = c2[i];
    }
    // PIL inverts (Adobe writes inverted CMYK): C' = 255 - C, ...; then cmyk2rgb.
    const nk = k[i]; // 255 - K' = 255 - (255 - K) = K
    out[o] = clamp(nk - muldiv255(255 - c, nk));
    out[o + 1] = clamp(nk - muldiv255(255 - m, nk));
    out[o + 2] = clamp(nk - muldiv255(255 - y, nk));
  }
}

/** PIL's MULDIV255: a * b / 255, rounded. */
function muldiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}
