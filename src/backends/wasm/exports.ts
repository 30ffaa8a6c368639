// The raw exports of dist/wasm/repvgg.wasm (assembly/index.ts). Pointers are byte offsets. The list
// of names below is checked against the built module by test/exports.test.ts, and every name is
// required when a module is loaded: a missing or renamed export fails there, not in a user's call.
type P = number;
type I = number;
type F = number;

export interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): P;
  // conv2d. Workspace sizes in bytes; all take the shape as (n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow).
  conv2d_workspace(...shape: I[]): I;
  conv2d(x: P, w: P, bias: P, y: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, ws: P): void;
  conv2d_backward_input_workspace(...shape: I[]): I;
  conv2d_backward_input(dy: P, w: P, dx: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, ws: P): void;
  conv2d_backward_weight_workspace(...shape: I[]): I;
  conv2d_backward_weight(x: P, dy: P, dw: P, dbias: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I,
    sh: I, sw: I, ph: I, pw: I, groups: I, oh: I, ow: I, ws: P): void;
  // batch_norm
  batch_norm_train(x: P, gamma: P, beta: P, runMean: P, runVar: P, y: P, saveMean: P, saveInvStd: P,
    n: I, c: I, hw: I, momentum: F, eps: F): void;
  batch_norm_eval(x: P, gamma: P, beta: P, runMean: P, runVar: P, y: P, n: I, c: I, hw: I, eps: F): void;
  batch_norm_backward(x: P, dy: P, gamma: P, saveMean: P, saveInvStd: P, dx: P, dgamma: P, dbeta: P,
    n: I, c: I, hw: I): void;
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
  linear(x: P, w: P, b: P, y: P, n: I, inF: I, outF: I): void;
  linear_backward(x: P, w: P, dy: P, dx: P, dw: P, db: P, n: I, inF: I, outF: I): void;
  // softmax_cross_entropy
  softmax_cross_entropy(logits: P, labels: P, dlogits: P, n: I, classes: I, smoothing: F): F;
  // sgd, adamw
  sgd_step(p: P, grad: P, buf: P, len: I, lr: F, momentum: F, weightDecay: F, nesterov: I): void;
  adamw_step(p: P, grad: P, m: P, v: P, len: I, lr: F, beta1: F, beta2: F, eps: F, weightDecay: F, step: I): void;
}

/** Every export of the kernel module, as declared above (the compiler checks the two agree). */
export const KERNEL_EXPORTS = [
  'memory', 'heap_base',
  'conv2d_workspace', 'conv2d', 'conv2d_backward_input_workspace', 'conv2d_backward_input',
  'conv2d_backward_weight_workspace', 'conv2d_backward_weight',
  'batch_norm_train', 'batch_norm_eval', 'batch_norm_backward',
  'relu', 'relu_backward', 'add', 'add_in_place', 'sigmoid', 'sigmoid_backward',
  'channel_scale', 'channel_scale_backward',
  'global_avg_pool', 'global_avg_pool_backward', 'max_pool2d', 'max_pool2d_backward',
  'linear', 'linear_backward', 'softmax_cross_entropy', 'sgd_step', 'adamw_step',
] as const satisfies readonly (keyof KernelExports)[];

// The reverse check: a key of KernelExports missing from the list is a compile error here.
type Missing = Exclude<keyof KernelExports, (typeof KERNEL_EXPORTS)[number]>;
const everyKeyListed: [Missing] extends [never] ? true : Missing = true;
void everyKeyListed;

/** Checks that an instance is this library's kernel module (every export present), not some other .wasm. */
export function asKernelExports(exports: WebAssembly.Exports): KernelExports {
  const missing = KERNEL_EXPORTS.filter((name) => !(name in exports));
  if (missing.length > 0) {
    throw new Error(`not a repvgg-wasm kernel module: missing exports ${missing.join(', ')} (another .wasm, or one built from other sources)`);
  }
  return exports as unknown as KernelExports;
}
