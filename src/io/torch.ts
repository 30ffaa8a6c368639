// Reads PyTorch checkpoints (torch.save) into named float32 / int64 / int32 tensors.
//
// Two layouts exist:
// - zip (torch >= 1.6, the default): a ZIP archive `<name>/data.pkl` (a protocol-2 pickle of the
//   object) + `<name>/data/<key>` (each storage's raw little-endian bytes) + `<name>/version`.
// - legacy (older torch, or _use_new_zipfile_serialization=False): concatenated pickles (magic
//   number, protocol version, system info, the object, the storage keys), then each storage as
//   an 8-byte element count followed by its bytes.
// In both, a tensor is pickled as torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
// ...) where `storage` is a persistent id ('storage', torch.FloatStorage, key, location, numel).
// We resolve those few names ourselves (see ./pickle.ts for why that is safe), then find the
// state dict inside the object (a bare state dict, a training checkpoint {'state_dict': ...},
// {'model': ...}, or a whole pickled nn.Module) and copy each tensor out in C order.
import { ByteReader, ELEMENT_SIZE, decodeElements, decodeUtf8, makeTensor, type TensorData } from './bytes.js';
import { PyGlobal, PyObject, unpickle } from './pickle.js';
import { checkShape, describe, type NamedTensor, type SourceDType, type TensorFile } from './types.js';
import { ZipArchive, looksLikeZip } from './zip.js';

export interface TorchReadOptions {
  /** The entry of a training checkpoint that holds the weights, e.g. 'state_dict_ema'.
   * Default: the first of STATE_DICT_KEYS present (or the top-level dict if it holds tensors). */
  key?: string;
  /** Strip DataParallel's 'module.' and torch.compile's '_orig_mod.' prefixes when every name
   * has one (default true). */
  stripPrefixes?: boolean;
  /** Verify the ZIP entries' CRC-32 (default true). */
  verifyCrc?: boolean;
}

export interface TorchCheckpoint extends TensorFile {
  format: 'zip' | 'legacy';
}

/** Entries of a training checkpoint that hold a state dict, in order of preference. */
export const STATE_DICT_KEYS = [
  'state_dict', 'model', 'model_state_dict', 'net', 'network', 'module', 'params',
  'state_dict_ema', 'model_ema', 'ema',
] as const;

const PREFIXES = [
  ['module.', 'DataParallel / DistributedDataParallel'],
  ['_orig_mod.', 'torch.compile'],
] as const;

/** The pickled magic number that opens a legacy torch file (a LONG1 of 10 bytes). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** Storage classes torch pickles, by element type. */
const STORAGE_TYPES: Record<string, SourceDType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8',
  ByteStorage: 'uint8', BoolStorage: 'bool',
};

/** A storage class named by the pickle (a `torch.FloatStorage` GLOBAL). */
class StorageType {
  constructor(readonly name: string, readonly dtype: SourceDType) {}
}

/** A storage referenced by a persistent id; its bytes are found later. */
class StorageRef {
  constructor(readonly key: string, readonly dtype: SourceDType, readonly numel: number,
    /** Elements to skip at the start of the root storage (legacy storage views). */
    readonly elementOffset = 0) {}
}

/** A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage. */
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new Error(`${what} is ${describe(v)}, not a tuple of non-negative integers`);
  }
  return v as number[];
}

function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown): TensorRef {
  if (!(storage instanceof StorageRef)) throw new Error(`tensor storage is ${describe(storage)}, not a storage`);
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new Error(`tensor storage offset is ${describe(offset)}`);
  }
  const sz = intList(size, 'tensor size');
  const st = intList(stride, 'tensor stride');
  if (sz.length !== st.length) throw new Error(`tensor size [${sz.join(', ')}] and stride [${st.join(', ')}] differ in rank`);
  return new TensorRef(storage, offset, [...sz], [...st]);
}

/** The whitelist: the only Python names this reader gives a meaning to. Every other name stays
 * an inert PyGlobal; what to do when one turns up where tensors are expected is decided later. */
function findClass(module: string, name: string): unknown {
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
  if (module === 'torch' && name in STORAGE_TYPES) return new StorageType(name, STORAGE_TYPES[name]);
  if (module === 'collections' && name === 'OrderedDict') {
    return (items?: unknown) => new Map(Array.isArray(items) ? items.map((kv) => [kv[0], kv[1]] as [unknown, unknown]) : []);
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

/** persistent_load for torch pickles: ('storage', type, key, location, numel[, view_metadata]). */
function makePersistentLoad(): { load: (pid: unknown) => unknown; storages: Map<string, StorageRef> } {
  const storages = new Map<string, StorageRef>();
  const load = (pid: unknown): unknown => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
      throw new Error(`unsupported persistent id ${describe(pid)} (expected a ('storage', ...) tuple)`);
    }
    const [, type, key, , numel, view] = pid as unknown[];
    if (!(type instanceof StorageType)) {
      const n = type instanceof PyGlobal ? String(type) : describe(type);
      throw new Error(`storage type ${n} is not supported (supported: ${Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`).join(', ')})`);
    }
    if (typeof key !== 'string') throw new Error(`storage key is ${describe(key)}, not a string`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      throw new Error(`storage ${key} has element count ${describe(numel)}`);
    }
    // One StorageRef per key and dtype: the first one seen also gives the key's element size for
    // the legacy layout, where storages are stored as element counts.
    let ref = storages.get(key);
    if (!ref) {
      ref = new StorageRef(key, type.dtype, numel);
      storages.set(key, ref);
    } else if (ref.dtype !== type.dtype) {
      ref = new StorageRef(key, type.dtype, numel);
    }
    if (Array.isArray(view)) {
      // Legacy storage view: (view_key, offset, size) into the root storage `key`.
      const [, offset, size] = view as unknown[];
      if (typeof offset !== 'number' || typeof size !== 'number') throw new Error(`bad storage view ${describe(view)}`);
      return new StorageRef(key, type.dtype, size, offset);
    }
    return ref;
  };
  return { load, storages };
}

/** A storage's bytes (the whole root storage) and their byte order. Its element count depends on
 * the dtype it is read as: tensors of different dtypes may share one storage (x.view(dtype)). */
interface StorageBytes { bytes: Uint8Array; littleEndian: boolean }

/** Copies a strided view out of its storage into a new C-order array. */
function materialize(t: TensorRef, name: string, find: (ref: StorageRef) => StorageBytes): NamedTensor {
  const where = `tensor ${name}`;
  const ref = t.storage;
  const numel = checkShape(t.size, where);
  const shape = [...t.size];
  if (numel === 0) return makeTensor(ref.dtype, shape, decodeElements(new Uint8Array(0), 0, 0, ref.dtype));
  const src = find(ref);
  const available = Math.min(Math.floor(src.bytes.length / ELEMENT_SIZE[ref.dtype]) - ref.elementOffset, ref.numel);
  // The last element the view touches; strides are non-negative, so it is the maximum.
  let last = t.offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * t.stride[d];
  if (!Number.isSafeInteger(last) || last >= available) {
    throw new Error(`${where} (${ref.dtype}, shape [${shape.join(', ')}], offset ${t.offset}, stride ` +
      `[${t.stride.join(', ')}]) reaches element ${last} of storage ${ref.key}, which holds only ${available}: ` +
      'the storage is too short (truncated or corrupt file)');
  }
  // A zero stride (an expanded view) can describe more elements than its storage holds; cap that
  // so a corrupt stride cannot ask for gigabytes.
  if (numel > available && numel > 1 << 24) {
    throw new Error(`${where}: shape [${shape.join(', ')}] describes ${numel} elements over a storage of ${available}`);
  }
  const first = ref.elementOffset + t.offset;
  const span = decodeElements(src.bytes, first * ELEMENT_SIZE[ref.dtype], last - t.offset + 1, ref.dtype, src.littleEndian);
  return makeTensor(ref.dtype, shape, gather(span, shape, t.stride, numel));
}

/** `span` holds the view's elements from its first one on; returns them in C order. */
function gather(span: TensorData, shape: number[], stride: number[], numel: number): TensorData {
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

/** The parameters and persistent buffers of a pickled nn.Module (torch.save(model)). */
function moduleStateDict(root: PyObject): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const seen = new Set<PyObject>();
  const walk = (m: PyObject, prefix: string, depth: number): void => {
    if (seen.has(m) || depth > 100) return;
    seen.add(m);
    const state = m.state instanceof Map ? m.state : new Map();
    const dict = (k: string): Map<unknown, unknown> => (state.get(k) instanceof Map ? state.get(k) : new Map());
    const nonPersistent = state.get('_non_persistent_buffers_set');
    for (const [k, v] of dict('_parameters')) if (v !== null) out.set(prefix + String(k), v);
    for (const [k, v] of dict('_buffers')) {
      if (v !== null && !(nonPersistent instanceof Set && nonPersistent.has(k))) out.set(prefix + String(k), v);
    }
    for (const [k, v] of dict('_modules')) if (v instanceof PyObject) walk(v, `${prefix}${String(k)}.`, depth + 1);
  };
  walk(root, '', 0);
  return out;
}

function isModule(v: unknown): v is PyObject {
  return v instanceof PyObject && v.state instanceof Map && v.state.has('_parameters') && v.state.has('_modules');
}

/** Finds the state dict inside whatever was pickled; notes what it chose. */
function findStateDict(root: unknown, options: TorchReadOptions, notes: string[]): Map<unknown, unknown> {
  const asDict = (v: unknown, what: string): Map<unknown, unknown> => {
    if (isModule(v)) {
      notes.push(`${what} is a whole pickled nn.Module (${String(v.cls)}, saved with torch.save(model)); ` +
        'read its parameters and persistent buffers. Prefer torch.save(model.state_dict(), path).');
      return moduleStateDict(v);
    }
    if (v instanceof Map) return v;
    if (v instanceof PyObject) {
      throw new Error(`${what} is a pickled ${String(v.cls)} object, not a state dict; ` +
        'save the weights with torch.save(model.state_dict(), path)');
    }
    throw new Error(`${what} is ${describe(v)}, not a state dict (a dict of tensors)`);
  };
  let path = 'checkpoint';
  let dict = asDict(root, 'the checkpoint');
  if (options.key !== undefined) {
    if (!dict.has(options.key)) {
      throw new Error(`the checkpoint has no entry '${options.key}' (entries: ${[...dict.keys()].map(String).join(', ')})`);
    }
    notes.push(`using checkpoint['${options.key}'] as requested`);
    return asDict(dict.get(options.key), `checkpoint['${options.key}']`);
  }
  const isTensor = (v: unknown): boolean => v instanceof TensorRef;
  for (let depth = 0; depth < 3; depth++) {
    const values = [...dict.values()];
    if (values.length > 0 && values.every(isTensor)) return dict;
    const d = dict;
    const key = STATE_DICT_KEYS.find((k) => d.has(k) && (d.get(k) instanceof Map || isModule(d.get(k))));
    if (key === undefined) {
      if (values.some(isTensor)) return dict; // a state dict with a few extra non-tensor entries
      throw new Error(`could not find a state dict in the ${path}: its entries are ` +
        `${[...dict.entries()].map(([k, v]) => `${String(k)} (${describe(v)})`).join(', ') || 'none'}; ` +
        `expected tensors or one of the entries ${STATE_DICT_KEYS.join(', ')} (or pass options.key)`);
    }
    const others = [...dict.keys()].map(String).filter((k) => k !== key);
    const ema = STATE_DICT_KEYS.find((k) => k !== key && k.includes('ema') && d.has(k));
    notes.push(`using ${path}['${key}']` + (others.length ? `; ignored the other entries: ${others.join(', ')}` : '') +
      (ema && !key.includes('ema') ? ` (pass { key: '${ema}' } for the EMA weights)` : ''));
    path = `${path}['${key}']`;
    dict = asDict(dict.get(key), path);
  }
  return dict;
}

/** Turns the chosen dict into named tensors: copies them out, skips non-tensors, strips prefixes. */
function collect(dict: Map<unknown, unknown>, find: (ref: StorageRef) => StorageBytes, options: TorchReadOptions,
  notes: string[]): Map<string, NamedTensor> {
  let names: [string, TensorRef][] = [];
  const skipped: string[] = [];
  for (const [k, v] of dict) {
    if (typeof k !== 'string') skipped.push(`${describe(k)} (a non-string name)`);
    else if (v instanceof TensorRef) names.push([k, v]);
    else skipped.push(`${k} (${describe(v)})`);
  }
  const skipNote = `skipped ${skipped.length} entries that are not plain tensors: ${skipped.join(', ')}`;
  if (names.length === 0) throw new Error(`the state dict holds no tensors${skipped.length ? ` (${skipNote})` : ''}`);
  if (skipped.length) notes.push(skipNote);
  if (options.stripPrefixes ?? true) {
    for (let changed = true; changed;) {
      changed = false;
      for (const [prefix, by] of PREFIXES) {
        if (names.every(([n]) => n.startsWith(prefix))) {
          names = names.map(([n, t]) => [n.slice(prefix.length), t]);
          notes.push(`stripped the '${prefix}' prefix (added by ${by}) from all ${names.length} names`);
          changed = true;
        }
      }
    }
  }
  const out = new Map<string, NamedTensor>();
  for (const [name, t] of names) out.set(name, materialize(t, name, find));
  return out;
}

/** What kind of torch file `bytes` is, from its first bytes. */
export function torchFormatOf(bytes: Uint8Array): 'zip' | 'legacy' | 'legacy-tar' | null {
  if (looksLikeZip(bytes)) return 'zip';
  // PROTO n, LONG1 10 bytes: the magic number 0x1950a86a20f9469cfc6c, little-endian.
  const magic = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  if (bytes.length >= 14 && bytes[0] === 0x80 && magic.every((b, i) => bytes[2 + i] === b)) return 'legacy';
  if (bytes.length >= 262 && [0x75, 0x73, 0x74, 0x61, 0x72].every((b, i) => bytes[257 + i] === b)) return 'legacy-tar'; // "ustar"
  return null;
}

function readZipCheckpoint(bytes: Uint8Array, options: TorchReadOptions, notes: string[]): TensorFile {
  const zip = new ZipArchive(bytes, 'torch checkpoint', { verifyCrc: options.verifyCrc });
  const pkls = [...zip.entries.keys()].filter((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  if (pkls.length === 0) {
    throw new Error('torch checkpoint: the ZIP archive has no data.pkl entry: not a torch.save file ' +
      `(entries: ${[...zip.entries.keys()].slice(0, 8).join(', ')})`);
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  if (zip.has(`${prefix}constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new Error('torch checkpoint: this is a TorchScript archive (torch.jit.save), which is not supported; ' +
      'save the weights with torch.save(model.state_dict(), path)');
  }
  let littleEndian = true;
  if (zip.has(`${prefix}byteorder`)) { // written by torch >= 2.1
    const order = decodeUtf8(zip.read(`${prefix}byteorder`), 'torch checkpoint byteorder').trim();
    if (order !== 'little' && order !== 'big') throw new Error(`torch checkpoint: unknown byteorder '${order}'`);
    littleEndian = order === 'little';
  }
  const root = unpickle(zip.read(`${prefix}data.pkl`), { findClass, persistentLoad: makePersistentLoad().load },
    `torch checkpoint ${prefix}data.pkl`).value;
  const cache = new Map<string, StorageBytes>();
  const find = (ref: StorageRef): StorageBytes => {
    let s = cache.get(ref.key);
    if (!s) {
      const entry = `${prefix}data/${ref.key}`;
      if (!zip.has(entry)) throw new Error(`torch checkpoint: storage ${ref.key} is missing (no entry ${entry})`);
      s = { bytes: zip.read(entry), littleEndian };
      cache.set(ref.key, s);
    }
    return s;
  };
  return { tensors: collect(findStateDict(root, options, notes), find, options, notes), notes };
}

function readLegacyCheckpoint(bytes: Uint8Array, options: TorchReadOptions, notes: string[]): TensorFile {
  const what = 'legacy torch checkpoint';
  const magic = unpickle(bytes, {}, `${what} (magic number)`);
  if (magic.value !== LEGACY_MAGIC) throw new Error(`${what}: wrong magic number`);
  const version = unpickle(bytes, {}, `${what} (protocol version)`, magic.end);
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new Error(`${what}: protocol version ${describe(version.value)} is not supported (expected ${LEGACY_PROTOCOL_VERSION})`);
  }
  const sysInfo = unpickle(bytes, {}, `${what} (system info)`, version.end);
  const littleEndian = !(sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false);
  const pers = makePersistentLoad();
  const main = unpickle(bytes, { findClass, persistentLoad: pers.load }, `${what} (object)`, sysInfo.end);
  const keys = unpickle(bytes, {}, `${what} (storage keys)`, main.end);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) {
    throw new Error(`${what}: the storage key list is ${describe(keys.value)}`);
  }
  const dict = findStateDict(main.value, options, notes);
  // The storages follow in key order, each an 8-byte element count and the elements; the element
  // size is that of the storage type the pickle named for the key.
  const located = new Map<string, StorageBytes>();
  const r = new ByteReader(bytes, what, keys.end);
  for (const key of keys.value as string[]) {
    const ref = pers.storages.get(key);
    if (!ref) throw new Error(`${what}: storage ${key} is listed but never referenced, so its element size is unknown`);
    const countBytes = r.take(8, `the element count of storage ${key}`);
    const count = new DataView(countBytes.buffer, countBytes.byteOffset, 8).getBigUint64(0, littleEndian);
    const size = ELEMENT_SIZE[ref.dtype];
    if (count > BigInt(Math.floor(r.remaining / size))) {
      throw new Error(`${what}: storage ${key} claims ${count} ${ref.dtype} elements at offset ${r.pos}, ` +
        `past the end of the file (${bytes.length} bytes): truncated`);
    }
    const numel = Number(count);
    located.set(key, { bytes: r.take(numel * size, `storage ${key}`), littleEndian });
  }
  const find = (ref: StorageRef): StorageBytes => {
    const s = located.get(ref.key);
    if (!s) throw new Error(`${what}: storage ${ref.key} was not found in the file`);
    return s;
  };
  notes.push('read the legacy (pre-1.6, non-zip) torch format');
  return { tensors: collect(dict, find, options, notes), notes };
}

/**
 * Reads a PyTorch checkpoint written by torch.save: a state dict, a training checkpoint holding
 * one ({'state_dict': ...}, {'model': ...}, ...) or a pickled nn.Module. Floating tensors come
 * back as float32, int64 exact, smaller integers as int32 (see NamedTensor). Throws an Error that
 * says what is wrong and where for a truncated, corrupt or unsupported file.
 */
export function readTorch(bytes: Uint8Array, options: TorchReadOptions = {}): TorchCheckpoint {
  const format = torchFormatOf(bytes);
  const notes: string[] = [];
  if (format === 'zip') return { format, ...readZipCheckpoint(bytes, options, notes) };
  if (format === 'legacy') return { format, ...readLegacyCheckpoint(bytes, options, notes) };
  if (format === 'legacy-tar') {
    throw new Error('torch checkpoint: this is the tar-based format of torch < 0.4, which is not supported; ' +
      're-save it with a recent torch (torch.save(torch.load(path), path2))');
  }
  if (bytes.length > 0 && bytes[0] === 0x80) {
    throw new Error('torch checkpoint: this is a bare pickle, not a torch.save file (no torch magic number and not a ZIP archive)');
  }
  throw new Error(`torch checkpoint: not a PyTorch file (starts with bytes ${[...bytes.subarray(0, 4)]
    .map((b) => b.toString(16).padStart(2, '0')).join(' ') || '(empty)'}; expected a ZIP archive "PK\\x03\\x04")`);
}
