// The WASM module's exports: kernels over raw pointers (byte offsets into this module's memory)
// and sizes. None of them allocates; memory is managed by the TypeScript side.
export { f32x4_peak_muladd, f32x4_peak_muladd_fed, f32_gemm_4x8_probe } from './gemm';
export {
  conv2d_forward, conv2d_forward_workspace,
  conv2d_backward_input, conv2d_backward_input_workspace,
  conv2d_backward_weight, conv2d_backward_weight_workspace,
} from './conv';
export { batchnorm_train_forward, batchnorm_eval_forward, batchnorm_backward } from './norm';
export {
  relu_forward, relu_backward, add_forward, accumulate, sigmoid_forward, sigmoid_backward,
  channel_scale_forward, channel_scale_backward,
} from './elementwise';
export { global_avg_pool_forward, global_avg_pool_backward, max_pool2d_forward, max_pool2d_backward } from './pool';
export { linear_forward, linear_backward } from './linear';
export { softmax_cross_entropy } from './loss';
export { sgd_step, adamw_step } from './optim';

/** First byte past the module's static data: the TypeScript allocator starts here. */
export function heap_base(): usize {
  return __heap_base;
}
export {
  conv2d_winograd, conv2d_winograd_workspace, conv2d_winograd_weight_bytes, conv2d_winograd_pack_weight,
} from './conv2d_winograd';
