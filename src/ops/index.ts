// The typed, validating ops: check their inputs, allocate their outputs as Tensors, call the
// backend. One file per op, named as the op is in every layer (assembly/<op>.ts,
// src/backends/*/<op>.ts, test/<op>.test.ts).
export {
  conv2d, conv2dAlgorithm, conv2dBackward, conv2dBackwardInput, conv2dBackwardWeight, conv2dPackWeight, conv2dPacked,
  conv2dShape, conv2dSupports,
} from './conv2d.js';
export type { BackwardNeeds, Conv2dGrads, Conv2dOptions, PackedConv2dWeight } from './conv2d.js';
export { batchNormBackward, batchNormEval, batchNormTrain } from './batch_norm.js';
export type {
  BatchNormEvalOptions, BatchNormGrads, BatchNormParams, BatchNormTrainOptions, BatchNormTrainResult,
} from './batch_norm.js';
export { relu, reluBackward } from './relu.js';
export { add, addInPlace } from './add.js';
export { sigmoid, sigmoidBackward } from './sigmoid.js';
export { channelScale, channelScaleBackward } from './channel_scale.js';
export { globalAvgPool, globalAvgPoolBackward } from './global_avg_pool.js';
export { maxPool2d, maxPool2dBackward, maxPool2dShape } from './max_pool2d.js';
export type { MaxPool2dOptions } from './max_pool2d.js';
export { linear, linearBackward } from './linear.js';
export type { LinearGrads } from './linear.js';
export { softmaxCrossEntropy } from './softmax_cross_entropy.js';
export type { CrossEntropyOptions, CrossEntropyResult } from './softmax_cross_entropy.js';
export { sgdStep } from './sgd.js';
export type { SgdStepOptions } from './sgd.js';
export { adamwStep } from './adamw.js';
export type { AdamWStepOptions } from './adamw.js';
export { flatten, reshape } from './shape.js';
