// batch_norm's three kernels (hw = h * w).
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function batchNormTrain(cx: WasmContext, n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
  runningMean: Buf, runningVar: Buf, momentum: number, eps: number, y: Buf, saveMean: Buf, saveInvStd: Buf): void {
  cx.kernels.batch_norm_train(cx.ptr(x), cx.ptr(gamma), cx.ptr(beta), cx.ptr(runningMean), cx.ptr(runningVar),
    cx.ptr(y), cx.ptr(saveMean), cx.ptr(saveInvStd), n, c, hw, momentum, eps);
}

export function batchNormEval(cx: WasmContext, n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
  runningMean: Buf, runningVar: Buf, eps: number, y: Buf): void {
  cx.kernels.batch_norm_eval(cx.ptr(x), cx.ptr(gamma), cx.ptr(beta), cx.ptr(runningMean), cx.ptr(runningVar),
    cx.ptr(y), n, c, hw, eps);
}

export function batchNormBackward(cx: WasmContext, n: number, c: number, hw: number, x: Buf, dy: Buf, gamma: Buf,
  saveMean: Buf, saveInvStd: Buf, dx: Buf, dgamma: Buf, dbeta: Buf): void {
  cx.kernels.batch_norm_backward(cx.ptr(x), cx.ptr(dy), cx.ptr(gamma), cx.ptr(saveMean), cx.ptr(saveInvStd),
    cx.ptr(dx), cx.ptr(dgamma), cx.ptr(dbeta), n, c, hw);
}
