// linear and its backward.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function linear(cx: WasmContext, n: number, inF: number, outF: number, x: Buf, w: Buf, b: Buf | null, y: Buf): void {
  cx.kernels.linear(cx.ptr(x), cx.ptr(w), cx.ptrOrNull(b), cx.ptr(y), n, inF, outF);
}

export function linearBackward(cx: WasmContext, n: number, inF: number, outF: number, x: Buf, w: Buf, dy: Buf,
  dx: Buf | null, dw: Buf, db: Buf | null): void {
  cx.kernels.linear_backward(cx.ptr(x), cx.ptr(w), cx.ptr(dy), cx.ptrOrNull(dx), cx.ptr(dw), cx.ptrOrNull(db), n, inF, outF);
}
