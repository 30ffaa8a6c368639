// The raw exports of dist/wasm/repvgg.wasm (assembly/index.ts). Pointers are byte offsets.
type P = number;
type I = number;
type F = number;

export interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): P;
  f32x4_peak_muladd(iters: I, seed: F): F;
  f32x4_peak_muladd_fed(iters: I, seed: F): F;
  f32_gemm_4x8_probe(iters: I, kc: I, a: P, b: P, c: P): void;
  // Workspace sizes in bytes; all take the shape as (n, c, h, w, k, kh, kw, sh, sw, ph, pw, groups, oh, ow).
  conv2d_forward_workspace(...shape: I[]): I;
  conv2d_backward_input_workspace(...shape: I[]): I;
  conv2d_backward_weight_workspace(...shape: I[]): I;
  conv2d_forward(x: P, w: P, bias: P, y: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, ws: P): void;
  conv2d_backward_input(dy: P, w: P, dx: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I, sh: I, sw: I,
    ph: I, pw: I, groups: I, oh: I, ow: I, ws: P): void;
  conv2d_backward_weight(x: P, dy: P, dw: P, dbias: P, n: I, c: I, h: I, wd: I, k: I, kh: I, kw: I,
    sh: I, sw: I, ph: I, pw: I, groups: I, oh: I, ow: I, ws: P): void;
  // Winograd F(m x m, 3 x 3) for 3x3 stride-1 convs (assembly/conv2d_winograd.ts); m = 2 or 4.
  conv2d_winograd_weight_bytes(k: I, c: I, groups: I, m: I): I;
  conv2d_winograd_pack_weight(w: P, dst: P, k: I, c: I, groups: I, m: I, flipped: I): void;
  conv2d_winograd_workspace(n: I, c: I, h: I, wd: I, k: I, groups: I, ph: I, pw: I, oh: I, ow: I, m: I): I;
  conv2d_winograd(x: P, packedU: P, bias: P, y: P, n: I, c: I, h: I, wd: I, k: I, groups: I, ph: I, pw: I,
    oh: I, ow: I, m: I, relu: I, ws: P): void;
  batchnorm_train_forward(x: P, gamma: P, beta: P, runMean: P, runVar: P, y: P, saveMean: P, saveInvStd: P,
    n: I, c: I, hw: I, momentum: F, eps: F): void;
  batchnorm_eval_forward(x: P, gamma: P, beta: P, runMean: P, runVar: P, y: P, n: I, c: I, hw: I, eps: F): void;
  batchnorm_backward(x: P, dy: P, gamma: P, saveMean: P, saveInvStd: P, dx: P, dgamma: P, dbeta: P,
    n: I, c: I, hw: I): void;
  relu_forward(x: P, y: P, len: I): void;
  relu_backward(x: P, dy: P, dx: P, len: I): void;
  add_forward(a: P, b: P, y: P, len: I): void;
  accumulate(dst: P, src: P, len: I): void;
  sigmoid_forward(x: P, y: P, len: I): void;
  sigmoid_backward(y: P, dy: P, dx: P, len: I): void;
  channel_scale_forward(x: P, s: P, y: P, n: I, c: I, hw: I): void;
  channel_scale_backward(x: P, s: P, dy: P, dx: P, ds: P, n: I, c: I, hw: I): void;
  global_avg_pool_forward(x: P, y: P, planes: I, hw: I): void;
  global_avg_pool_backward(dy: P, dx: P, planes: I, hw: I): void;
  max_pool2d_forward(x: P, y: P, planes: I, h: I, w: I, kh: I, kw: I, sh: I, sw: I, ph: I, pw: I, oh: I, ow: I): void;
  max_pool2d_backward(x: P, dy: P, dx: P, planes: I, h: I, w: I, kh: I, kw: I, sh: I, sw: I, ph: I, pw: I, oh: I, ow: I): void;
  linear_forward(x: P, w: P, b: P, y: P, n: I, inF: I, outF: I): void;
  linear_backward(x: P, w: P, dy: P, dx: P, dw: P, db: P, n: I, inF: I, outF: I): void;
  softmax_cross_entropy(logits: P, labels: P, dlogits: P, n: I, classes: I, smoothing: F): F;
  sgd_step(p: P, grad: P, buf: P, len: I, lr: F, momentum: F, weightDecay: F, nesterov: I): void;
  adamw_step(p: P, grad: P, m: P, v: P, len: I, lr: F, beta1: F, beta2: F, eps: F, weightDecay: F, step: I): void;
}

const REQUIRED: (keyof KernelExports)[] = [
  'memory', 'heap_base', 'conv2d_forward', 'conv2d_backward_input', 'conv2d_backward_weight',
  'batchnorm_train_forward', 'batchnorm_backward', 'softmax_cross_entropy', 'adamw_step',
];

/** Checks that an instance is this library's kernel module, not some other .wasm. */
export function asKernelExports(exports: WebAssembly.Exports): KernelExports {
  const missing = REQUIRED.filter((name) => !(name in exports));
  if (missing.length > 0) {
    throw new Error(`not a repvgg-wasm kernel module: missing exports ${missing.join(', ')}`);
  }
  return exports as unknown as KernelExports;
}
