// conv2d's three passes: the shape as the kernels take it, a workspace of the size the kernel asks
// for (assembly/conv2d_plan.ts lays it out), one call.
import { CONV_ALGORITHM_CODE, type Buf, type ConvAlgorithm, type Conv2dShape } from '../../backend.js';
import type { WasmContext } from './context.js';

/** The shape as every conv2d export takes it: (n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow). */
export function shapeArgs(s: Conv2dShape): [number, number, number, number, number, number, number, number, number, number, number, number, number, number] {
  return [s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow];
}

export function conv2d(cx: WasmContext, s: Conv2dShape, x: Buf, w: Buf, bias: Buf | null, y: Buf, algorithm: ConvAlgorithm): void {
  const k = cx.kernels;
  const algo = CONV_ALGORITHM_CODE[algorithm];
  cx.withScratch(k.conv2d_workspace(...shapeArgs(s), algo), (ws) =>
    k.conv2d(cx.ptr(x), cx.ptr(w), cx.ptrOrNull(bias), cx.ptr(y), ...shapeArgs(s), algo, ws));
}

export function conv2dPackedBytes(cx: WasmContext, s: Conv2dShape, algorithm: ConvAlgorithm): number {
  return cx.kernels.conv2d_packed_bytes(s.k, s.c, s.groups, s.kh, s.kw, CONV_ALGORITHM_CODE[algorithm]);
}

export function conv2dPackWeight(cx: WasmContext, s: Conv2dShape, algorithm: ConvAlgorithm, w: Buf, packed: Buf): void {
  cx.kernels.conv2d_pack_weight(cx.ptr(w), cx.ptr(packed), s.k, s.c, s.groups, s.kh, s.kw, CONV_ALGORITHM_CODE[algorithm]);
}

export function conv2dPacked(cx: WasmContext, s: Conv2dShape, algorithm: ConvAlgorithm, x: Buf, packed: Buf, bias: Buf | null,
  y: Buf, relu: boolean): void {
  const k = cx.kernels;
  const algo = CONV_ALGORITHM_CODE[algorithm];
  cx.withScratch(k.conv2d_packed_workspace(...shapeArgs(s), algo), (ws) =>
    k.conv2d_packed(cx.ptr(x), cx.ptr(packed), cx.ptrOrNull(bias), cx.ptr(y), ...shapeArgs(s), algo, relu ? 1 : 0, ws));
}

export function conv2dBackwardInput(cx: WasmContext, s: Conv2dShape, dy: Buf, w: Buf, dx: Buf, algorithm: ConvAlgorithm): void {
  const k = cx.kernels;
  const algo = CONV_ALGORITHM_CODE[algorithm];
  cx.withScratch(k.conv2d_backward_input_workspace(...shapeArgs(s), algo), (ws) =>
    k.conv2d_backward_input(cx.ptr(dy), cx.ptr(w), cx.ptr(dx), ...shapeArgs(s), algo, ws));
}

export function conv2dBackwardWeight(cx: WasmContext, s: Conv2dShape, x: Buf, dy: Buf, dw: Buf, dbias: Buf | null): void {
  const k = cx.kernels;
  cx.withScratch(k.conv2d_backward_weight_workspace(...shapeArgs(s)), (ws) =>
    k.conv2d_backward_weight(cx.ptr(x), cx.ptr(dy), cx.ptr(dw), cx.ptrOrNull(dbias), ...shapeArgs(s), ws));
}
