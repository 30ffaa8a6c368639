// softmax_cross_entropy: the labels go through a scratch buffer of int32.
import type { Buf } from '../../backend.js';
import type { WasmContext } from './context.js';

export function softmaxCrossEntropy(cx: WasmContext, n: number, classes: number, logits: Buf, labels: Int32Array,
  smoothing: number, dlogits: Buf): number {
  return cx.withScratch(n * 4, (lab) => {
    cx.heapI32().set(labels.subarray(0, n), lab >>> 2);
    return cx.kernels.softmax_cross_entropy(cx.ptr(logits), lab, cx.ptr(dlogits), n, classes, smoothing);
  });
}
