// Small helpers every kernel file uses: byte addresses of float32 elements, rounding, horizontal
// sums, the 4x4 transpose and the multiply-add. All inline, so they cost nothing at the call sites.

/** Byte address of float element i of the array at p. */
// @ts-ignore: decorator
@inline export function f32at(p: usize, i: i32): usize { return p + ((<usize>i) << 2); }

// @ts-ignore: decorator
@inline export function ceilDiv(a: i32, b: i32): i32 { return (a + b - 1) / b; }

/** Rounds a byte count up to a cache line (64 bytes), which also keeps every v128 aligned. */
// @ts-ignore: decorator
@inline export function align64(bytes: i32): i32 { return (bytes + 63) & ~63; }

/** Sum of the four lanes, in f64 (the batch-norm sums run in f64 across planes). */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) +
    <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

/** Sum of the four lanes, in f32. */
// @ts-ignore: decorator
@inline export function hsum32(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Row j (tr0..tr3) of the transpose of the 4x4 matrix with rows a, b, c, e: its column j,
 *  [a[j], b[j], c[j], e[j]]. */
// @ts-ignore: decorator
@inline export function tr0(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(c, e, 0, 4, 1, 5), 0, 1, 4, 5);
}
// @ts-ignore: decorator
@inline export function tr1(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(c, e, 0, 4, 1, 5), 2, 3, 6, 7);
}
// @ts-ignore: decorator
@inline export function tr2(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 6, 3, 7), v128.shuffle<f32>(c, e, 2, 6, 3, 7), 0, 1, 4, 5);
}
// @ts-ignore: decorator
@inline export function tr3(a: v128, b: v128, c: v128, e: v128): v128 {
  return v128.shuffle<f32>(v128.shuffle<f32>(a, b, 2, 6, 3, 7), v128.shuffle<f32>(c, e, 2, 6, 3, 7), 2, 3, 6, 7);
}

/** Stores the 4x4 transpose of rows a, b, c, e as four rows `rowBytes` apart
 *  (row u = a[u] b[u] c[u] e[u]). Weight packing (rows 16 bytes apart) and the weight-gradient
 *  gather (32 bytes apart) both use it. */
// @ts-ignore: decorator
@inline export function transposeStore4x4(d: usize, rowBytes: usize, a: v128, b: v128, c: v128, e: v128): void {
  v128.store(d, tr0(a, b, c, e));
  v128.store(d + rowBytes, tr1(a, b, c, e));
  v128.store(d + 2 * rowBytes, tr2(a, b, c, e));
  v128.store(d + 3 * rowBytes, tr3(a, b, c, e));
}

/** a * b + c on four lanes: one fused multiply-add in the relaxed-SIMD build (rounded once, where
 *  the hardware fuses; the results may differ from the plain build's by rounding), a multiply and
 *  an add in the plain one. The build is chosen at compile time (asc --enable relaxed-simd). */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

