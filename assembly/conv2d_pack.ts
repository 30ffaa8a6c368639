// Weight packing for the convolution GEMMs: the A operand in 4-row interleaved panels (for each
// reduction index, the 4 rows' values side by side: 16 bytes), as f32_gemm_4x8 reads it.
// Each packs panels [p0, p1) of all groups' panels (panel g * panels-per-group + m), so that
// threads can share one packing.
import { ceilDiv, f32at, transposeStore4x4 } from './util';

/** Packs W [groups * kg, kd] into 4-row panels per group (rows past kg are zero). Runs on every
 *  forward, so full panels go 4x4 at a time through a SIMD transpose. */
export function packWeightRows(w: usize, dst: usize, kg: i32, kd: i32, p0: i32, p1: i32): void {
  const mt = ceilDiv(kg, 4);
  for (let p = p0; p < p1; p++) {
    const g = p / mt;
    const m = p - g * mt;
    const d = dst + (<usize>((g * mt + m) * kd) << 4);
    const row0 = g * kg + m * 4;
    let kk = 0;
    if (m * 4 + 4 <= kg) {
      const r0 = f32at(w, row0 * kd);
      const r1 = f32at(w, (row0 + 1) * kd);
      const r2 = f32at(w, (row0 + 2) * kd);
      const r3 = f32at(w, (row0 + 3) * kd);
      for (; kk + 4 <= kd; kk += 4) {
        transposeStore4x4(d + (<usize>kk << 4), 16, v128.load(f32at(r0, kk)), v128.load(f32at(r1, kk)),
          v128.load(f32at(r2, kk)), v128.load(f32at(r3, kk)));
      }
    }
    // The tail of a row, and the last panel when kg is not a multiple of 4.
    for (let r = 0; r < 4; r++) {
      const row = m * 4 + r;
      for (let k2 = kk; k2 < kd; k2++) {
        const v: f32 = row < kg ? load<f32>(f32at(w, (g * kg + row) * kd + k2)) : 0;
        store<f32>(d + ((<usize>(k2 * 4 + r)) << 2), v);
      }
    }
  }
}

/** Packs the kernel of the "transposed" convolution (used for the stride-1 input gradient):
 *  per group, out channel o' = ci (cg of them), in channel ci' = ko (kg of them), kernel rotated
 *  by 180 degrees. */
export function packWeightFlipped(w: usize, dst: usize, kg: i32, cg: i32, kh: i32, kw: i32, p0: i32, p1: i32): void {
  const taps = kh * kw;
  const kd2 = kg * taps;
  const mt = ceilDiv(cg, 4);
  for (let p = p0; p < p1; p++) {
    const g = p / mt;
    const m = p - g * mt;
    const d = dst + (<usize>((g * mt + m) * kd2) << 4);
    for (let r = 0; r < 4; r++) {
      const o = m * 4 + r;
      for (let kk = 0; kk < kd2; kk++) {
        let v: f32 = 0;
        if (o < cg) {
          const ko = kk / taps;
          const t = kk - ko * taps;
          const ky = t / kw;
          const kx = t - ky * kw;
          v = load<f32>(f32at(w, ((g * kg + ko) * cg + o) * taps + (kh - 1 - ky) * kw + (kw - 1 - kx)));
        }
        store<f32>(d + ((<usize>(kk * 4 + r)) << 2), v);
      }
    }
  }
}

/** Packs W^T per group: rows kk (kd of them, in 4-row panels), reduction over ko (kg). */
export function packWeightColumns(w: usize, dst: usize, kg: i32, kd: i32, p0: i32, p1: i32): void {
  const mt = ceilDiv(kd, 4);
  for (let p = p0; p < p1; p++) {
    const g = p / mt;
    const m = p - g * mt;
    const d = dst + (<usize>((g * mt + m) * kg) << 4);
    for (let ko = 0; ko < kg; ko++) {
      for (let r = 0; r < 4; r++) {
        const kk = m * 4 + r;
        const v: f32 = kk < kd ? load<f32>(f32at(w, (g * kg + ko) * kd + kk)) : 0;
        store<f32>(d + ((<usize>(ko * 4 + r)) << 2), v);
      }
    }
  }
}
