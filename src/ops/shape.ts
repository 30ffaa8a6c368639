// Changing a tensor's shape. Both ops copy: the result owns its own buffer, so disposing either
// tensor never invalidates the other (sharing one buffer would need reference counting).
import type { Tensor } from '../tensor.js';
import { backendOf, describe, formatShape } from './check.js';
import { withOutputs } from './outputs.js';

/** A copy of x with the new shape; one dimension may be -1, inferred from the others. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  backendOf('reshape', { x });
  return copyAs(x, resolveShape('reshape', x, shape));
}

/** x [n, ...] -> [n, product of the rest] (a copy), as before a linear layer. */
export function flatten(x: Tensor): Tensor {
  backendOf('flatten', { x });
  if (x.shape.length < 2) {
    throw new Error(`flatten: x must have at least 2 dimensions [n, ...], got shape ${formatShape(x.shape)}`);
  }
  return copyAs(x, [x.shape[0], x.size / x.shape[0]]);
}

function copyAs(x: Tensor, shape: readonly number[]): Tensor {
  return withOutputs(x.backend, (_zeros, empty) => {
    const y = empty(shape);
    // Views taken after the allocation: an allocation may detach earlier ones.
    y.data.set(x.data);
    return y;
  });
}

/** The target shape with its -1 (if any) filled in; throws unless it holds exactly x.size elements. */
function resolveShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${op}: shape must be an array, got ${describe(shape)}`);
  const free = shape.indexOf(-1);
  if (free !== shape.lastIndexOf(-1)) throw new RangeError(`${op}: shape ${formatShape(shape)} has more than one -1`);
  let known = 1;
  shape.forEach((d, i) => {
    if (i === free) return;
    if (typeof d !== 'number' || !Number.isInteger(d) || d <= 0) {
      throw new RangeError(`${op}: shape ${formatShape(shape)} has dimension ${i} = ${String(d)}; ` +
        'every dimension must be a positive integer (or one of them -1)');
    }
    known *= d;
  });
  const target = shape.slice();
  if (free >= 0) target[free] = x.size / known;
  // An inferred dimension that is not an integer means the sizes do not divide.
  if (!target.every(Number.isInteger) || target.reduce((a, d) => a * d, 1) !== x.size) {
    throw new Error(`${op}: cannot reshape x ${formatShape(x.shape)} (${x.size} elements) to ${formatShape(shape)}`);
  }
  return target;
}
