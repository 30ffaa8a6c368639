// What a torch pickle may name, and the inert values those names become.
//
// A tensor is pickled as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
// where `storage` is a persistent id ('storage', torch.FloatStorage, key, location, numel
// [, view]). This module gives a meaning to exactly those names and a few containers (the
// allow-list of findClass); everything else stays an inert PyGlobal (see ./pickle.ts). The
// results are references (StorageRef, TensorRef), validated like PyTorch validates them; the
// bytes are read later (./torch-tensors.ts), once the whole request is known to fit the limits.
import { PyGlobal } from './pickle.js';
import { MAX_RANK, type SourceDType } from './types.js';
import { describeFileValue as describe, listShort, quote } from '../format.js';

/** Storage classes torch pickles, by element type. A Map: a name from the file must never find
 * Object.prototype's members ('constructor', '__proto__'). */
const STORAGE_TYPES: ReadonlyMap<string, SourceDType> = new Map([
  ['FloatStorage', 'float32'], ['DoubleStorage', 'float64'], ['HalfStorage', 'float16'],
  ['BFloat16Storage', 'bfloat16'], ['LongStorage', 'int64'], ['IntStorage', 'int32'], ['ShortStorage', 'int16'],
  ['CharStorage', 'int8'], ['ByteStorage', 'uint8'], ['BoolStorage', 'bool'],
]);

/** A storage class named by the pickle (a `torch.FloatStorage` GLOBAL). */
class StorageType {
  constructor(readonly name: string, readonly dtype: SourceDType) {}
}

/** A storage referenced by a persistent id; its bytes are found later. */
export class StorageRef {
  constructor(readonly key: string, readonly dtype: SourceDType, readonly numel: number,
    /** Elements to skip at the start of the root storage (legacy storage views). */
    readonly elementOffset = 0) {}
}

/** A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage. */
export class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: readonly number[],
    readonly stride: readonly number[]) {}
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function intList(v: unknown, what: string): readonly number[] {
  if (!Array.isArray(v)) throw new Error(`${what} is ${describe(v)}, not a tuple of non-negative integers`);
  // The rank check first: it keeps the check below cheap however long the tuple is.
  if (v.length > MAX_RANK) throw new Error(`${what} has ${v.length} dimensions, more than ${MAX_RANK}`);
  if (!v.every(isIndex)) {
    throw new Error(`${what} [${v.map(describe).join(', ')}] is not a tuple of non-negative integers`);
  }
  return v as readonly number[];
}

function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef {
  if (!(storage instanceof StorageRef)) throw new Error(`tensor storage is ${describe(storage)}, not a storage`);
  if (!isIndex(offset)) throw new Error(`tensor storage offset is ${describe(offset)}, not a non-negative integer`);
  const sz = intList(size, 'tensor size');
  const st = intList(stride, 'tensor stride');
  if (sz.length !== st.length) throw new Error(`tensor size [${sz.join(', ')}] and stride [${st.join(', ')}] differ in rank`);
  return new TensorRef(storage, offset, sz, st);
}

/** The allow-list: the only Python names this reader gives a meaning to. Every other name stays
 * an inert PyGlobal; what to do when one turns up where tensors are expected is decided later. */
export function findClass(module: string, name: string): unknown {
  if (module === 'torch._utils') {
    switch (name) {
      case '_rebuild_tensor_v2': // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
      case '_rebuild_tensor': // (storage, offset, size, stride): torch < 1.0
        return (s: unknown, o: unknown, size: unknown, stride: unknown) => rebuildTensor(s, o, size, stride);
      case '_rebuild_parameter': // (data, requires_grad, backward_hooks)
      case '_rebuild_parameter_with_state': // (data, requires_grad, backward_hooks, state)
        return (data: unknown) => data;
    }
  }
  const dtype = module === 'torch' ? STORAGE_TYPES.get(name) : undefined;
  if (dtype !== undefined) return new StorageType(name, dtype);
  if (module === 'collections' && name === 'OrderedDict') {
    return (items?: unknown) => {
      const m = new Map<unknown, unknown>();
      if (Array.isArray(items)) {
        for (const kv of items) {
          if (!Array.isArray(kv) || kv.length !== 2) throw new Error(`OrderedDict item ${describe(kv)} is not a pair`);
          m.set(kv[0], kv[1]);
        }
      }
      return m;
    };
  }
  if (module === 'builtins' && (name === 'set' || name === 'frozenset')) {
    return (items?: unknown) => new Set(Array.isArray(items) ? items : []);
  }
  if (module === '_codecs' && name === 'encode') {
    // How protocol 2 pickles bytes: _codecs.encode(str, 'latin1').
    return (s: unknown, enc: unknown) => {
      if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw new Error('unsupported _codecs.encode call');
      return Uint8Array.from(s, (c) => c.charCodeAt(0));
    };
  }
  if (module === 'torch' && name === 'Size') return (dims: unknown) => dims;
  return new PyGlobal(module, name);
}

/**
 * persistent_load for torch pickles: ('storage', type, key, location, numel[, view]). `storages`
 * holds the first reference to each root key (the legacy layout takes the element size from it).
 */
export function makePersistentLoad(): { load: (pid: unknown) => unknown; storages: Map<string, StorageRef> } {
  const storages = new Map<string, StorageRef>();
  const views = new Map<unknown, StorageRef>();
  const load = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
      throw new Error(`unsupported persistent id ${describe(pid)} (expected a ('storage', ...) tuple)`);
    }
    const [, type, key, , numel, view] = pid as unknown[];
    if (!(type instanceof StorageType)) {
      // A name with unprintable characters is shown quoted, so that it does not look like a valid one.
      const name = type instanceof PyGlobal ? String(type) : null;
      const n = name === null ? describe(type) : /^[\x21-\x7e]{1,80}$/.test(name) ? name : quote(name);
      throw new Error(`storage type ${n} is not supported ` +
        `(supported: ${listShort([...STORAGE_TYPES.keys()].map((s) => `torch.${s}`))})`);
    }
    if (typeof key !== 'string') throw new Error(`storage key is ${describe(key)}, not a string`);
    if (!isIndex(numel)) throw new Error(`storage ${describe(key)} has element count ${describe(numel)}`);
    // One StorageRef per key and dtype: the first one seen also gives the key's element size for
    // the legacy layout, where storages are stored as element counts.
    let ref = storages.get(key);
    if (!ref) {
      ref = new StorageRef(key, type.dtype, numel);
      storages.set(key, ref);
    } else if (ref.dtype !== type.dtype || ref.numel !== numel) {
      ref = new StorageRef(key, type.dtype, numel);
    }
    if (view === undefined || view === null) return ref;
    return storageView(ref, view, views);
  };
  return { load, storages };
}

/**
 * A legacy storage view (view_key, offset, size): elements [offset, offset + size) of the root
 * storage. As in torch.serialization's legacy loader, the first view of a view_key is the one every
 * later use gets; unlike it, the view must lie inside the root (PyTorch refuses non-integers and
 * would silently clamp or wrap the rest).
 */
function storageView(root: StorageRef, view: unknown, views: Map<unknown, StorageRef>): StorageRef {
  if (!Array.isArray(view) || view.length !== 3) throw new Error(`storage view is ${describe(view)}, not (key, offset, size)`);
  const [viewKey, offset, size] = view as unknown[];
  const seen = views.get(viewKey);
  if (seen) return seen;
  const where = `storage view ${describe(viewKey)} of storage ${describe(root.key)}`;
  if (!isIndex(offset)) throw new Error(`${where}: offset ${describe(offset)} is not a non-negative integer`);
  if (!isIndex(size)) throw new Error(`${where}: size ${describe(size)} is not a non-negative integer`);
  if (offset + size > root.numel) {
    throw new Error(`${where}: elements [${offset}, ${offset + size}) lie outside the storage's ${root.numel} elements`);
  }
  const ref = new StorageRef(root.key, root.dtype, size, offset);
  views.set(viewKey, ref);
  return ref;
}
