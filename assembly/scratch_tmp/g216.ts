// @ts-ignore: decorator
@inline
function gemm2x16(kc: i32, a: usize, b: usize, c: usize, ldc: i32): void {
  const c1 = c + (<usize>ldc << 2);
  let c00 = v128.load(c), c01 = v128.load(c, 16), c02 = v128.load(c, 32), c03 = v128.load(c, 48);
  let c10 = v128.load(c1), c11 = v128.load(c1, 16), c12 = v128.load(c1, 32), c13 = v128.load(c1, 48);
  const end = b + (<usize>kc << 6);
  while (b < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const b2 = v128.load(b, 32);
    const b3 = v128.load(b, 48);
    let s = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(s, b0)); c01 = f32x4.add(c01, f32x4.mul(s, b1));
    c02 = f32x4.add(c02, f32x4.mul(s, b2)); c03 = f32x4.add(c03, f32x4.mul(s, b3));
    s = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(s, b0)); c11 = f32x4.add(c11, f32x4.mul(s, b1));
    c12 = f32x4.add(c12, f32x4.mul(s, b2)); c13 = f32x4.add(c13, f32x4.mul(s, b3));
    a += 8;
    b += 64;
  }
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c02, 32); v128.store(c, c03, 48);
  v128.store(c1, c10); v128.store(c1, c11, 16); v128.store(c1, c12, 32); v128.store(c1, c13, 48);
}
// 3 rows x 12 cols: 9 accumulators, 3 B, 1 splat
// @ts-ignore: decorator
@inline
function gemm3x12(kc: i32, a: usize, b: usize, c: usize, ldc: i32): void {
  const rs = <usize>ldc << 2;
  const c1 = c + rs; const c2 = c1 + rs;
  let c00 = v128.load(c), c01 = v128.load(c, 16), c02 = v128.load(c, 32);
  let c10 = v128.load(c1), c11 = v128.load(c1, 16), c12 = v128.load(c1, 32);
  let c20 = v128.load(c2), c21 = v128.load(c2, 16), c22 = v128.load(c2, 32);
  const end = b + (<usize>kc * 48);
  while (b < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    const b2 = v128.load(b, 32);
    let s = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(s, b0)); c01 = f32x4.add(c01, f32x4.mul(s, b1)); c02 = f32x4.add(c02, f32x4.mul(s, b2));
    s = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(s, b0)); c11 = f32x4.add(c11, f32x4.mul(s, b1)); c12 = f32x4.add(c12, f32x4.mul(s, b2));
    s = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(s, b0)); c21 = f32x4.add(c21, f32x4.mul(s, b1)); c22 = f32x4.add(c22, f32x4.mul(s, b2));
    a += 12;
    b += 48;
  }
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c02, 32);
  v128.store(c1, c10); v128.store(c1, c11, 16); v128.store(c1, c12, 32);
  v128.store(c2, c20); v128.store(c2, c21, 16); v128.store(c2, c22, 32);
}
export function run216(iters: i32, kc: i32, a: usize, b: usize, c: usize): void {
  for (let i = 0; i < iters; i++) gemm2x16(kc, a, b, c, 16);
}
export function run312(iters: i32, kc: i32, a: usize, b: usize, c: usize): void {
  for (let i = 0; i < iters; i++) gemm3x12(kc, a, b, c, 12);
}
export { run } from './bench';
export { f32x4_peak_muladd } from '../gemm';
