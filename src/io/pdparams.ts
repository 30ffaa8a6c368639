// Paddle state dicts (`paddle.save(layer.state_dict(), 'x.pdparams')`, Paddle 2.x): a pickle
// (protocol 4 by default since Paddle 2.1, protocol 2 in 2.0) of a dict from structured names to
// NumPy arrays, plus a "StructuredToParameterName@@" table of Paddle's internal names. NumPy
// arrays are pickled through numpy.core.multiarray._reconstruct (numpy._core in NumPy 2) and
// numpy.dtype: exactly those names are allowed (and _codecs.encode, which protocol 2 uses for
// bytes); any other global is refused with its name. Nothing from the file is ever executed: the
// unpickler only records calls (./pickle.ts), and this file reads the recorded arrays.
import { describeFileValue as describe, listShort, quote } from '../format.js';
import { decodeElements, makeTensor } from './bytes.js';
import type { ReadLimits } from './limits.js';
import { PyGlobal, PyObject, unpickle } from './pickle.js';
import { checkShape, type FileTensor, type SourceDType, type TensorFile } from './types.js';

const NAME_TABLE = 'StructuredToParameterName@@';

/** The globals a Paddle state dict may name. */
const ALLOWED = new Set([
  'numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct', 'numpy.ndarray', 'numpy.dtype', '_codecs.encode',
]);

/** NumPy dtype codes this reader turns into tensors (float64 comes back as float32, as elsewhere). */
const DTYPES = new Map<string, SourceDType>([
  ['f4', 'float32'], ['f8', 'float64'], ['f2', 'float16'], ['i8', 'int64'], ['i4', 'int32'], ['i2', 'int16'], ['i1', 'int8'], ['u1', 'uint8'],
]);

/** Whether the bytes look like a pickle (PROTO 2..5) that is not a torch legacy file. */
export function looksLikePickle(bytes: Uint8Array): boolean {
  return bytes.length > 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
}

function findClass(module: string, name: string): unknown {
  const full = `${module}.${name}`;
  if (!ALLOWED.has(full)) {
    throw new Error(`pdparams: the file names the Python global ${quote(full)}, which a Paddle state dict does not ` +
      'contain: refused (nothing from the file is run)');
  }
  if (full === '_codecs.encode') {
    return (s: unknown, enc: unknown) => {
      if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) throw new Error('pdparams: unsupported _codecs.encode call');
      return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
    };
  }
  return new PyGlobal(module, name); // recorded, never called
}

/** The dtype code and byte order of a pickled numpy.dtype: dtype('f4', False, True) + state (3, '<', ...). */
function dtypeOf(d: unknown, where: string): { code: string; littleEndian: boolean } {
  if (!(d instanceof PyObject) || String(d.cls) !== 'numpy.dtype' || typeof d.args[0] !== 'string') {
    throw new Error(`${where}: expected a numpy.dtype, got ${describe(d)}`);
  }
  const code = d.args[0];
  const state = d.state;
  const order = Array.isArray(state) && typeof state[1] === 'string' ? state[1] : '<';
  if (order !== '<' && order !== '>' && order !== '|' && order !== '=') throw new Error(`${where}: byte order ${quote(String(order))} is not one of < > | =`);
  return { code, littleEndian: order !== '>' };
}

/** A NumPy array recorded by the unpickler, as a tensor. */
function arrayOf(v: unknown, where: string): FileTensor {
  if (!(v instanceof PyObject) || !String(v.cls).endsWith('multiarray._reconstruct')) {
    throw new Error(`${where}: expected a NumPy array, got ${describe(v)}`);
  }
  const state = v.state;
  if (!Array.isArray(state) || state.length !== 5) throw new Error(`${where}: the array's state is ${describe(state)}, not (version, shape, dtype, fortran, data)`);
  const [, shape, dtype, fortran, data] = state as unknown[];
  if (fortran !== false) throw new Error(`${where}: Fortran-ordered arrays are not supported (save it with np.ascontiguousarray)`);
  const n = checkShape(shape, where);
  const { code, littleEndian } = dtypeOf(dtype, where);
  const type = DTYPES.get(code);
  if (type === undefined) throw new Error(`${where}: dtype ${quote(code)} is not supported (float16/32/64, int8/16/32/64, uint8)`);
  if (!(data instanceof Uint8Array)) throw new Error(`${where}: the array's data is ${describe(data)}, not bytes`);
  const size = Number(code.slice(1));
  if (data.length !== n * size) {
    throw new Error(`${where}: shape [${(shape as number[]).join(', ')}] of ${code} needs ${n * size} bytes but the data holds ${data.length}`);
  }
  return makeTensor(type, [...(shape as number[])], decodeElements(data, 0, n, type, littleEndian));
}

/** Reads a .pdparams state dict into named tensors (Paddle's names, Paddle's layouts). */
export function readPdparams(bytes: Uint8Array, limits: ReadLimits = {}): TensorFile {
  if (!looksLikePickle(bytes)) throw new Error('pdparams: not a pickle (a .pdparams file starts with PROTO 2-5)');
  const root = unpickle(bytes, { findClass }, 'pdparams', 0, limits).value;
  if (!(root instanceof Map)) throw new Error(`pdparams: the file holds ${describe(root)}, not a dict of arrays`);
  const tensors = new Map<string, FileTensor>();
  const notes: string[] = [];
  const skipped: string[] = [];
  for (const [k, v] of root) {
    if (typeof k !== 'string') throw new Error(`pdparams: a key is ${describe(k)}, not a name`);
    if (k === NAME_TABLE) { notes.push(`ignored Paddle's ${NAME_TABLE} table of internal names`); continue; }
    if (!(v instanceof PyObject)) { skipped.push(`${quote(k)} (${describe(v)})`); continue; }
    tensors.set(k, arrayOf(v, `pdparams: ${quote(k)}`));
  }
  if (skipped.length) notes.push(`skipped ${skipped.length} entries that are not arrays: ${listShort(skipped)}`);
  if (tensors.size === 0) throw new Error('pdparams: the dict holds no arrays');
  return { tensors, notes };
}
