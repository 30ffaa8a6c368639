// sgd_step, in place.
import type { Buf, SgdOptions } from '../../backend.js';
import type { WasmContext } from './context.js';

export function sgdStep(cx: WasmContext, param: Buf, grad: Buf, momentumBuf: Buf, o: SgdOptions): void {
  cx.kernels.sgd_step(cx.ptr(param), cx.ptr(grad), cx.ptr(momentumBuf), param.length, o.lr, o.momentum, o.weightDecay,
    o.nesterov ? 1 : 0);
}
