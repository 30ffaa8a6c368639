// The WASM module's exports: kernels over raw pointers (byte offsets into this module's memory)
// and sizes, one file per op, named as the op is everywhere else (src/ops/<op>.ts,
// src/backends/*/<op>.ts, test/<op>.test.ts). None of them allocates; memory is managed by the
// TypeScript side. The convolutions also come as *_items / *_range pairs: work items that threads
// sharing this module's memory run side by side (assembly/conv2d.ts).
export {
  conv2d, conv2d_workspace, conv2d_items, conv2d_range,
  conv2d_packed, conv2d_packed_workspace, conv2d_packed_items, conv2d_packed_range, conv2d_pack_weight, conv2d_packed_bytes,
  conv2d_backward_input, conv2d_backward_input_workspace, conv2d_backward_input_items, conv2d_backward_input_range,
  conv2d_backward_weight, conv2d_backward_weight_workspace, conv2d_backward_weight_items, conv2d_backward_weight_range,
} from './conv2d';
export { batch_norm_train, batch_norm_eval, batch_norm_backward } from './batch_norm';
export { relu, relu_backward } from './relu';
export { add, add_in_place } from './add';
export { sigmoid, sigmoid_backward } from './sigmoid';
export { channel_scale, channel_scale_backward } from './channel_scale';
export { global_avg_pool, global_avg_pool_backward } from './global_avg_pool';
export { max_pool2d, max_pool2d_backward } from './max_pool2d';
export { linear, linear_backward } from './linear';
export { softmax_cross_entropy } from './softmax_cross_entropy';
export { sgd_step } from './sgd';
export { adamw_step } from './adamw';

/** Zeroes `bytes` bytes at p: the allocator clears reused blocks with it (a bulk memory.fill, and
 *  on shared memory much faster than a typed array's fill in JavaScript). */
export function zero_fill(p: usize, bytes: usize): void {
  memory.fill(p, 0, bytes);
}

/** First byte past the module's static data: the TypeScript allocator starts here. */
export function heap_base(): usize {
  return __heap_base;
}

/** 1 in the relaxed-SIMD build (fused multiply-add in the GEMM micro-kernel), 0 in the plain one:
 *  the backend reports which one it runs. */
export function relaxed_simd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

