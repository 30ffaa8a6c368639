// Writing a state dict as torch.save does (the zip format of PyTorch >= 1.6): `archive/data.pkl`,
// a protocol-2 pickle of an OrderedDict of tensors, each rebuilt by torch._utils._rebuild_tensor_v2
// from a storage that lives in its own entry `archive/data/<key>`; `archive/version` and
// `archive/byteorder`. Only the globals torch.load(weights_only=True) allows are named
// (OrderedDict, _rebuild_tensor_v2, FloatStorage, LongStorage, IntStorage), so the file loads
// with the safe loader and into the official model with load_state_dict(strict=True).
import { encodeLE } from './bytes.js';
import { entriesOf, inputDtype, type TensorsInput } from './types.js';
import { writeZip } from './zip-write.js';

const STORAGE = { float32: 'FloatStorage', int64: 'LongStorage', int32: 'IntStorage' } as const;

/** A protocol-2 pickle, written opcode by opcode. */
class PickleWriter {
  private readonly parts: number[] = [];
  private readonly utf8 = new TextEncoder();
  op(code: number): this { this.parts.push(code); return this; }
  global(module: string, name: string): this {
    this.parts.push(0x63, ...this.utf8.encode(`${module}\n${name}\n`)); // GLOBAL
    return this;
  }
  str(s: string): this {
    const b = this.utf8.encode(s);
    this.parts.push(0x58, b.length & 0xff, (b.length >> 8) & 0xff, (b.length >> 16) & 0xff, b.length >>> 24, ...b); // BINUNICODE
    return this;
  }
  int(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new Error(`torch writer: integer ${v} out of range`);
    this.parts.push(0x4a, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24); // BININT
    return this;
  }
  tupleOf(values: readonly number[]): this {
    this.op(0x28); // MARK
    for (const v of values) this.int(v);
    return this.op(0x74); // TUPLE
  }
  bytes(): Uint8Array { return Uint8Array.from(this.parts); }
}

/** The bytes of a .pth file holding `tensors` (float32, int64 or int32), in the given order. */
export function writeTorch(tensors: TensorsInput, archive = 'archive'): Uint8Array {
  if (!/^[A-Za-z0-9_.-]+$/.test(archive)) throw new Error(`writeTorch: archive name "${archive}" must be a plain folder name`);
  const items = entriesOf(tensors);
  const p = new PickleWriter();
  p.op(0x80).op(2); // PROTO 2
  p.global('collections', 'OrderedDict').op(0x29).op(0x52); // OrderedDict()  (EMPTY_TUPLE, REDUCE)
  p.op(0x28); // MARK: the items
  const storages: [string, Uint8Array][] = [];
  items.forEach(([name, t], i) => {
    if (typeof name !== 'string' || name === '') throw new Error(`writeTorch: invalid tensor name ${JSON.stringify(name)}`);
    const dtype = inputDtype(t, `writeTorch: tensor '${name}'`);
    const shape = [...t.shape];
    const stride = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    const key = String(i);
    p.str(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28); // MARK: the arguments
    p.op(0x28).str('storage').global('torch', STORAGE[dtype]).str(key).str('cpu').int(t.data.length).op(0x74); // (...) TUPLE
    p.op(0x51); // BINPERSID
    p.int(0).tupleOf(shape).tupleOf(stride);
    p.op(0x89); // NEWFALSE: requires_grad
    p.global('collections', 'OrderedDict').op(0x29).op(0x52); // backward_hooks = OrderedDict()
    p.op(0x74).op(0x52); // TUPLE, REDUCE
    storages.push([`${archive}/data/${key}`, encodeLE(t.data)]);
  });
  p.op(0x75); // SETITEMS
  p.op(0x2e); // STOP
  const text = (s: string) => new TextEncoder().encode(s);
  return writeZip([
    [`${archive}/data.pkl`, p.bytes()],
    [`${archive}/byteorder`, text('little')],
    ...storages,
    [`${archive}/version`, text('3\n')],
  ]);
}
