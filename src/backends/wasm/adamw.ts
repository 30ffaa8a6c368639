// adamw_step, in place.
import type { AdamWOptions, Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function adamwStep(cx: WasmContext, param: Buf, grad: Buf, m: Buf, v: Buf, o: AdamWOptions): void {
  cx.kernels.adamw_step(cx.ptr(param), cx.ptr(grad), cx.ptr(m), cx.ptr(v), param.length, o.lr, o.beta1, o.beta2, o.eps,
    o.weightDecay, o.step);
}
