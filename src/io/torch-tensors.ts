// Strided views of torch storages -> C-order arrays, within the limits.
//
// In two steps, so that nothing is read, inflated or allocated before the whole request is known
// to be sound: `planTensors` checks every view against its storage's size (known from the ZIP
// directory or the legacy element counts, without reading the data) and the totals against
// maxViewExpansion and maxTensorBytes; `materializeTensors` then reads the storages and copies
// the tensors out.
import { ELEMENT_SIZE, decodeElements, makeTensor, type TensorData } from './bytes.js';
import { DEFAULT_LIMITS, checkTensorBytes, exceeded, formatBytes, type ReadLimits } from './limits.js';
import type { StorageRef, TensorRef } from './torch-refs.js';
import { checkShape, type FileTensor, type SourceDType } from './types.js';

/** A storage's bytes (the whole root storage) and their byte order. */
export interface StorageBytes { bytes: Uint8Array; littleEndian: boolean }

/** Where a checkpoint's storages are. */
export interface StorageSource {
  /** Bytes of root storage `key` without reading it (ZIP directory, legacy count); throws if missing. */
  byteLength(key: string): number;
  /** The root storage's bytes (read or inflated on first use). */
  read(key: string): StorageBytes;
}

interface PlannedTensor {
  name: string;
  t: TensorRef;
  numel: number;
  /** Elements from the view's first element to its last, inclusive (0 when empty). */
  span: number;
}

export interface TensorPlan {
  tensors: PlannedTensor[];
  /** Bytes the returned tensors hold in the file's element types (the decompression budget's base). */
  storedBytes: number;
}

/** Bytes per element once read: floats become float32, int64 stays, small integers widen to int32. */
function memorySize(dtype: SourceDType): number {
  return dtype === 'int64' ? 8 : 4;
}

/**
 * Validates each view against its storage and the request against the limits. `what` names the
 * file in limit errors.
 */
export function planTensors(list: readonly [string, TensorRef][], src: StorageSource, what: string,
  limits: ReadLimits): TensorPlan {
  const tensors: PlannedTensor[] = [];
  const rootBytes = new Map<string, number>(); // per viewed storage, its size once read
  let returned = 0;
  let storedBytes = 0;
  for (const [name, t] of list) {
    const where = `tensor ${name}`;
    const ref = t.storage;
    const numel = checkShape(t.size, where);
    if (numel === 0) {
      tensors.push({ name, t, numel, span: 0 });
      continue;
    }
    const size = ELEMENT_SIZE[ref.dtype];
    const rootElements = Math.floor(src.byteLength(ref.key) / size);
    const available = Math.max(0, Math.min(rootElements - ref.elementOffset, ref.numel));
    // The last element the view touches; strides are non-negative, so it is the maximum.
    let last = t.offset;
    for (let d = 0; d < t.size.length; d++) last += (t.size[d] - 1) * t.stride[d];
    if (!Number.isSafeInteger(last) || last >= available) {
      throw new Error(`${where} (${ref.dtype}, shape [${t.size.join(', ')}], offset ${t.offset}, stride ` +
        `[${t.stride.join(', ')}]) reaches element ${last} of storage ${ref.key}, which holds only ${available}: ` +
        'the storage is too short (truncated or corrupt file)');
    }
    tensors.push({ name, t, numel, span: last - t.offset + 1 });
    returned += numel * memorySize(ref.dtype);
    storedBytes += numel * size;
    const bytes = rootElements * memorySize(ref.dtype);
    if (bytes > (rootBytes.get(ref.key) ?? 0)) rootBytes.set(ref.key, bytes);
  }
  let stored = 0;
  for (const b of rootBytes.values()) stored += b;
  const factor = limits.maxViewExpansion ?? DEFAULT_LIMITS.maxViewExpansion;
  if (returned > factor * stored + DEFAULT_LIMITS.viewExpansionSlack) {
    exceeded('maxViewExpansion', what,
      `its ${tensors.length} tensors would hold ${formatBytes(returned)} but view only ${formatBytes(stored)} of ` +
      `stored data: views alias the same elements (allowed: maxViewExpansion x the stored bytes + ` +
      `${formatBytes(DEFAULT_LIMITS.viewExpansionSlack)})`,
      factor, Math.ceil((returned - DEFAULT_LIMITS.viewExpansionSlack) / stored));
  }
  checkTensorBytes(returned, what, limits);
  return { tensors, storedBytes };
}

/** Copies each planned tensor out of its storage, in C order. */
export function materializeTensors(plan: TensorPlan, src: StorageSource): Map<string, FileTensor> {
  const out = new Map<string, FileTensor>();
  for (const p of plan.tensors) {
    const ref = p.t.storage;
    const shape = [...p.t.size];
    if (p.numel === 0) {
      out.set(p.name, makeTensor(ref.dtype, shape, decodeElements(new Uint8Array(0), 0, 0, ref.dtype)));
      continue;
    }
    const s = src.read(ref.key);
    const first = (ref.elementOffset + p.t.offset) * ELEMENT_SIZE[ref.dtype];
    try {
      const span = decodeElements(s.bytes, first, p.span, ref.dtype, s.littleEndian);
      out.set(p.name, makeTensor(ref.dtype, shape, gather(span, shape, p.t.stride, p.numel)));
    } catch (e) {
      // Within the limits, an allocation can still fail on a machine with less memory.
      if (e instanceof RangeError && /allocation failed|Invalid typed array length/i.test(e.message)) {
        throw new Error(`tensor ${p.name}: out of memory allocating ${formatBytes(p.numel * memorySize(ref.dtype))}`);
      }
      throw e;
    }
  }
  return out;
}

/** `span` holds the view's elements from its first one on; returns them in C order. */
function gather(span: TensorData, shape: number[], stride: readonly number[], numel: number): TensorData {
  let contiguous = true;
  for (let d = shape.length - 1, expect = 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) contiguous = false;
    expect *= shape[d];
  }
  if (contiguous) return span.length === numel ? span : span.subarray(0, numel);
  const out = new (span.constructor as new (n: number) => TensorData)(numel);
  const o = out as unknown as { [i: number]: unknown };
  const s = span as unknown as { [i: number]: unknown };
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < numel; i++) {
    o[i] = s[off];
    for (let d = rank - 1; d >= 0; d--) { // odometer over the C-order index
      off += stride[d];
      if (++idx[d] < shape[d]) break;
      off -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}
