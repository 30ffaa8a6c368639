// The peak probes the kernel benchmark compares convolutions with (bench/kernels.ts). A separate
// module: the library's .wasm carries only kernels. It imports the micro-kernel itself, so the
// third probe measures exactly the code every convolution runs on.
import { f32_gemm_4x8 } from '../../assembly/f32_gemm_4x8';

/** Peak probe: `iters` rounds of 12 independent f32x4 multiply+add chains, all in registers.
 *  Returns a value that depends on every chain so nothing is optimized away.
 *  Flops = iters * 12 chains * 4 lanes * 2. */
export function f32x4_peak_muladd(iters: i32, seed: f32): f32 {
  const m = f32x4.splat(0.9999999);
  const d = f32x4.splat(1e-7);
  let a0 = f32x4.splat(seed), a1 = f32x4.splat(seed + 1), a2 = f32x4.splat(seed + 2);
  let a3 = f32x4.splat(seed + 3), a4 = f32x4.splat(seed + 4), a5 = f32x4.splat(seed + 5);
  let a6 = f32x4.splat(seed + 6), a7 = f32x4.splat(seed + 7), a8 = f32x4.splat(seed + 8);
  let a9 = f32x4.splat(seed + 9), a10 = f32x4.splat(seed + 10), a11 = f32x4.splat(seed + 11);
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(f32x4.mul(a0, m), d); a1 = f32x4.add(f32x4.mul(a1, m), d);
    a2 = f32x4.add(f32x4.mul(a2, m), d); a3 = f32x4.add(f32x4.mul(a3, m), d);
    a4 = f32x4.add(f32x4.mul(a4, m), d); a5 = f32x4.add(f32x4.mul(a5, m), d);
    a6 = f32x4.add(f32x4.mul(a6, m), d); a7 = f32x4.add(f32x4.mul(a7, m), d);
    a8 = f32x4.add(f32x4.mul(a8, m), d); a9 = f32x4.add(f32x4.mul(a9, m), d);
    a10 = f32x4.add(f32x4.mul(a10, m), d); a11 = f32x4.add(f32x4.mul(a11, m), d);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)),
    f32x4.add(f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)),
      f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11))));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Second peak probe, shaped like the GEMM: 8 accumulators fed by products of two vectors that
 *  change every round (so no chain runs through the multiply). Flops = iters * 8 * 4 * 2 (the two
 *  vector updates per round are not counted). */
export function f32x4_peak_muladd_fed(iters: i32, seed: f32): f32 {
  let x = f32x4.splat(seed);
  let y = f32x4.splat(seed * 0.5);
  const dx = f32x4.splat(1e-9);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (let i = 0; i < iters; i++) {
    a0 = f32x4.add(a0, f32x4.mul(x, y)); a1 = f32x4.add(a1, f32x4.mul(x, x));
    a2 = f32x4.add(a2, f32x4.mul(y, y)); a3 = f32x4.add(a3, f32x4.mul(y, dx));
    a4 = f32x4.add(a4, f32x4.mul(x, dx)); a5 = f32x4.add(a5, f32x4.mul(x, a0));
    a6 = f32x4.add(a6, f32x4.mul(y, a1)); a7 = f32x4.add(a7, f32x4.mul(dx, a2));
    x = f32x4.add(x, dx);
    y = f32x4.sub(y, dx);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/** Third probe: the micro-kernel itself over L1-resident panels (kc x 4 at a, kc x 8 at b, a 4x8
 *  tile at c), `iters` times. Flops = iters * kc * 64. The practical ceiling of every GEMM here. */
export function f32_gemm_4x8_probe(iters: i32, kc: i32, a: usize, b: usize, c: usize): void {
  for (let i = 0; i < iters; i++) f32_gemm_4x8(kc, a, b, c, 8);
}

/** First byte past the module's static data: the probe's panels go above it. */
export function heap_base(): usize {
  return __heap_base;
}
