// Public entry point of repvgg-wasm.
export type { Backend, Buf, Conv2dShape, Pool2dShape, SgdOptions, AdamWOptions } from './backend.js';
export { outSize } from './backend.js';
export { createBackend } from './backends/create.js';
export type { BackendKind, CreateBackendOptions } from './backends/create.js';
export { WasmOutOfMemoryError } from './backends/wasm/allocator.js';
export type { WasmBackend } from './backends/wasm/index.js';
export { Tensor, checkShape, formatShape } from './tensor.js';
export * from './ops/index.js';
export * from './io/index.js';
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
export type { BlockConfig } from './models/block.js';
export {
  RepVGG, REPVGG_VARIANTS, createRepVGG, repvggModelConvert, resolveArch, planBlocks, stageWidths,
} from './models/repvgg.js';
export type { RepVGGConfig, CreateOptions, BlockPlan } from './models/repvgg.js';
export { equivalentKernelBias, fuseConvBn, identityKernel, padKernelToSize } from './models/reparam.js';
export type { BnValues, BranchValues, KernelBias } from './models/reparam.js';
export { stateDict, loadStateDict, detectForm, StateDictError } from './models/state-dict.js';
export type { StateDict, LoadReport } from './models/state-dict.js';
export { Optimizer, officialNoDecay, cosineWithWarmup } from './train/optimizer.js';
export type { OptimizerConfig, OptimizerKind } from './train/optimizer.js';
export { applyCustomL2, customL2NoDecay } from './train/custom-l2.js';
export { train, evaluate, NonFiniteLossError } from './train/trainer.js';
export type { TrainOptions, TrainEvents, TrainResult, EvalResult, EpochRecord } from './train/trainer.js';
