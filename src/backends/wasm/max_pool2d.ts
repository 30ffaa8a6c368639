// max_pool2d and its backward (the kernels see n * c planes), over pieces of the planes on the
// backend's threads.
import type { Buf, Pool2dShape } from '../../backend.js';
import type { WasmContext } from './context.js';
import { minUnits, splitUnits } from './split.js';

function planePieces(cx: WasmContext, s: Pool2dShape): [number, number][] {
  return splitUnits(s.n * s.c, cx.threads, minUnits(s.oh * s.ow * s.kh * s.kw));
}

export function maxPool2d(cx: WasmContext, s: Pool2dShape, x: Buf, y: Buf): void {
  const px = cx.ptr(x), py = cx.ptr(y);
  const inPlane = 4 * s.h * s.w, outPlane = 4 * s.oh * s.ow;
  cx.runCalls('max_pool2d', planePieces(cx, s).map(([a, b]) =>
    [px + a * inPlane, py + a * outPlane, b - a, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow]));
}

export function maxPool2dBackward(cx: WasmContext, s: Pool2dShape, x: Buf, dy: Buf, dx: Buf): void {
  const px = cx.ptr(x), pdy = cx.ptr(dy), pdx = cx.ptr(dx);
  const inPlane = 4 * s.h * s.w, outPlane = 4 * s.oh * s.ow;
  cx.runCalls('max_pool2d_backward', planePieces(cx, s).map(([a, b]) =>
    [px + a * inPlane, pdy + a * outPlane, pdx + a * inPlane, b - a, s.h, s.w, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw, s.oh, s.ow]));
}
