// Public entry point of repvgg-wasm.
export type { Backend, Buf, Conv2dShape, ConvAlgorithm, Pool2dShape, SgdOptions, AdamWOptions } from './backend.js';
export { outSize } from './backend.js';
export { createBackend } from './backends/create.js';
export type { BackendKind, CreateBackendOptions } from './backends/create.js';
export { WasmOutOfMemoryError } from './backends/wasm/allocator.js';
export type { WasmBackend } from './backends/wasm/index.js';
export { Tensor, checkShape, formatShape } from './tensor.js';
export * from './ops/index.js';
export * from './io/index.js';
export { exportOnnx, repvggOnnxGraph } from './models/onnx.js';
export { fromPaddle } from './models/paddle.js';
export type { RepVGGOnnxOptions } from './models/onnx.js';
export { summarize, formatSummary, archNameOf, MIN_INPUT_SIZE } from './models/summary.js';
export type { ModelSummary, SummaryRow, SummaryOptions, PerForm, ActivationBytes } from './models/summary.js';
export * from './data/index.js';
export { Module, Parameter } from './nn/module.js';
export { Conv2d, BatchNorm2d, ReLU, Linear, GlobalAvgPoolFlatten } from './nn/layers.js';
export type { Conv2dConfig } from './nn/layers.js';
export { SEBlock } from './nn/se.js';
export { Sequential } from './nn/sequential.js';
export { Mulberry32, mulberry32 } from './random.js';
export type { Rng, SeededRng } from './random.js';
export { RepVGGBlock } from './models/block.js';
export { InferencePlan } from './models/plan.js';
export type { PlanOptions, PlannedLayer } from './models/plan.js';
export type { BlockConfig } from './models/block.js';
export {
  RepVGG, REPVGG_VARIANTS, createRepVGG, repvggModelConvert, resolveArch, planBlocks, stageWidths,
} from './models/repvgg.js';
export type { RepVGGConfig, CreateOptions, BlockPlan } from './models/repvgg.js';
export { equivalentKernelBias, fuseConvBn, identityKernel, padKernelToSize } from './models/reparam.js';
export type { BnValues, BranchValues, KernelBias } from './models/reparam.js';
export { stateDict, loadStateDict, detectForm, StateDictError } from './models/state-dict.js';
export {
  METADATA_KEY, METADATA_FORMAT, METADATA_LIMITS, ModelMetadataError, describeModel, metadataEntries, readModelMetadata,
  checkModelMetadata, checkPreprocessing, configOf, variantOf, archName, describeArch, imagenetPreprocessing, IMAGENET_MEAN, IMAGENET_STD,
} from './models/metadata.js';
export type { ModelMetadata, Preprocessing, DescribeModelOptions } from './models/metadata.js';
export * from './image/index.js';
export type { StateDict, LoadReport } from './models/state-dict.js';
export { Optimizer, officialNoDecay, cosineWithWarmup } from './train/optimizer.js';
export type { OptimizerConfig, OptimizerKind } from './train/optimizer.js';
export { applyCustomL2, customL2NoDecay } from './train/custom-l2.js';
export { train, NonFiniteLossError } from './train/train.js';
export type { TrainOptions, TrainEvents, TrainResult, EpochRecord } from './train/train.js';
export { evaluate } from './train/evaluate.js';
export type { EvalResult } from './train/evaluate.js';
export { NonFiniteStateError } from './train/checkpoint.js';
export { rankOf, topK, softmax } from './topk.js';
export { formatBytes, formatCount, formatSI, describe } from './format.js';
export { configFromWeights } from './models/config-from-weights.js';
export type { ConfigFromWeights } from './models/config-from-weights.js';
