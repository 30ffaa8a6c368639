// Allocating an op's outputs so that a failure halfway leaks nothing: when a later allocation runs
// out of memory, or a kernel's own scratch allocation does, the outputs already made are disposed
// before the error propagates. Without this, every failed call would strand buffers for good.
import type { Backend } from '../backend.js';
import { Tensor } from '../tensor.js';

/** Allocates zero tensors on `backend`. */
export type Zeros = (shape: readonly number[]) => Tensor;

/** Runs `body` with an allocator of outputs; if `body` throws, disposes what it allocated. */
export function withOutputs<T>(backend: Backend, body: (zeros: Zeros) => T): T {
  const made: Tensor[] = [];
  const zeros: Zeros = (shape) => {
    const t = Tensor.zeros(backend, shape);
    made.push(t);
    return t;
  };
  try {
    return body(zeros);
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
}
