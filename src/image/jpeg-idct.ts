// The inverse DCT of a JPEG decoder: libjpeg's "islow" integer algorithm (jidctint.c, the
// Loeffler-Ligtenberg-Moschytz IDCT with 13-bit constants), which is what libjpeg-turbo, and so
// PIL, uses by default. Written out the same way, step for step, so that our pixels equal PIL's
// exactly rather than within a rounding: a float IDCT would differ by 1 in a few percent of the
// samples, and the chroma upsampling and colour conversion could add another 1.
//
// The arithmetic is the C code's, in 32-bit integers: for the coefficients of any real 8-bit
// JPEG the intermediate values stay far inside 32 bits (C uses 64-bit longs; the results agree).
// A hostile file's coefficients can wrap around: that gives wrong pixels, never an out-of-bounds
// access, since every output goes through the 1024-entry range-limit table below.

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * libjpeg's post-IDCT range limit (jdmaster.c prepare_range_limit_table), indexed by the
 * descaled value & 1023: x in [-128, 128) -> x + 128, [128, 512) -> 255, [-512, -128) -> 0, and
 * the wrap-around beyond, exactly as libjpeg's table does.
 */
const RANGE = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) {
    const x = i < 512 ? i : i - 1024;
    t[i] = x < -128 ? 0 : x >= 128 ? 255 : x + 128;
  }
  return t;
})();

const workspace = new Int32Array(64);

/**
 * One 8x8 block: `coef` holds 64 quantized coefficients in natural (row-major) order at `c0`,
 * `quant` the quantization table in natural order; writes 8 rows of 8 samples into `out` at `o0`,
 * rows `stride` apart.
 */
export function idctIslow(coef: Int16Array, c0: number, quant: Uint16Array, out: Uint8Array, o0: number, stride: number): void {
  const ws = workspace;
  // Pass 1: columns, from the coefficients into the workspace, scaled up by 2^PASS1_BITS.
  for (let col = 0; col < 8; col++) {
    const c = c0 + col;
    if (coef[c + 8] === 0 && coef[c + 16] === 0 && coef[c + 24] === 0 && coef[c + 32] === 0 &&
        coef[c + 40] === 0 && coef[c + 48] === 0 && coef[c + 56] === 0) {
      // AC terms all zero: the column is its DC term.
      const dc = (coef[c] * quant[col]) << PASS1_BITS;
      for (let r = 0; r < 64; r += 8) ws[col + r] = dc;
      continue;
    }
    // Even part.
    let z2 = coef[c + 16] * quant[col + 16];
    let z3 = coef[c + 48] * quant[col + 48];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = coef[c] * quant[col];
    z3 = coef[c + 32] * quant[col + 32];
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    // Odd part.
    tmp0 = coef[c + 56] * quant[col + 56];
    tmp1 = coef[c + 40] * quant[col + 40];
    tmp2 = coef[c + 24] * quant[col + 24];
    tmp3 = coef[c + 8] * quant[col + 8];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    const half = 1 << (CONST_BITS - PASS1_BITS - 1);
    const shift = CONST_BITS - PASS1_BITS;
    ws[col] = (tmp10 + tmp3 + half) >> shift;
    ws[col + 56] = (tmp10 - tmp3 + half) >> shift;
    ws[col + 8] = (tmp11 + tmp2 + half) >> shift;
    ws[col + 48] = (tmp11 - tmp2 + half) >> shift;
    ws[col + 16] = (tmp12 + tmp1 + half) >> shift;
    ws[col + 40] = (tmp12 - tmp1 + half) >> shift;
    ws[col + 24] = (tmp13 + tmp0 + half) >> shift;
    ws[col + 32] = (tmp13 - tmp0 + half) >> shift;
  }
  // Pass 2: rows, from the workspace into samples, descaled by 8 and 2^PASS1_BITS.
  const shift = CONST_BITS + PASS1_BITS + 3;
  const half = 1 << (shift - 1);
  for (let row = 0; row < 8; row++) {
    const w = row * 8;
    const o = o0 + row * stride;
    if (ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 &&
        ws[w + 5] === 0 && ws[w + 6] === 0 && ws[w + 7] === 0) {
      const v = RANGE[((ws[w] + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023];
      for (let i = 0; i < 8; i++) out[o + i] = v;
      continue;
    }
    let z2 = ws[w + 2];
    let z3 = ws[w + 6];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (ws[w] + ws[w + 4]) << CONST_BITS;
    let tmp1 = (ws[w] - ws[w + 4]) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;
    tmp0 = ws[w + 7];
    tmp1 = ws[w + 5];
    tmp2 = ws[w + 3];
    tmp3 = ws[w + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;
    out[o] = RANGE[((tmp10 + tmp3 + half) >> shift) & 1023];
    out[o + 7] = RANGE[((tmp10 - tmp3 + half) >> shift) & 1023];
    out[o + 1] = RANGE[((tmp11 + tmp2 + half) >> shift) & 1023];
    out[o + 6] = RANGE[((tmp11 - tmp2 + half) >> shift) & 1023];
    out[o + 2] = RANGE[((tmp12 + tmp1 + half) >> shift) & 1023];
    out[o + 5] = RANGE[((tmp12 - tmp1 + half) >> shift) & 1023];
    out[o + 3] = RANGE[((tmp13 + tmp0 + half) >> shift) & 1023];
    out[o + 4] = RANGE[((tmp13 - tmp0 + half) >> shift) & 1023];
  }
}
