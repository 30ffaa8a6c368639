// Public entry point of repvgg-wasm.
export type { Backend, Buf, Conv2dShape, Pool2dShape, SgdOptions, AdamWOptions } from './backend.js';
export { outSize } from './backend.js';
export { createBackend } from './backends/create.js';
export type { BackendKind, CreateBackendOptions } from './backends/create.js';
