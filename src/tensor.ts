// A float32 tensor: a shape plus one buffer of a backend. The tensor owns its buffer: `dispose()`
// gives it back to the backend, and any later use of the tensor throws instead of reading memory
// that now belongs to someone else (in WASM linear memory nothing else would catch that).
import type { Backend, Buf } from './backend.js';
import { formatShape } from './format.js';

export { formatShape };


/**
 * Throws unless every dimension is a positive integer; returns the number of elements.
 * `where` starts the message (the function or op that was handed the shape).
 */
export function checkShape(where: string, shape: readonly number[]): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${where}: shape must be an array of positive integers, got ${String(shape)}`);
  }
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d <= 0) {
      throw new RangeError(`${where}: shape ${formatShape(shape)} has dimension ${i} = ${String(d)}; ` +
        'every dimension must be a positive integer');
    }
    size *= d;
  }
  return size;
}

export class Tensor {
  readonly backend: Backend;
  readonly shape: readonly number[];
  /** Number of elements: the product of the shape. */
  readonly size: number;
  private storage: Buf | null;

  /**
   * Wraps `buf` (which must hold exactly the shape's product of floats) and takes ownership of it:
   * disposing the tensor frees the buffer. Most code wants `Tensor.zeros` or `Tensor.from` instead.
   */
  constructor(backend: Backend, buf: Buf, shape: readonly number[]) {
    const size = checkShape('Tensor', shape);
    if (buf.length !== size) {
      throw new RangeError(`Tensor: buffer has ${buf.length} floats but shape ${formatShape(shape)} needs ${size}`);
    }
    this.backend = backend;
    // Frozen copy: a caller mutating its array afterwards must not change the tensor's shape.
    this.shape = Object.freeze(shape.slice());
    this.size = size;
    this.storage = buf;
  }

  /** A tensor of zeros. */
  static zeros(backend: Backend, shape: readonly number[]): Tensor {
    return new Tensor(backend, backend.alloc(checkShape('Tensor.zeros', shape)), shape);
  }

  /** A tensor whose values are unspecified: for an op's output that its kernel overwrites whole. */
  static empty(backend: Backend, shape: readonly number[]): Tensor {
    return new Tensor(backend, backend.allocEmpty(checkShape('Tensor.empty', shape)), shape);
  }

  /** A tensor holding `value` everywhere. */
  static fill(backend: Backend, shape: readonly number[], value: number): Tensor {
    const size = checkShape('Tensor.fill', shape);
    if (typeof value !== 'number') throw new TypeError(`Tensor.fill: value must be a number, got ${String(value)}`);
    const t = new Tensor(backend, backend.alloc(size), shape);
    t.data.fill(value);
    return t;
  }

  /** A tensor holding a copy of `data` (row-major, NCHW), which must have exactly the shape's size. */
  static from(backend: Backend, data: ArrayLike<number>, shape: readonly number[]): Tensor {
    const size = checkShape('Tensor.from', shape);
    if (data == null || typeof data.length !== 'number') {
      throw new TypeError(`Tensor.from: data must be an array or typed array, got ${String(data)}`);
    }
    if (data.length !== size) {
      throw new RangeError(`Tensor.from: data has ${data.length} values but shape ${formatShape(shape)} needs ${size}`);
    }
    const t = new Tensor(backend, backend.alloc(size), shape);
    t.data.set(data);
    return t;
  }

  /** The backend buffer, for ops and backends. Throws once the tensor is disposed. */
  get buf(): Buf {
    if (this.storage === null) throw new Error(`tensor ${formatShape(this.shape)} was disposed`);
    return this.storage;
  }

  /**
   * A live view of the elements: writes go to the tensor. The view goes stale after the next
   * allocation on the same backend (on wasm-simd the memory may grow, which detaches the old
   * ArrayBuffer and leaves the view empty), so read `data` again after creating any tensor or
   * calling any op; use `toFloat32Array()` for a copy that stays valid.
   */
  get data(): Float32Array {
    return this.backend.view(this.buf);
  }

  /** A copy of the elements, independent of the backend's memory. */
  toFloat32Array(): Float32Array {
    return this.data.slice();
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.storage === null;
  }

  /** Frees the buffer. A second call does nothing; every other use of the tensor afterwards throws. */
  dispose(): void {
    if (this.storage === null) return;
    const buf = this.storage;
    this.storage = null;
    this.backend.free(buf);
  }

  toString(): string {
    return `tensor ${formatShape(this.shape)}${this.disposed ? ' (disposed)' : ''} on ${this.backend.name}`;
  }
}
