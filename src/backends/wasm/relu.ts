// relu and its backward, over pieces of the floats on the backend's threads.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { MIN_FLOATS, splitUnits } from './split.js';

export function relu(cx: WasmContext, x: Buf, y: Buf): void {
  const px = cx.ptr(x), py = cx.ptr(y);
  cx.runCalls('relu', splitUnits(x.length, cx.threads, MIN_FLOATS, 16).map(([a, b]) => [px + 4 * a, py + 4 * a, b - a]));
}

export function reluBackward(cx: WasmContext, x: Buf, dy: Buf, dx: Buf): void {
  const px = cx.ptr(x), pdy = cx.ptr(dy), pdx = cx.ptr(dx);
  cx.runCalls('relu_backward', splitUnits(x.length, cx.threads, MIN_FLOATS, 16)
    .map(([a, b]) => [px + 4 * a, pdy + 4 * a, pdx + 4 * a, b - a]));
}
