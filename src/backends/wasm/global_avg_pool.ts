// global_avg_pool and its backward (the kernels see n * c planes), over pieces of the planes on the
// backend's threads.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { minUnits, splitUnits } from './split.js';

export function globalAvgPool(cx: WasmContext, n: number, c: number, hw: number, x: Buf, y: Buf): void {
  const px = cx.ptr(x), py = cx.ptr(y);
  cx.runCalls('global_avg_pool', splitUnits(n * c, cx.threads, minUnits(hw)).map(([a, b]) => [px + 4 * a * hw, py + 4 * a, b - a, hw]));
}

export function globalAvgPoolBackward(cx: WasmContext, n: number, c: number, hw: number, dy: Buf, dx: Buf): void {
  const pdy = cx.ptr(dy), pdx = cx.ptr(dx);
  cx.runCalls('global_avg_pool_backward', splitUnits(n * c, cx.threads, minUnits(hw)).map(([a, b]) =>
    [pdy + 4 * a, pdx + 4 * a * hw, b - a, hw]));
}
