// The tensor type every reader in src/io returns, and small helpers shared by the formats.
//
// Files hold many element types; the library computes in float32. So a reader converts every
// floating type to a Float32Array, keeps 64-bit integers exact in a BigInt64Array (BN's
// num_batches_tracked, label arrays) and widens the small integer types to an Int32Array.
// `dtype` says which array `data` is (a union discriminated by it); `sourceDtype` says what the
// file stored, so a caller can tell a float16 checkpoint from a float32 one.
import { describeFileValue as describe } from '../format.js';

/** Element types as the file stored them (PyTorch's names). */
export type SourceDType =
  | 'float32' | 'float16' | 'bfloat16' | 'float64'
  | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

interface TensorBase {
  /** Dimensions, outermost first (C order). `[]` is a 0-d tensor holding one element. */
  shape: number[];
  sourceDtype: SourceDType;
}

/** Any floating type, converted to float32. */
export interface Float32Tensor extends TensorBase {
  dtype: 'float32';
  data: Float32Array;
}

/** int64, kept exact. */
export interface Int64Tensor extends TensorBase {
  dtype: 'int64';
  data: BigInt64Array;
}

/** int32 and the narrower integer types (int16, int8, uint8, bool), widened to int32. */
export interface Int32Tensor extends TensorBase {
  dtype: 'int32';
  data: Int32Array;
}

/** A tensor read from (or to be written to) a file, in C order. */
export type FileTensor = Float32Tensor | Int64Tensor | Int32Tensor;

/** Tensors read from a file, and what the reader did that the caller should know about. */
export interface TensorFile {
  /** By name; safetensors files come back in name order, torch files in state-dict order. */
  tensors: Map<string, FileTensor>;
  /** Human-readable notes: which entry was used, prefixes stripped, entries skipped, ... */
  notes: string[];
}

/** What the writers accept: `sourceDtype` is optional (writers store `dtype`). */
export type TensorInput =
  | { dtype?: 'float32'; shape: readonly number[]; data: Float32Array }
  | { dtype?: 'int64'; shape: readonly number[]; data: BigInt64Array }
  | { dtype?: 'int32'; shape: readonly number[]; data: Int32Array };

/** Named tensors as writers take them: a Map keeps insertion order, a record is sorted anyway. */
export type TensorsInput = ReadonlyMap<string, TensorInput> | Readonly<Record<string, TensorInput>>;

/** Product of dims; 1 for `[]`. Callers validate dims first (non-negative safe integers). */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The most dimensions a tensor may have (NumPy's NPY_MAXDIMS; no real checkpoint comes close). */
export const MAX_RANK = 64;

/**
 * Checks that `shape` is a list of at most MAX_RANK non-negative safe integers whose product
 * stays a safe integer, so that a bogus header cannot turn into a NaN or a wrapped-around size.
 * Returns the element count.
 */
export function checkShape(shape: unknown, where: string): number {
  if (!Array.isArray(shape)) throw new Error(`${where}: shape is not a list (${describe(shape)})`);
  if (shape.length > MAX_RANK) throw new Error(`${where}: shape has ${shape.length} dimensions, more than ${MAX_RANK}`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new Error(`${where}: shape [${shape.map(describe).join(', ')}] has an invalid dimension ${describe(d)}`);
    }
    n *= d;
    if (!Number.isSafeInteger(n)) throw new Error(`${where}: shape [${shape.join(', ')}] has too many elements`);
  }
  return n;
}




/** Iterates the entries of a writer's input in a stable order. */
export function entriesOf(tensors: TensorsInput): [string, TensorInput][] {
  if (tensors instanceof Map) return [...(tensors as ReadonlyMap<string, TensorInput>).entries()];
  return Object.entries(tensors as Record<string, TensorInput>);
}

/** The in-memory dtype of a writer's input, from its array type (and its `dtype` if given). */
export function inputDtype(t: TensorInput, where: string): 'float32' | 'int64' | 'int32' {
  const kind = t.data instanceof Float32Array ? 'float32'
    : t.data instanceof BigInt64Array ? 'int64'
      : t.data instanceof Int32Array ? 'int32' : null;
  if (kind === null) {
    throw new Error(`${where}: data must be a Float32Array, BigInt64Array or Int32Array, got ${describe(t.data)}`);
  }
  if (t.dtype !== undefined && t.dtype !== kind) {
    throw new Error(`${where}: dtype '${String(t.dtype)}' does not match its data (${t.data.constructor.name})`);
  }
  const n = checkShape(t.shape, where);
  if (n !== t.data.length) {
    throw new Error(`${where}: shape [${t.shape.join(', ')}] holds ${n} elements but data has ${t.data.length}`);
  }
  return kind;
}
