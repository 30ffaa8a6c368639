// The typed, validating ops: check their inputs, allocate their outputs as Tensors, call the backend.
export { conv2d, conv2dBackward, conv2dShape } from './conv.js';
export type { BackwardNeeds, Conv2dGrads, Conv2dOptions } from './conv.js';
export { batchNorm2d, batchNorm2dBackward } from './norm.js';
export type { BatchNormGrads, BatchNormOptions, BatchNormParams, BatchNormResult } from './norm.js';
export {
  add, addInPlace, channelScale, channelScaleBackward, relu, reluBackward, sigmoid, sigmoidBackward,
} from './elementwise.js';
export { globalAvgPool, globalAvgPoolBackward, maxPool2d, maxPool2dBackward, maxPool2dShape } from './pool.js';
export type { MaxPool2dOptions } from './pool.js';
export { linear, linearBackward } from './linear.js';
export type { LinearGrads } from './linear.js';
export { softmaxCrossEntropy } from './loss.js';
export type { CrossEntropyOptions, CrossEntropyResult } from './loss.js';
export { adamwStep, sgdStep } from './optim.js';
export type { AdamWStepOptions, SgdStepOptions } from './optim.js';
export { flatten, reshape } from './shape.js';
