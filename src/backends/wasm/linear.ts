// linear and its backward. The forward runs over pieces of the batch's rows on the backend's
// threads when large enough; the backward (a classifier head, small next to the convolutions)
// runs on this thread.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { minUnits, splitUnits } from './split.js';

export function linear(cx: WasmContext, n: number, inF: number, outF: number, x: Buf, w: Buf, b: Buf | null, y: Buf): void {
  const px = cx.ptr(x), pw = cx.ptr(w), pb = cx.ptrOrNull(b), py = cx.ptr(y);
  cx.runCalls('linear', splitUnits(n, cx.threads, minUnits(inF * outF)).map(([r0, r1]) =>
    [px + 4 * r0 * inF, pw, pb, py + 4 * r0 * outF, r1 - r0, inF, outF]));
}

export function linearBackward(cx: WasmContext, n: number, inF: number, outF: number, x: Buf, w: Buf, dy: Buf,
  dx: Buf | null, dw: Buf, db: Buf | null): void {
  cx.kernels.linear_backward(cx.ptr(x), cx.ptr(w), cx.ptr(dy), cx.ptrOrNull(dx), cx.ptr(dw), cx.ptrOrNull(db), n, inF, outF);
}
