// add and add_in_place.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function add(cx: WasmContext, a: Buf, b: Buf, y: Buf): void {
  cx.kernels.add(cx.ptr(a), cx.ptr(b), cx.ptr(y), a.length);
}

export function addInPlace(cx: WasmContext, dst: Buf, src: Buf): void {
  cx.kernels.add_in_place(cx.ptr(dst), cx.ptr(src), dst.length);
}
