// The ceiling a conv kernel is compared with: the best of three probes, each run for about `ms`:
// two register-resident f32x4 mul+add loops, and the 4x8 GEMM micro-kernel on L1-resident panels
// (which on some cores beats both register loops, so it keeps the percentages honest). The probes
// live in their own module (bench/assembly/peak.ts, built to dist/bench/peak.wasm): the library's
// .wasm carries only kernels.
import { readFileSync } from 'node:fs';

interface PeakExports {
  memory: WebAssembly.Memory;
  heap_base(): number;
  f32x4_peak_muladd(iters: number, seed: number): number;
  f32x4_peak_muladd_fed(iters: number, seed: number): number;
  f32_gemm_4x8_probe(iters: number, kc: number, a: number, b: number, c: number): void;
}

export class PeakProbe {
  private readonly kc = 256;
  private readonly a: number; private readonly b: number; private readonly c: number;

  private constructor(private readonly k: PeakExports) {
    // Panels above the module's static data: kc x 4 A values, kc x 8 B values, a 4x8 tile.
    this.a = Math.ceil(k.heap_base() / 64) * 64;
    this.b = this.a + this.kc * 16;
    this.c = this.b + this.kc * 32;
    const end = this.c + 128;
    const have = k.memory.buffer.byteLength;
    if (end > have) k.memory.grow(Math.ceil((end - have) / 65536));
    const f32 = new Float32Array(k.memory.buffer);
    f32.fill(0.01, this.a / 4, this.b / 4);
    f32.fill(0.02, this.b / 4, this.c / 4);
    for (let i = 0; i < 20; i++) this.sample(5); // tier-up
  }

  static load(): PeakProbe {
    const bytes = readFileSync(new URL('./peak.wasm', import.meta.url));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    return new PeakProbe(instance.exports as unknown as PeakExports);
  }

  /** Best GFLOP/s of the three probes, and each one's. */
  sample(ms: number): { best: number; register: number; micro: number } {
    const k = this.k;
    // ~25 GFLOP/s = 25e6 flops per ms: each probe then runs for about `ms`.
    const flops = ms * 25e6;
    let register = 0;
    for (const [probe, perIter] of [[k.f32x4_peak_muladd, 96], [k.f32x4_peak_muladd_fed, 64]] as const) {
      const iters = Math.max(1000, Math.round(flops / perIter));
      const t0 = performance.now();
      probe(iters, 0.5);
      register = Math.max(register, iters * perIter / (performance.now() - t0) / 1e6);
    }
    const iters = Math.max(10, Math.round(flops / (this.kc * 64)));
    const t0 = performance.now();
    k.f32_gemm_4x8_probe(iters, this.kc, this.a, this.b, this.c);
    const micro = iters * this.kc * 64 / (performance.now() - t0) / 1e6;
    return { best: Math.max(register, micro), register, micro };
  }
}
