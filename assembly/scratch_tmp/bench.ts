import { f32_gemm_4x8 } from '../gemm';
export function run(iters: i32, kc: i32, a: usize, b: usize, c: usize): void {
  for (let i = 0; i < iters; i++) f32_gemm_4x8(kc, a, b, c, 8);
}
import { conv2d_forward } from '../conv';
export function convrun(iters: i32, x: usize, wt: usize, y: usize, ws: usize, n: i32): void {
  for (let i = 0; i < iters; i++) conv2d_forward(x, wt, 0, y, n, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 56, 56, ws);
}
export { f32x4_peak_muladd } from '../gemm';
