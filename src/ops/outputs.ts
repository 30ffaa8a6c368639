// Allocating an op's outputs so that a failure halfway leaks nothing: when a later allocation runs
// out of memory, or a kernel's own scratch allocation does, the outputs already made are disposed
// before the error propagates. Without this, every failed call would strand buffers for good.
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';

/** Allocates tensors on `backend`: of zeros, or (`empty`) unspecified, for outputs the kernel
 *  overwrites whole (most do: it saves clearing reused memory, a few percent of a training step). */
export type Alloc = (shape: readonly number[]) => Tensor;

/** Runs `body` with allocators of outputs; if `body` throws, disposes what it allocated. */
export function withOutputs<T>(backend: Backend, body: (zeros: Alloc, empty: Alloc) => T): T {
  const made: Tensor[] = [];
  const zeros: Alloc = (shape) => {
    const t = Tensor.zeros(backend, shape);
    made.push(t);
    return t;
  };
  const empty: Alloc = (shape) => {
    const t = Tensor.empty(backend, shape);
    made.push(t);
    return t;
  };
  try {
    return body(zeros, empty);
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}
