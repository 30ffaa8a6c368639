// Cutting a kernel call over independent units (floats of an element-wise op, planes, channels)
// into pieces for the threads (WasmContext.runCalls). Each unit's result does not depend on the
// cut, so any cut gives the same bits.

/** Floats of work a piece should hold at least: below that, waking the other threads costs more
 *  than they save (a wake-up is some microseconds; 64 Ki floats of an element-wise op take tens). */
export const MIN_FLOATS = 1 << 16;
/** Pieces per thread: the threads take them as they finish, which evens out a slow thread. */
const PIECES_PER_THREAD = 2;

/**
 * [start, end) pieces of `total` units for `threads` threads, each of at least `minUnits` units
 * (a multiple of `align` but the last): one piece, [0, total), when the work is too small to share.
 */
export function splitUnits(total: number, threads: number, minUnits: number, align = 1): [number, number][] {
  const n = Math.min(threads * PIECES_PER_THREAD, Math.floor(total / Math.max(1, minUnits)));
  if (threads <= 1 || n < 2) return [[0, total]];
  const size = Math.ceil(total / n / align) * align;
  const out: [number, number][] = [];
  for (let s = 0; s < total; s += size) out.push([s, Math.min(total, s + size)]);
  return out;
}

/** Units per piece for units of `floatsPerUnit` floats of work each: at least MIN_FLOATS. */
export function minUnits(floatsPerUnit: number): number {
  return Math.max(1, Math.ceil(MIN_FLOATS / Math.max(1, floatsPerUnit)));
}
