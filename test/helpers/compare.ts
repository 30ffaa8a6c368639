// Norm-wise comparison: relErr = ||ours - ref|| / max(||ref||, 1e-12), one number per tensor,
// compared with a tolerance of tolerances.ts.
import * as assert from 'uvu/assert';

// The tolerances, for the test files that import them from here.
export { TOL_BACKWARD, TOL_FINITE_DIFF, TOL_FORWARD, TOL_NETWORK } from './tolerances.js';

export function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) {
    throw new Error(`relErr: length ${ours.length} vs reference length ${ref.length}`);
  }
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = ours[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  const err = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
  return Number.isNaN(err) ? Infinity : err;
}

/** Fails with the measured error, the tolerance and what was compared. */
export function assertClose(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  assertErr(relErr(ours, ref), tol, what);
}

/** Fails if an already measured relative error is above the tolerance (or NaN). */
export function assertErr(err: number, tol: number, what: string): void {
  assert.ok(err <= tol, `${what}: relative error ${err.toExponential(3)} > tolerance ${tol}`);
}
