// conv2d's three passes: the shape as the kernels take it, a workspace of the size the kernel asks
// for (assembly/conv2d_plan.ts lays it out), one call.
import type { Buf, Conv2dShape } from '../../backend.js';
import type { WasmContext } from './context.js';

/** The shape as every conv2d export takes it: (n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow). */
export function shapeArgs(s: Conv2dShape): [number, number, number, number, number, number, number, number, number, number, number, number, number, number] {
  return [s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow];
}

export function conv2d(cx: WasmContext, s: Conv2dShape, x: Buf, w: Buf, bias: Buf | null, y: Buf): void {
  const k = cx.kernels;
  cx.withScratch(k.conv2d_workspace(...shapeArgs(s)), (ws) =>
    k.conv2d(cx.ptr(x), cx.ptr(w), cx.ptrOrNull(bias), cx.ptr(y), ...shapeArgs(s), ws));
}

export function conv2dBackwardInput(cx: WasmContext, s: Conv2dShape, dy: Buf, w: Buf, dx: Buf): void {
  const k = cx.kernels;
  cx.withScratch(k.conv2d_backward_input_workspace(...shapeArgs(s)), (ws) =>
    k.conv2d_backward_input(cx.ptr(dy), cx.ptr(w), cx.ptr(dx), ...shapeArgs(s), ws));
}

export function conv2dBackwardWeight(cx: WasmContext, s: Conv2dShape, x: Buf, dy: Buf, dw: Buf, dbias: Buf | null): void {
  const k = cx.kernels;
  cx.withScratch(k.conv2d_backward_weight_workspace(...shapeArgs(s)), (ws) =>
    k.conv2d_backward_weight(cx.ptr(x), cx.ptr(dy), cx.ptr(dw), cx.ptrOrNull(dbias), ...shapeArgs(s), ws));
}
