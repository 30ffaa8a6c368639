// Resizing 8-bit images exactly as PIL's Image.resize(size, Image.BILINEAR) does (Pillow's
// Resample.c), which is what torchvision's Resize and RandomResizedCrop call on PIL images: a
// triangle filter widened by the scale when shrinking (so shrinking averages every source pixel:
// "antialiasing"), coefficients in 22-bit fixed point, a horizontal pass rounded to 8 bits, then
// a vertical pass. Doing the same integer steps gives the same bytes as PIL, so a model trained
// with torchvision sees the same inputs here.

const PRECISION_BITS = 32 - 8 - 2;

/** Which source pixels each output pixel reads, and their fixed-point weights (Resample.c
 *  precompute_coeffs + normalize_coeffs_8bpc, bilinear filter, support 1). */
interface Coeffs {
  /** per output pixel: first source pixel, count */
  bounds: Int32Array;
  /** per output pixel: `ksize` weights */
  kk: Int32Array;
  ksize: number;
}

function precompute(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss);
      const w = t < 1 ? 1 - t : 0;
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const v = x < xmax && ww !== 0 ? k[x] / ww : x < xmax ? k[x] : 0;
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { bounds, kk, ksize };
}

/** Resample.c clip8: the fixed-point sum to a byte. */
function clip8(v: number): number {
  const x = v >> PRECISION_BITS;
  return x < 0 ? 0 : x > 255 ? 255 : x;
}

function checkArgs(src: Uint8Array, width: number, height: number, channels: number, outWidth: number, outHeight: number, where: string): void {
  if (!(src instanceof Uint8Array)) throw new TypeError(`${where}: pixels must be a Uint8Array of 8-bit samples`);
  for (const [v, name] of [[width, 'width'], [height, 'height'], [outWidth, 'output width'], [outHeight, 'output height']] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > 65535) throw new RangeError(`${where}: ${name} must be an integer from 1 to 65535, got ${String(v)}`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw new RangeError(`${where}: channels must be 1 to 4, got ${String(channels)}`);
  if (src.length !== width * height * channels) {
    throw new RangeError(`${where}: ${src.length} samples for a ${width}x${height} image of ${channels} channels (needs ${width * height * channels})`);
  }
}

/**
 * Resizes interleaved 8-bit samples (`channels` per pixel, rows `width * channels` long) to
 * outWidth x outHeight, as PIL's resize with Image.BILINEAR. Returns a new array.
 */
export function resizeBilinear(src: Uint8Array, width: number, height: number, channels: number,
  outWidth: number, outHeight: number): Uint8Array {
  checkArgs(src, width, height, channels, outWidth, outHeight, 'resizeBilinear');
  const c = channels;
  let img = src;
  let rows = height;
  let firstRow = 0;
  const vert = outHeight !== height ? precompute(height, outHeight) : null;
  if (outWidth !== width) {
    const h = precompute(width, outWidth);
    // Only the rows the vertical pass will read (as PIL's ybox_first .. ybox_last).
    if (vert) {
      firstRow = vert.bounds[0];
      rows = vert.bounds[(outHeight - 1) * 2] + vert.bounds[(outHeight - 1) * 2 + 1] - firstRow;
    }
    const out = new Uint8Array(outWidth * rows * c);
    const half = 1 << (PRECISION_BITS - 1);
    for (let y = 0; y < rows; y++) {
      const inRow = (y + firstRow) * width * c;
      const outRow = y * outWidth * c;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = h.bounds[xx * 2];
        const xmax = h.bounds[xx * 2 + 1];
        const k0 = xx * h.ksize;
        for (let ch = 0; ch < c; ch++) {
          let ss = half;
          for (let x = 0; x < xmax; x++) ss += src[inRow + (x + xmin) * c + ch] * h.kk[k0 + x];
          out[outRow + xx * c + ch] = clip8(ss);
        }
      }
    }
    img = out;
  }
  const w = outWidth;
  if (!vert) return img === src ? src.slice() : img;
  const out = new Uint8Array(w * outHeight * c);
  const half = 1 << (PRECISION_BITS - 1);
  const stride = w * c;
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = vert.bounds[yy * 2] - firstRow;
    const ymax = vert.bounds[yy * 2 + 1];
    const k0 = yy * vert.ksize;
    const o = yy * stride;
    for (let i = 0; i < stride; i++) {
      let ss = half;
      for (let y = 0; y < ymax; y++) ss += img[(y + ymin) * stride + i] * vert.kk[k0 + y];
      out[o + i] = clip8(ss);
    }
  }
  return out;
}
