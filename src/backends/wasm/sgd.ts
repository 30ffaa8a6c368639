// sgd_step, in place, over pieces of the parameters on the backend's threads.
import type { Buf, SgdOptions } from '../../backend.js';
import type { WasmContext } from './context.js';
import { MIN_FLOATS, splitUnits } from './split.js';

export function sgdStep(cx: WasmContext, param: Buf, grad: Buf, momentumBuf: Buf, o: SgdOptions): void {
  const pp = cx.ptr(param), pg = cx.ptr(grad), pm = cx.ptr(momentumBuf);
  cx.runCalls('sgd_step', splitUnits(param.length, cx.threads, MIN_FLOATS, 16).map(([a, b]) =>
    [pp + 4 * a, pg + 4 * a, pm + 4 * a, b - a, o.lr, o.momentum, o.weightDecay, o.nesterov ? 1 : 0]));
}
