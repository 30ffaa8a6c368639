export function peak14(iters: i32, seed: f32): f32 {
  const m = f32x4.splat(0.9999999);
  const d = f32x4.splat(1e-7);
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2);
  let a3 = f32x4.splat(seed + 3), a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5);
  let a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7), a8 = f32x4.splat(seed + 8);
  let a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
  let a12 = f32x4.splat(seed + 12), a13 = f32x4.splat(seed + 13);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), d); a1 = f32x4.add(f32x4.mul(a1, m), d);
    a2 = f32x4.add(f32x4.mul(a2, m), d); a3 = f32x4.add(f32x4.mul(a3, m), d);
    a4 = f32x4.add(f32x4.mul(a4, m), d); a5 = f32x4.add(f32x4.mul(a5, m), d);
    a6 = f32x4.add(f32x4.mul(a6, m), d); a7 = f32x4.add(f32x4.mul(a7, m), d);
    a8 = f32x4.add(f32x4.mul(a8, m), d); a9 = f32x4.add(f32x4.mul(a9, m), d);
    a10 = f32x4.add(f32x4.mul(a10, m), d); a11 = f32x4.add(f32x4.mul(a11, m), d);
    a12 = f32x4.add(f32x4.mul(a12, m), d); a13 = f32x4.add(f32x4.mul(a13, m), d);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)),
    f32x4.add(f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)),
      f32x4.add(f32x4.add(a8, a9), f32x4.add(f32x4.add(a10, a11), f32x4.add(a12, a13)))));
  return f32x4.extract_lane(s, 0);
}
// 8 accumulators fed by products of two vectors that change each iteration (no chain through mul)
export function peakSplit(iters: i32, seed: f32): f32 {
  let x = f32x4.splat(seed); let y = f32x4.splat(seed * 0.5);
  const dx = f32x4.splat(1e-9);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(a0, f32x4.mul(x, y)); a1 = f32x4.add(a1, f32x4.mul(x, x));
    a2 = f32x4.add(a2, f32x4.mul(y, y)); a3 = f32x4.add(a3, f32x4.mul(y, dx));
    a4 = f32x4.add(a4, f32x4.mul(x, dx)); a5 = f32x4.add(a5, f32x4.mul(x, a0));
    a6 = f32x4.add(a6, f32x4.mul(y, a1)); a7 = f32x4.add(a7, f32x4.mul(dx, a2));
    x = f32x4.add(x, dx); y = f32x4.sub(y, dx);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0);
}
export { f32x4_peak_muladd } from '../gemm';
