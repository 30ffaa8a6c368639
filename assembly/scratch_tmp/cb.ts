import { conv2d_forward } from './conv_nogemm';
import { conv2d_forward as real } from '../conv';
export function packonly(iters: i32, x: usize, wt: usize, y: usize, ws: usize, n: i32): void {
  for (let i = 0; i < iters; i++) conv2d_forward(x, wt, 0, y, n, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 56, 56, ws);
}
export function full(iters: i32, x: usize, wt: usize, y: usize, ws: usize, n: i32): void {
  for (let i = 0; i < iters; i++) real(x, wt, 0, y, n, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 56, 56, ws);
}
export { run } from './bench';
