// global_avg_pool and its backward (the kernels see n * c planes).
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function globalAvgPool(cx: WasmContext, n: number, c: number, hw: number, x: Buf, y: Buf): void {
  cx.kernels.global_avg_pool(cx.ptr(x), cx.ptr(y), n * c, hw);
}

export function globalAvgPoolBackward(cx: WasmContext, n: number, c: number, hw: number, dy: Buf, dx: Buf): void {
  cx.kernels.global_avg_pool_backward(cx.ptr(dy), cx.ptr(dx), n * c, hw);
}
