// The raw exports of dist/wasm/repvgg.wasm (assembly/index.ts). Pointers are byte offsets. The list
// of names below is checked against the built module by test/exports.test.ts, and every name is
// required when a module is loaded: a missing or renamed export fails there, not in a user's call.
type P = number;
type I = number;
type F = number;

export interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): P;
  /** 1 in the relaxed-SIMD build, 0 in the plain one */
  relaxed_simd(): I;
  /** zeroes `bytes` bytes at p (the allocator's reused blocks) */
  zero_fill(p: P, bytes: I): void;
  // conv2d. Workspace sizes in bytes; all take the shape as (n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow),
  // and `algo` is 0 (direct), 2 or 4 (Winograd F(2,3) / F(4,3), 3x3 stride 1 only). Each pass also
  // comes in work items for threads: X_workspace(..., threads), X_items(..., threads, phase) (0 past
  // the last phase), X_range(..., ws, threads, phase, thread, i0, i1); X itself runs every phase on
  // one thread, in X_workspace(..., 1) bytes.
  conv2d_workspace(...shapeAlgoThreads: I[]): I;
  conv2d_items(...shapeAlgoThreadsPhase: I[]): I;
  conv2d(x: P, w: P, bias: P, y: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, algo: I, ws: P): void;
  conv2d_range(x: P, w: P, bias: P, y: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, algo: I, ws: P, threads: I, phase: I, thread: I, i0: I, i1: I): void;
  conv2d_packed_bytes(k: I, c: I, groups: I, kh: I, kw: I, algo: I): I;
  conv2d_pack_weight(w: P, dst: P, k: I, c: I, groups: I, kh: I, kw: I, algo: I): void;
  conv2d_packed_workspace(...shapeAlgoThreads: I[]): I;
  conv2d_packed_items(...shapeAlgoThreadsPhase: I[]): I;
  conv2d_packed(x: P, packed: P, bias: P, y: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, algo: I, relu: I, ws: P): void;
  conv2d_packed_range(x: P, packed: P, bias: P, y: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, algo: I, relu: I, ws: P, threads: I, phase: I, thread: I, i0: I, i1: I): void;
  conv2d_backward_input_workspace(...shapeAlgoThreads: I[]): I;
  conv2d_backward_input_items(...shapeAlgoThreadsPhase: I[]): I;
  conv2d_backward_input(dy: P, w: P, dx: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, algo: I, ws: P): void;
  conv2d_backward_input_range(dy: P, w: P, dx: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, algo: I, ws: P, threads: I, phase: I, thread: I, i0: I, i1: I): void;
  conv2d_backward_weight_workspace(...shapeThreads: I[]): I;
  conv2d_backward_weight_items(...shapeThreadsPhase: I[]): I;
  conv2d_backward_weight(x: P, dy: P, dw: P, dbias: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I,
    sh: I, sw: I, ph: I, pw: I, groups: I, oh: I, ow: I, ws: P): void;
  conv2d_backward_weight_range(x: P, dy: P, dw: P, dbias: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I,
    sh: I, sw: I, ph: I, pw: I, groups: I, oh: I, ow: I, ws: P, threads: I, phase: I, thread: I, i0: I, i1: I): void;
  // batch_norm, over channels [ch0, ch1)
  batch_norm_train(x: P, gamma: P, beta: P, runMean: P, runVar: P, y: P, saveMean: P, saveInvStd: P,
    n: I, c: I, hw: I, momentum: F, eps: F, ch0: I, ch1: I): void;
  batch_norm_eval(x: P, gamma: P, beta: P, runMean: P, runVar: P, y: P, n: I, c: I, hw: I, eps: F, ch0: I, ch1: I): void;
  batch_norm_backward(x: P, dy: P, gamma: P, saveMean: P, saveInvStd: P, dx: P, dgamma: P, dbeta: P,
    n: I, c: I, hw: I, ch0: I, ch1: I): void;
  // relu, add, sigmoid, channel_scale
  relu(x: P, y: P, len: I): void;
  relu_backward(x: P, dy: P, dx: P, len: I): void;
  add(a: P, b: P, y: P, len: I): void;
  add_in_place(dst: P, src: P, len: I): void;
  sigmoid(x: P, y: P, len: I): void;
  sigmoid_backward(y: P, dy: P, dx: P, len: I): void;
  channel_scale(x: P, s: P, y: P, n: I, c: I, hw: I): void;
  channel_scale_backward(x: P, s: P, dy: P, dx: P, ds: P, n: I, c: I, hw: I): void;
  // global_avg_pool, max_pool2d (over planes = n * c)
  global_avg_pool(x: P, y: P, planes: I, hw: I): void;
  global_avg_pool_backward(dy: P, dx: P, planes: I, hw: I): void;
  max_pool2d(x: P, y: P, planes: I, h: I, w: I, kh: I, kw: I, sh: I, sw: I, ph: I, pw: I, oh: I, ow: I): void;
  max_pool2d_backward(x: P, dy: P, dx: P, planes: I, h: I, w: I, kh: I, kw: I, sh: I, sw: I, ph: I, pw: I, oh: I, ow: I): void;
  // linear
  linear(x: P, w: P, b: P, y: P, n: I, inF: I, outF: I, ldy: I): void;
  linear_backward(x: P, w: P, dy: P, dx: P, dw: P, db: P, n: I, inF: I, outF: I): void;
  // softmax_cross_entropy
  softmax_cross_entropy(logits: P, labels: P, dlogits: P, n: I, classes: I, smoothing: F): F;
  // sgd, adamw
  sgd_step(p: P, grad: P, buf: P, len: I, lr: F, momentum: F, weightDecay: F, nesterov: I): void;
  adamw_step(p: P, grad: P, m: P, v: P, len: I, lr: F, beta1: F, beta2: F, eps: F, weightDecay: F, step: I): void;
}

/** Every export of the kernel module, with its number of parameters ('memory' has none). The
 *  compiler checks that this list and KernelExports name the same exports; test/exports.test.ts
 *  checks both against the built module, and loading checks every name and arity. */
export const KERNEL_EXPORTS = {
  memory: 0, heap_base: 0, relaxed_simd: 0, zero_fill: 2,
  conv2d_workspace: 16, conv2d_items: 17, conv2d: 20, conv2d_range: 25,
  conv2d_packed_bytes: 6, conv2d_pack_weight: 8,
  conv2d_packed_workspace: 16, conv2d_packed_items: 17, conv2d_packed: 21, conv2d_packed_range: 26,
  conv2d_backward_input_workspace: 16, conv2d_backward_input_items: 17, conv2d_backward_input: 19, conv2d_backward_input_range: 24,
  conv2d_backward_weight_workspace: 15, conv2d_backward_weight_items: 16, conv2d_backward_weight: 19, conv2d_backward_weight_range: 24,
  batch_norm_train: 15, batch_norm_eval: 12, batch_norm_backward: 13,
  relu: 3, relu_backward: 4, add: 4, add_in_place: 3, sigmoid: 3, sigmoid_backward: 4,
  channel_scale: 6, channel_scale_backward: 8,
  global_avg_pool: 4, global_avg_pool_backward: 4, max_pool2d: 13, max_pool2d_backward: 14,
  linear: 8, linear_backward: 9, softmax_cross_entropy: 6, sgd_step: 8, adamw_step: 11,
} as const satisfies Record<keyof KernelExports, number>;

export type KernelExportName = keyof typeof KERNEL_EXPORTS;

// The reverse check: a key of KernelExports missing from the list is a compile error here.
type Missing = Exclude<keyof KernelExports, KernelExportName>;
const everyKeyListed: [Missing] extends [never] ? true : Missing = true;
void everyKeyListed;

/** Checks that an instance is this library's kernel module (every export present), not some other .wasm. */
export function asKernelExports(exports: WebAssembly.Exports): KernelExports {
  const missing = (Object.keys(KERNEL_EXPORTS) as KernelExportName[]).filter((name) => !(name in exports));
  if (missing.length > 0) {
    throw new Error(`not a repvgg-wasm kernel module: missing exports ${missing.join(', ')} (another .wasm, or one built from other sources)`);
  }
  const wrongArity = (Object.entries(KERNEL_EXPORTS) as [KernelExportName, number][])
    .filter(([name, arity]) => name !== 'memory' && (exports[name] as (...a: unknown[]) => unknown).length !== arity)
    .map(([name, arity]) => `${name} takes ${(exports[name] as (...a: unknown[]) => unknown).length} arguments, expected ${arity}`);
  if (wrongArity.length > 0) {
    throw new Error(`repvgg-wasm kernel module does not match this library: ${wrongArity.join('; ')} (rebuild the .wasm)`);
  }
  return exports as unknown as KernelExports;
}
