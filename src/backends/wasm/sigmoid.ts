// sigmoid and its backward.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function sigmoid(cx: WasmContext, x: Buf, y: Buf): void {
  cx.kernels.sigmoid(cx.ptr(x), cx.ptr(y), x.length);
}

export function sigmoidBackward(cx: WasmContext, y: Buf, dy: Buf, dx: Buf): void {
  cx.kernels.sigmoid_backward(cx.ptr(y), cx.ptr(dy), cx.ptr(dx), y.length);
}
