// linear and its backward. The forward runs over pieces of the batch's rows on the backend's
// threads when large enough, or over pieces of the outputs when the rows are fewer than the
// threads (batch 1: a classifier's weights are megabytes); the backward (a classifier head,
// small next to the convolutions) runs on this thread.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { minUnits, splitUnits } from './split.js';

export function linear(cx: WasmContext, n: number, inF: number, outF: number, x: Buf, w: Buf, b: Buf | null, y: Buf): void {
  const px = cx.ptr(x), pw = cx.ptr(w), pb = cx.ptrOrNull(b), py = cx.ptr(y);
  if (n >= cx.threads) {
    cx.runCalls('linear', splitUnits(n, cx.threads, minUnits(inF * outF)).map(([r0, r1]) =>
      [px + 4 * r0 * inF, pw, pb, py + 4 * r0 * outF, r1 - r0, inF, outF, outF]));
    return;
  }
  cx.runCalls('linear', splitUnits(outF, cx.threads, minUnits(n * inF), 4).map(([o0, o1]) =>
    [px, pw + 4 * o0 * inF, pb === 0 ? 0 : pb + 4 * o0, py + 4 * o0, n, inF, o1 - o0, outF]));
}

export function linearBackward(cx: WasmContext, n: number, inF: number, outF: number, x: Buf, w: Buf, dy: Buf,
  dx: Buf | null, dw: Buf, db: Buf | null): void {
  cx.kernels.linear_backward(cx.ptr(x), cx.ptr(w), cx.ptr(dy), cx.ptrOrNull(dx), cx.ptr(dw), cx.ptrOrNull(db), n, inF, outF);
}
