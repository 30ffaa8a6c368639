// relu and its backward.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function relu(cx: WasmContext, x: Buf, y: Buf): void {
  cx.kernels.relu(cx.ptr(x), cx.ptr(y), x.length);
}

export function reluBackward(cx: WasmContext, x: Buf, dy: Buf, dx: Buf): void {
  cx.kernels.relu_backward(cx.ptr(x), cx.ptr(dy), cx.ptr(dx), x.length);
}
