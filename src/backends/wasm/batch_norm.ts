// batch_norm's three kernels (hw = h * w), over pieces of the channels on the backend's threads
// (a channel's statistics are its own: the same bits on any number of threads).
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';
import { minUnits, splitUnits } from './split.js';

/** Channel ranges for threads: each channel is n * hw values, each read two or three times (the
 *  statistics, then the normalization; the backward's two sums, then dx), so counted as 4 floats
 *  of work. */
function channelPieces(cx: WasmContext, n: number, c: number, hw: number): [number, number][] {
  return splitUnits(c, cx.threads, minUnits(4 * n * hw));
}

export function batchNormTrain(cx: WasmContext, n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
  runningMean: Buf, runningVar: Buf, momentum: number, eps: number, y: Buf, saveMean: Buf, saveInvStd: Buf): void {
  const args = [cx.ptr(x), cx.ptr(gamma), cx.ptr(beta), cx.ptr(runningMean), cx.ptr(runningVar),
    cx.ptr(y), cx.ptr(saveMean), cx.ptr(saveInvStd), n, c, hw, momentum, eps];
  cx.runCalls('batch_norm_train', channelPieces(cx, n, c, hw).map(([c0, c1]) => [...args, c0, c1]));
}

export function batchNormEval(cx: WasmContext, n: number, c: number, hw: number, x: Buf, gamma: Buf, beta: Buf,
  runningMean: Buf, runningVar: Buf, eps: number, y: Buf): void {
  const args = [cx.ptr(x), cx.ptr(gamma), cx.ptr(beta), cx.ptr(runningMean), cx.ptr(runningVar), cx.ptr(y), n, c, hw, eps];
  cx.runCalls('batch_norm_eval', channelPieces(cx, n, c, hw).map(([c0, c1]) => [...args, c0, c1]));
}

export function batchNormBackward(cx: WasmContext, n: number, c: number, hw: number, x: Buf, dy: Buf, gamma: Buf,
  saveMean: Buf, saveInvStd: Buf, dx: Buf, dgamma: Buf, dbeta: Buf): void {
  const args = [cx.ptr(x), cx.ptr(dy), cx.ptr(gamma), cx.ptr(saveMean), cx.ptr(saveInvStd), cx.ptr(dx), cx.ptr(dgamma),
    cx.ptr(dbeta), n, c, hw];
  cx.runCalls('batch_norm_backward', channelPieces(cx, n, c, hw).map(([c0, c1]) => [...args, c0, c1]));
}
