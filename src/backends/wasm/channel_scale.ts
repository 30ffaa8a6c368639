// channel_scale and its backward, over pieces of the n * c planes on the backend's threads (the
// kernels take a range of planes as one image of that many channels).
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { minUnits, splitUnits } from './split.js';

export function channelScale(cx: WasmContext, n: number, c: number, hw: number, x: Buf, s: Buf, y: Buf): void {
  const px = cx.ptr(x), ps = cx.ptr(s), py = cx.ptr(y);
  cx.runCalls('channel_scale', splitUnits(n * c, cx.threads, minUnits(hw)).map(([a, b]) =>
    [px + 4 * a * hw, ps + 4 * a, py + 4 * a * hw, 1, b - a, hw]));
}

export function channelScaleBackward(cx: WasmContext, n: number, c: number, hw: number, x: Buf, s: Buf, dy: Buf,
  dx: Buf, ds: Buf): void {
  const px = cx.ptr(x), ps = cx.ptr(s), pdy = cx.ptr(dy), pdx = cx.ptr(dx), pds = cx.ptr(ds);
  cx.runCalls('channel_scale_backward', splitUnits(n * c, cx.threads, minUnits(hw)).map(([a, b]) =>
    [px + 4 * a * hw, ps + 4 * a, pdy + 4 * a * hw, pdx + 4 * a * hw, pds + 4 * a, 1, b - a, hw]));
}
