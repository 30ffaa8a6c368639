// Finite-difference gradient checks of the Backend's backward kernels, on both backends.
//
// For each case: a scalar loss L = sum(y * dy) with a fixed random dy; the op's forward in float64
// (f64.ts, independent of the backends); central differences of L (h = 1e-6, float64) with
// respect to each input the backward differentiates; compared norm-wise with the backend's
// analytic float32 gradient, fed that dy, at TOL_FINITE_DIFF. Each test also checks the backend's
// forward against the float64 one (TOL_FORWARD), so the function differentiated is the function
// the backend computes. Outputs are pre-filled with NaN, so an entry a kernel fails to overwrite
// fails the test. Inputs of ReLU and max-pool stay far (>> h) from kinks and ties.
import type { Backend, Buf } from '../../src/backend.js';
import { download, testEachBackend, upload } from './backends.js';
import { assertClose } from './compare.js';
import { TOL_FINITE_DIFF, TOL_FORWARD } from './tolerances.js';

const H = 1e-6;

/** Central-difference gradient of `loss` at `x0` (float64). */
export function fdGrad(loss: (x: Float64Array) => number, x0: ArrayLike<number>): Float64Array {
  const x = Float64Array.from(x0);
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + H;
    const plus = loss(x);
    x[i] = v - H;
    const minus = loss(x);
    x[i] = v;
    grad[i] = (plus - minus) / (2 * H);
  }
  return grad;
}

/** sum(y * r): the scalar whose gradient with respect to y is r. */
export function dot(y: ArrayLike<number>, r: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i] * r[i];
  return sum;
}

export type Upload = (data: ArrayLike<number>) => Buf;
export type Out = (length: number) => Buf;

/** Allocates on a backend and frees everything at the end of a test, even when it fails. `out`
 *  buffers start as NaN: a kernel that leaves an entry unwritten (or accumulates) is caught. */
export function withBuffers(b: Backend, body: (up: Upload, out: Out) => void): void {
  const bufs: Buf[] = [];
  const up = (data: ArrayLike<number>): Buf => {
    const buf = upload(b, data);
    bufs.push(buf);
    return buf;
  };
  const out = (length: number): Buf => up(new Float32Array(length).fill(NaN));
  try {
    body(up, out);
  } finally {
    for (const buf of bufs) b.free(buf);
  }
}

/** What a case's `run` returns: the forward's output and the backward's gradients. */
export interface GradRun {
  /** The forward's output: a buffer, or a scalar (a loss). */
  y: Buf | number;
  /** d L / d input, by the input's name; each is compared with finite differences of that input. */
  grads: Record<string, Buf>;
}

export interface GradCheck<R extends GradRun> {
  /** The test's name; the backend's is appended. */
  name: string;
  /** The op's inputs, float32. */
  inputs: Record<string, Float32Array>;
  /** The weights of L = sum(y * dy), passed to the backward as dy; [1] for a scalar output. */
  dy: Float32Array;
  /** The op's forward in float64, on the inputs (any of them possibly replaced by a float64 copy). */
  f64: (v: Record<string, ArrayLike<number>>) => ArrayLike<number>;
  /** The backend's forward and backward, on the uploaded inputs and dy. */
  run: (b: Backend, x: Record<string, Buf>, dy: Buf, out: Out, up: Upload) => R;
  /** Checks beyond y and the gradients (still inside the test, buffers still live). */
  more?: (c: MoreChecks<R>) => void;
}

export interface MoreChecks<R extends GradRun> {
  b: Backend;
  /** The test's full name (with the backend), for assertion messages. */
  name: string;
  run: R;
  x: Record<string, Buf>;
  read: (buf: Buf) => Float32Array;
  /** The finite-difference gradient of L with respect to one input. */
  fd: (input: string) => Float64Array;
  up: Upload;
  out: Out;
}

/** Registers the case as one test per backend. */
export async function gradcheck<R extends GradRun>(c: GradCheck<R>): Promise<void> {
  const fd = (input: string): Float64Array =>
    fdGrad((v) => dot(c.f64({ ...c.inputs, [input]: v }), c.dy), c.inputs[input]);
  await testEachBackend(c.name, (b, name) => {
    withBuffers(b, (up, out) => {
      const x = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, up(v)]));
      const run = c.run(b, x, up(c.dy), out, up);
      const y = typeof run.y === 'number' ? [run.y] : download(b, run.y);
      assertClose(y, c.f64(c.inputs), TOL_FORWARD, `${name}: y`);
      for (const [input, buf] of Object.entries(run.grads)) {
        assertClose(download(b, buf), fd(input), TOL_FINITE_DIFF, `${name}: d${input}`);
      }
      c.more?.({ b, name, run, x, read: (buf) => download(b, buf), fd, up, out });
    });
  });
}
