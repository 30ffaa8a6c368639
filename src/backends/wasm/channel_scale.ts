// channel_scale and its backward.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function channelScale(cx: WasmContext, n: number, c: number, hw: number, x: Buf, s: Buf, y: Buf): void {
  cx.kernels.channel_scale(cx.ptr(x), cx.ptr(s), cx.ptr(y), n, c, hw);
}

export function channelScaleBackward(cx: WasmContext, n: number, c: number, hw: number, x: Buf, s: Buf, dy: Buf,
  dx: Buf, ds: Buf): void {
  cx.kernels.channel_scale_backward(cx.ptr(x), cx.ptr(s), cx.ptr(dy), cx.ptr(dx), cx.ptr(ds), n, c, hw);
}
