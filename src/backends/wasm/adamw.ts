// adamw_step, in place, over pieces of the parameters on the backend's threads.
import type { AdamWOptions, Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { MIN_FLOATS, splitUnits } from './split.js';

export function adamwStep(cx: WasmContext, param: Buf, grad: Buf, m: Buf, v: Buf, o: AdamWOptions): void {
  const pp = cx.ptr(param), pg = cx.ptr(grad), pm = cx.ptr(m), pv = cx.ptr(v);
  cx.runCalls('adamw_step', splitUnits(param.length, cx.threads, MIN_FLOATS, 16).map(([a, b]) =>
    [pp + 4 * a, pg + 4 * a, pm + 4 * a, pv + 4 * a, b - a, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.step]));
}
