// conv2d's three passes: the shape as the kernels take it, a workspace of the size the kernel asks
// for (assembly/conv2d_plan.ts lays it out, with a slice per thread), then the pass's phases of
// work items on the backend's threads.
import { CONV_ALGORITHM_CODE, type Buf, type ConvAlgorithm, type Conv2dShape } from '../../backend.js';
import type { WasmContext } from './context.js';

type Shape = [number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** The shape as every conv2d export takes it: (n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow). */
export function shapeArgs(s: Conv2dShape): Shape {
  return [s.n, s.c, s.h, s.w, s.k, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.groups, s.oh, s.ow];
}

export function conv2d(cx: WasmContext, s: Conv2dShape, x: Buf, w: Buf, bias: Buf | null, y: Buf, algorithm: ConvAlgorithm): void {
  const k = cx.kernels;
  const t = cx.threads;
  const shape = shapeArgs(s);
  const algo = CONV_ALGORITHM_CODE[algorithm];
  cx.withScratch(k.conv2d_workspace(...shape, algo, t), (ws) =>
    cx.runPhases('conv2d_range', [cx.ptr(x), cx.ptr(w), cx.ptrOrNull(bias), cx.ptr(y), ...shape, algo, ws],
      (phase) => k.conv2d_items(...shape, algo, t, phase)));
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
  const t = cx.threads;
  const shape = shapeArgs(s);
  const algo = CONV_ALGORITHM_CODE[algorithm];
  cx.withScratch(k.conv2d_packed_workspace(...shape, algo, t), (ws) =>
    cx.runPhases('conv2d_packed_range', [cx.ptr(x), cx.ptr(packed), cx.ptrOrNull(bias), cx.ptr(y), ...shape, algo, relu ? 1 : 0, ws],
      (phase) => k.conv2d_packed_items(...shape, algo, t, phase)));
}

export function conv2dBackwardInput(cx: WasmContext, s: Conv2dShape, dy: Buf, w: Buf, dx: Buf, algorithm: ConvAlgorithm): void {
  const k = cx.kernels;
  const t = cx.threads;
  const shape = shapeArgs(s);
  const algo = CONV_ALGORITHM_CODE[algorithm];
  cx.withScratch(k.conv2d_backward_input_workspace(...shape, algo, t), (ws) =>
    cx.runPhases('conv2d_backward_input_range', [cx.ptr(dy), cx.ptr(w), cx.ptr(dx), ...shape, algo, ws],
      (phase) => k.conv2d_backward_input_items(...shape, algo, t, phase)));
}

export function conv2dBackwardWeight(cx: WasmContext, s: Conv2dShape, x: Buf, dy: Buf, dw: Buf, dbias: Buf | null): void {
  const k = cx.kernels;
  const t = cx.threads;
  const shape = shapeArgs(s);
  cx.withScratch(k.conv2d_backward_weight_workspace(...shape, t), (ws) =>
    cx.runPhases('conv2d_backward_weight_range', [cx.ptr(x), cx.ptr(dy), cx.ptr(dw), cx.ptrOrNull(dbias), ...shape, ws],
      (phase) => k.conv2d_backward_weight_items(...shape, t, phase)));
}
