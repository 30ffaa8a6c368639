// max_pool2d and its backward (the kernels see n * c planes).
import type { Buf, Pool2dShape } from '../../backend.js';
import type { WasmContext } from './context.js';

export function maxPool2d(cx: WasmContext, s: Pool2dShape, x: Buf, y: Buf): void {
  cx.kernels.max_pool2d(cx.ptr(x), cx.ptr(y), s.n * s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow);
}

export function maxPool2dBackward(cx: WasmContext, s: Pool2dShape, x: Buf, dy: Buf, dx: Buf): void {
  cx.kernels.max_pool2d_backward(cx.ptr(x), cx.ptr(dy), cx.ptr(dx), s.n * s.c, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow);
}
