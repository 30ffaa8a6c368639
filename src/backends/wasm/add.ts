// add and add_in_place, over pieces of the floats on the backend's threads.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { MIN_FLOATS, splitUnits } from './split.js';

export function add(cx: WasmContext, a: Buf, b: Buf, y: Buf): void {
  const pa = cx.ptr(a), pb = cx.ptr(b), py = cx.ptr(y);
  cx.runCalls('add', splitUnits(a.length, cx.threads, MIN_FLOATS, 16).map(([s, e]) => [pa + 4 * s, pb + 4 * s, py + 4 * s, e - s]));
}

export function addInPlace(cx: WasmContext, dst: Buf, src: Buf): void {
  const pd = cx.ptr(dst), ps = cx.ptr(src);
  cx.runCalls('add_in_place', splitUnits(dst.length, cx.threads, MIN_FLOATS, 16).map(([s, e]) => [pd + 4 * s, ps + 4 * s, e - s]));
}
