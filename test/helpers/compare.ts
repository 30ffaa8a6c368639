// Norm-wise comparison, as ../shared/GUIDE.md section 3 defines it:
// ||ours - ref|| / max(||ref||, 1e-12).
import * as assert from 'uvu/assert';

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
  const err = relErr(ours, ref);
  assert.ok(err <= tol, `${what}: relative error ${err.toExponential(3)} > tolerance ${tol}`);
}

export const TOL_FORWARD = 1e-5;
export const TOL_BACKWARD = 1e-4;
export const TOL_NETWORK = 1e-4;
export const TOL_FINITE_DIFF = 1e-3;
