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
// We resolve those few names ourselves (./torch-refs.ts; see ./pickle.ts for why that is safe),
// then find the state dict inside the object (a bare state dict, a training checkpoint
// {'state_dict': ...}, {'model': ...}, or a whole pickled nn.Module) and copy each tensor out in C
// order (./torch-tensors.ts). Every step works within the limits of ./limits.ts.
import { ByteReader, ELEMENT_SIZE, decodeUtf8 } from './bytes.js';
import { DEFAULT_LIMITS, DecompressionBudget, checkLimitOptions, exceeded, type ReadLimits } from './limits.js';
import { PyObject, unpickle } from './pickle.js';
import { TensorRef, findClass, makePersistentLoad } from './torch-refs.js';
import { materializeTensors, planTensors, type StorageBytes, type StorageSource } from './torch-tensors.js';
import { type FileTensor, type TensorFile } from './types.js';
import { describeFileValue as describe, listShort } from '../format.js';
import { stripWrapperPrefixes } from './prefixes.js';
import { ZipArchive, looksLikeZip } from './zip.js';

export interface TorchReadOptions extends ReadLimits {
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

/** The pickled magic number that opens a legacy torch file (a LONG1 of 10 bytes). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** The parameters and persistent buffers of a pickled nn.Module (torch.save(model)). */
function moduleStateDict(root: PyObject, options: TorchReadOptions): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const seen = new Set<PyObject>();
  // Modules are visited once, but many of them may share one huge _parameters dict: count the
  // entries visited against the pickle's opcode budget, which is what built them.
  const maxWork = options.maxPickleOps ?? DEFAULT_LIMITS.maxPickleOps;
  let work = 0;
  const visit = (n: number): void => {
    work += n;
    if (work > maxWork) {
      exceeded('maxPickleOps', 'the pickled nn.Module', `its modules list more than ${maxWork} parameters, ` +
        'buffers and submodules', maxWork);
    }
  };
  const walk = (m: PyObject, prefix: string, depth: number): void => {
    if (seen.has(m) || depth > 100) return;
    seen.add(m);
    const state = m.state instanceof Map ? m.state : new Map();
    const dict = (k: string): Map<unknown, unknown> => {
      const d = state.get(k);
      if (!(d instanceof Map)) return new Map();
      visit(d.size + 1);
      return d;
    };
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
      return moduleStateDict(v, options);
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
      throw new Error(`the checkpoint has no entry '${options.key}' (entries: ${listShort([...dict.keys()].map(keyName))})`);
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
        `${listShort([...dict.entries()].map(([k, v]) => `${keyName(k)} (${describe(v)})`)) || 'none'}; ` +
        `expected tensors or one of the entries ${STATE_DICT_KEYS.join(', ')} (or pass options.key)`);
    }
    const others = [...dict.keys()].map(keyName).filter((k) => k !== key);
    const ema = STATE_DICT_KEYS.find((k) => k !== key && k.includes('ema') && d.has(k));
    notes.push(`using ${path}['${key}']` + (others.length ? `; ignored the other entries: ${listShort(others)}` : '') +
      (ema && !key.includes('ema') ? ` (pass { key: '${ema}' } for the EMA weights)` : ''));
    path = `${path}['${key}']`;
    dict = asDict(dict.get(key), path);
  }
  return dict;
}

/** A dict key for a message: strings as they are (cut short), anything else described. */
function keyName(k: unknown): string {
  return typeof k === 'string' ? (k.length > 80 ? `${k.slice(0, 80)}...` : k) : describe(k);
}

/** Turns the chosen dict into named tensors: skips non-tensors, strips prefixes, then plans (all
 * checks) and copies the tensors out. */
function collect(dict: Map<unknown, unknown>, src: StorageSource, options: TorchReadOptions, notes: string[],
  what: string, beforeRead?: (storedBytes: number) => void): Map<string, FileTensor> {
  let names: [string, TensorRef][] = [];
  const skipped: string[] = [];
  for (const [k, v] of dict) {
    if (typeof k !== 'string') skipped.push(`${describe(k)} (a non-string name)`);
    else if (v instanceof TensorRef) names.push([k, v]);
    else skipped.push(`${keyName(k)} (${describe(v)})`);
  }
  const skipNote = `skipped ${skipped.length} entries that are not plain tensors: ${listShort(skipped)}`;
  if (names.length === 0) throw new Error(`the state dict holds no tensors${skipped.length ? ` (${skipNote})` : ''}`);
  if (skipped.length) notes.push(skipNote);
  if (options.stripPrefixes ?? true) names = stripWrapperPrefixes(names, notes);
  const plan = planTensors(names, src, what, options);
  beforeRead?.(plan.storedBytes);
  return materializeTensors(plan, src);
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
  const what = 'torch checkpoint';
  const zip = new ZipArchive(bytes, what, { verifyCrc: options.verifyCrc });
  const pkls = [...zip.entries.keys()].filter((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  if (pkls.length === 0) {
    throw new Error(`${what}: the ZIP archive has no data.pkl entry: not a torch.save file ` +
      `(entries: ${listShort([...zip.entries.keys()].map(keyName), 8)})`);
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  if (zip.has(`${prefix}constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
    throw new Error(`${what}: this is a TorchScript archive (torch.jit.save), which is not supported; ` +
      'save the weights with torch.save(model.state_dict(), path)');
  }
  // Deflated entries inflate within a budget: until the tensors are known, the fixed 64 MiB (for
  // the pickle); then that plus the bytes the requested tensors need (unless the caller set it).
  const budget = new DecompressionBudget(options.maxDecompressedBytes ?? DEFAULT_LIMITS.decompressedSlack,
    options.maxDecompressedBytes !== undefined ? 'as set by the caller'
      : `${DEFAULT_LIMITS.decompressedSlack / 2 ** 20} MiB + the bytes of the tensors the file describes`);
  let littleEndian = true;
  if (zip.has(`${prefix}byteorder`)) { // written by torch >= 2.1
    const order = decodeUtf8(zip.read(`${prefix}byteorder`, budget), `${what} byteorder`).trim();
    if (order !== 'little' && order !== 'big') throw new Error(`${what}: unknown byteorder ${describe(order)}`);
    littleEndian = order === 'little';
  }
  const root = unpickle(zip.read(`${prefix}data.pkl`, budget), { findClass, persistentLoad: makePersistentLoad().load },
    `${what} ${prefix}data.pkl`, 0, options).value;
  const cache = new Map<string, StorageBytes>();
  const entryOf = (key: string): string => {
    const entry = `${prefix}data/${key}`;
    if (!zip.has(entry)) throw new Error(`${what}: storage ${keyName(key)} is missing (no entry ${keyName(entry)})`);
    return entry;
  };
  const src: StorageSource = {
    byteLength: (key) => zip.entries.get(entryOf(key))!.size,
    read: (key) => {
      let s = cache.get(key);
      if (!s) {
        s = { bytes: zip.read(entryOf(key), budget), littleEndian };
        cache.set(key, s);
      }
      return s;
    },
  };
  const grow = (stored: number): void => {
    if (options.maxDecompressedBytes === undefined) budget.max = DEFAULT_LIMITS.decompressedSlack + stored;
  };
  return { tensors: collect(findStateDict(root, options, notes), src, options, notes, what, grow), notes };
}

function readLegacyCheckpoint(bytes: Uint8Array, options: TorchReadOptions, notes: string[]): TensorFile {
  const what = 'legacy torch checkpoint';
  const magic = unpickle(bytes, {}, `${what} (magic number)`, 0, options);
  if (magic.value !== LEGACY_MAGIC) throw new Error(`${what}: wrong magic number`);
  const version = unpickle(bytes, {}, `${what} (protocol version)`, magic.end, options);
  if (version.value !== LEGACY_PROTOCOL_VERSION) {
    throw new Error(`${what}: protocol version ${describe(version.value)} is not supported (expected ${LEGACY_PROTOCOL_VERSION})`);
  }
  const sysInfo = unpickle(bytes, {}, `${what} (system info)`, version.end, options);
  const littleEndian = !(sysInfo.value instanceof Map && sysInfo.value.get('little_endian') === false);
  const pers = makePersistentLoad();
  const main = unpickle(bytes, { findClass, persistentLoad: pers.load }, `${what} (object)`, sysInfo.end, options);
  const keys = unpickle(bytes, {}, `${what} (storage keys)`, main.end, options);
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
    if (!ref) throw new Error(`${what}: storage ${keyName(key)} is listed but never referenced, so its element size is unknown`);
    const countBytes = r.take(8, `the element count of storage ${keyName(key)}`);
    const count = new DataView(countBytes.buffer, countBytes.byteOffset, 8).getBigUint64(0, littleEndian);
    const size = ELEMENT_SIZE[ref.dtype];
    if (count > BigInt(Math.floor(r.remaining / size))) {
      throw new Error(`${what}: storage ${keyName(key)} claims ${count} ${ref.dtype} elements at offset ${r.pos}, ` +
        `past the end of the file (${bytes.length} bytes): truncated`);
    }
    const numel = Number(count);
    located.set(key, { bytes: r.take(numel * size, `storage ${keyName(key)}`), littleEndian });
  }
  const find = (key: string): StorageBytes => {
    const s = located.get(key);
    if (!s) throw new Error(`${what}: storage ${keyName(key)} was not found in the file`);
    return s;
  };
  const src: StorageSource = { byteLength: (key) => find(key).bytes.length, read: find };
  notes.push('read the legacy (pre-1.6, non-zip) torch format');
  return { tensors: collect(dict, src, options, notes, what), notes };
}

/**
 * Reads a PyTorch checkpoint written by torch.save: a state dict, a training checkpoint holding
 * one ({'state_dict': ...}, {'model': ...}, ...) or a pickled nn.Module. Floating tensors come
 * back as float32, int64 exact, smaller integers as int32 (see FileTensor). Throws an Error that
 * says what is wrong and where for a truncated, corrupt or unsupported file.
 */
export function readTorch(bytes: Uint8Array, options: TorchReadOptions = {}): TorchCheckpoint {
  checkLimitOptions(options);
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
