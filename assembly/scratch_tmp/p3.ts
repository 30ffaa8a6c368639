export function peakTile(iters: i32, seed: f32): f32 {
  const x0 = f32x4.splat(seed), x1 = f32x4.splat(seed + 1), x2 = f32x4.splat(seed + 2), x3 = f32x4.splat(seed + 3);
  const y0 = f32x4.splat(seed * 0.001), y1 = f32x4.splat(seed * 0.002);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(a0, f32x4.mul(x0, y0)); a1 = f32x4.add(a1, f32x4.mul(x0, y1));
    a2 = f32x4.add(a2, f32x4.mul(x1, y0)); a3 = f32x4.add(a3, f32x4.mul(x1, y1));
    a4 = f32x4.add(a4, f32x4.mul(x2, y0)); a5 = f32x4.add(a5, f32x4.mul(x2, y1));
    a6 = f32x4.add(a6, f32x4.mul(x3, y0)); a7 = f32x4.add(a7, f32x4.mul(x3, y1));
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0);
}
export { f32x4_peak_muladd, f32x4_peak_muladd_fed } from '../gemm';
