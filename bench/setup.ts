// Shared by the benchmark sections: deterministic random data and non-trivial BN statistics, so the
// fused form really differs from the dense branch alone and outputs can be checked.
import type { WasmBackend } from '../src/backends/wasm/index.js';
import { createBackend } from '../src/index.js';
import { BatchNorm2d } from '../src/nn/layers.js';
import type { Module } from '../src/nn/module.js';
import { Tensor } from '../src/tensor.js';

export async function wasmBackend(): Promise<WasmBackend> {
  // One thread: these sections compare forms, kernels and peers on one core each (bench/threads.ts
  // measures threads).
  return (await createBackend('wasm-simd', { threads: 1 })) as WasmBackend;
}

/** Uniform values in [-1, 1) from a fixed seed (an LCG: fast for 19M values). */
export function fillRandom(a: Float32Array, seed = 12345): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 2 ** 31 - 1; }
  return a;
}

export function randomTensor(backend: WasmBackend, shape: number[], seed = 12345): Tensor {
  const t = Tensor.zeros(backend, shape);
  fillRandom(t.data, seed);
  return t;
}

/** running_mean ~ U(-0.1, 0.1), running_var ~ U(0.5, 2), gamma ~ U(0.5, 1.5), beta ~ U(-0.1, 0.1). */
export function randomizeBatchNorms(model: Module, seed = 7): void {
  let k = seed;
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const c = m.numFeatures;
    const u = fillRandom(new Float32Array(4 * c), k++);
    const part = (i: number, lo: number, hi: number) => u.subarray(i * c, (i + 1) * c).map((v) => lo + (hi - lo) * (v + 1) / 2);
    m.runningMean.data.set(part(0, -0.1, 0.1));
    m.runningVar.data.set(part(1, 0.5, 2));
    m.weight.value.data.set(part(2, 0.5, 1.5));
    m.bias.value.data.set(part(3, -0.1, 0.1));
  }
}

/** ||a - b|| / ||b|| (GUIDE.md section 3). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: ${a.length} values vs ${b.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { const d = a[i] - b[i]; num += d * d; den += b[i] * b[i]; }
  const e = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
  return Number.isNaN(e) ? Infinity : e;
}
