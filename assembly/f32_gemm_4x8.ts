// f32-gemm-4x8-wasmsimd: the micro-kernel every convolution runs on.
//
//   f32_gemm_4x8        C[4 x 8] += A[4 x kc] * B[kc x 8]
//   f32_gemm_4x8_zero   C[4 x 8]  = A[4 x kc] * B[kc x 8]   (C is not read: accumulators start at 0)
//
// A is packed "4 rows interleaved": for each k, the 4 values A[0..3][k] (16 bytes).
// B is packed "8 columns interleaved": for each k, the 8 values B[k][0..7] (32 bytes).
// C is 4 rows of 8 contiguous floats, rows `ldc` floats apart.
// 8 accumulators + 2 B vectors + 1 splat of A stay within V8's 16 xmm registers (no spills).
// madd is one fused multiply-add in the relaxed-SIMD build, a multiply and an add otherwise.
import { madd } from './util';

// @ts-ignore: decorator
@inline
export function f32_gemm_4x8(kc: i32, a: usize, b: usize, c: usize, ldc: i32): void {
  gemm4x8(kc, a, b, c, ldc, true);
}

// @ts-ignore: decorator
@inline
export function f32_gemm_4x8_zero(kc: i32, a: usize, b: usize, c: usize, ldc: i32): void {
  gemm4x8(kc, a, b, c, ldc, false);
}

/** The loop of both: `accumulate` is a constant at each (inlined) call, so each gets its own code. */
// @ts-ignore: decorator
@inline
function gemm4x8(kc: i32, a: usize, b: usize, c: usize, ldc: i32, accumulate: bool): void {
  const rs = <usize>ldc << 2;
  const c1 = c + rs;
  const c2 = c1 + rs;
  const c3 = c2 + rs;
  let c0l = f32x4.splat(0), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l, c3l = c0l, c3h = c0l;
  if (accumulate) {
    c0l = v128.load(c); c0h = v128.load(c, 16);
    c1l = v128.load(c1); c1h = v128.load(c1, 16);
    c2l = v128.load(c2); c2h = v128.load(c2, 16);
    c3l = v128.load(c3); c3h = v128.load(c3, 16);
  }
  // Loop on the B pointer alone: one induction variable fewer than a counter (V8 adds an
  // interrupt check to every back-edge, so the loop body's overhead is worth trimming).
  const end = b + (<usize>kc << 5);
  while (b < end) {
    const bl = v128.load(b);
    const bh = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c0l = madd(s, bl, c0l);
    c0h = madd(s, bh, c0h);
    s = v128.load32_splat(a, 4);
    c1l = madd(s, bl, c1l);
    c1h = madd(s, bh, c1h);
    s = v128.load32_splat(a, 8);
    c2l = madd(s, bl, c2l);
    c2h = madd(s, bh, c2h);
    s = v128.load32_splat(a, 12);
    c3l = madd(s, bl, c3l);
    c3h = madd(s, bh, c3h);
    a += 16;
    b += 32;
  }
  v128.store(c, c0l); v128.store(c, c0h, 16);
  v128.store(c1, c1l); v128.store(c1, c1h, 16);
  v128.store(c2, c2l); v128.store(c2, c2h, 16);
  v128.store(c3, c3l); v128.store(c3, c3h, 16);
}

/** Runs the micro-kernel on a tile that may be cut at the matrix edge: `rows` (<= 4) by `cols`
 *  (<= 8) valid entries of C. A partial tile goes through a 4x8 scratch tile `t` so the kernel
 *  never reads or writes outside C. */
export function gemmTile(kc: i32, a: usize, b: usize, c: usize, ldc: i32, rows: i32, cols: i32, t: usize): void {
  if (rows == 4 && cols == 8) {
    f32_gemm_4x8(kc, a, b, c, ldc);
    return;
  }
  v128.store(t, f32x4.splat(0)); v128.store(t, f32x4.splat(0), 16);
  v128.store(t, f32x4.splat(0), 32); v128.store(t, f32x4.splat(0), 48);
  v128.store(t, f32x4.splat(0), 64); v128.store(t, f32x4.splat(0), 80);
  v128.store(t, f32x4.splat(0), 96); v128.store(t, f32x4.splat(0), 112);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(t + ((<usize>(r * 8 + j)) << 2), load<f32>(c + ((<usize>(r * ldc + j)) << 2)));
    }
  }
  f32_gemm_4x8(kc, a, b, t, 8);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(c + ((<usize>(r * ldc + j)) << 2), load<f32>(t + ((<usize>(r * 8 + j)) << 2)));
    }
  }
}

/** A B alone (C = 0 before) into the 4x8 scratch tile `t`, for callers that scatter it themselves
 *  (col2im). */
export function gemmTileToScratch(kc: i32, a: usize, b: usize, t: usize): void {
  f32_gemm_4x8_zero(kc, a, b, t, 8);
}
