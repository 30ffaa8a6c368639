// The branch sum, and in-place accumulation of the gradient of a tensor that feeds several consumers.
import type { Tensor } from '../tensor.js';
import { backendOf, expectSameShape } from './check.js';
import { withOutputs } from './outputs.js';

/** a + b, for tensors of the same shape (no broadcasting). Its backward passes dy to both. */
export function add(a: Tensor, b: Tensor): Tensor {
  const op = 'add';
  const backend = backendOf(op, { a, b });
  expectSameShape(op, 'a', a, 'b', b);
  return withOutputs(backend, (_zeros, empty) => {
    const y = empty(a.shape);
    backend.add(a.buf, b.buf, y.buf);
    return y;
  });
}

/** dst += src in place: accumulates the gradient of a tensor that feeds several consumers. */
export function addInPlace(dst: Tensor, src: Tensor): void {
  const op = 'addInPlace';
  const b = backendOf(op, { dst, src });
  expectSameShape(op, 'dst', dst, 'src', src);
  b.addInPlace(dst.buf, src.buf);
}
