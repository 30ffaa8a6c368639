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
