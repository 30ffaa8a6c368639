// @ts-ignore: decorator
@inline
function gemm5x8(kc: i32, a: usize, b: usize, c: usize, ldc: i32): void {
  const rs = <usize>ldc << 2;
  const c1 = c + rs; const c2 = c1 + rs; const c3 = c2 + rs; const c4 = c3 + rs;
  let c0l = v128.load(c), c0h = v128.load(c, 16);
  let c1l = v128.load(c1), c1h = v128.load(c1, 16);
  let c2l = v128.load(c2), c2h = v128.load(c2, 16);
  let c3l = v128.load(c3), c3h = v128.load(c3, 16);
  let c4l = v128.load(c4), c4h = v128.load(c4, 16);
  const end = b + (<usize>kc << 5);
  while (b < end) {
    const bl = v128.load(b);
    const bh = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c0l = f32x4.add(c0l, f32x4.mul(s, bl)); c0h = f32x4.add(c0h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 4);
    c1l = f32x4.add(c1l, f32x4.mul(s, bl)); c1h = f32x4.add(c1h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 8);
    c2l = f32x4.add(c2l, f32x4.mul(s, bl)); c2h = f32x4.add(c2h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 12);
    c3l = f32x4.add(c3l, f32x4.mul(s, bl)); c3h = f32x4.add(c3h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 16);
    c4l = f32x4.add(c4l, f32x4.mul(s, bl)); c4h = f32x4.add(c4h, f32x4.mul(s, bh));
    a += 20;
    b += 32;
  }
  v128.store(c, c0l); v128.store(c, c0h, 16);
  v128.store(c1, c1l); v128.store(c1, c1h, 16);
  v128.store(c2, c2l); v128.store(c2, c2h, 16);
  v128.store(c3, c3l); v128.store(c3, c3h, 16);
  v128.store(c4, c4l); v128.store(c4, c4h, 16);
}
// @ts-ignore: decorator
@inline
function gemm4x8w(kc: i32, a: usize, b: usize, c: usize, ldc: i32): void {
  const rs = <usize>ldc << 2;
  const c1 = c + rs; const c2 = c1 + rs; const c3 = c2 + rs;
  let c0l = v128.load(c), c0h = v128.load(c, 16);
  let c1l = v128.load(c1), c1h = v128.load(c1, 16);
  let c2l = v128.load(c2), c2h = v128.load(c2, 16);
  let c3l = v128.load(c3), c3h = v128.load(c3, 16);
  const end = b + (<usize>kc << 5);
  while (b < end) {
    const bl = v128.load(b);
    const bh = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c0l = f32x4.add(c0l, f32x4.mul(s, bl)); c0h = f32x4.add(c0h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 4);
    c1l = f32x4.add(c1l, f32x4.mul(s, bl)); c1h = f32x4.add(c1h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 8);
    c2l = f32x4.add(c2l, f32x4.mul(s, bl)); c2h = f32x4.add(c2h, f32x4.mul(s, bh));
    s = v128.load32_splat(a, 12);
    c3l = f32x4.add(c3l, f32x4.mul(s, bl)); c3h = f32x4.add(c3h, f32x4.mul(s, bh));
    a += 16;
    b += 32;
  }
  v128.store(c, c0l); v128.store(c, c0h, 16);
  v128.store(c1, c1l); v128.store(c1, c1h, 16);
  v128.store(c2, c2l); v128.store(c2, c2h, 16);
  v128.store(c3, c3l); v128.store(c3, c3h, 16);
}
export function run5(iters: i32, kc: i32, a: usize, b: usize, c: usize): void {
  for (let i = 0; i < iters; i++) gemm5x8(kc, a, b, c, 8);
}
export function run4w(iters: i32, kc: i32, a: usize, b: usize, c: usize): void {
  for (let i = 0; i < iters; i++) gemm4x8w(kc, a, b, c, 8);
}
export { run } from './bench';
export { f32x4_peak_muladd } from '../gemm';
