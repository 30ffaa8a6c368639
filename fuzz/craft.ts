// Writers for hand-made files: pickles opcode by opcode, torch checkpoints (zip and legacy), ZIP
// archives with stored or deflated entries, .npy and safetensors with any header. Used by the
// seeds, the hostile files (./hostile.ts) and the tests, to build what no honest writer would.
import { crc32 as zlibCrc32, deflateRawSync } from 'node:zlib';

/** A pickle, written opcode by opcode (protocol 2, as torch.save writes). */
export class Pickle {
  // One growing buffer: floods of a million opcodes are built in milliseconds.
  private buf = new Uint8Array(1024);
  private length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  raw(...bytes: (number | Uint8Array)[]): this {
    for (const b of bytes) {
      if (typeof b === 'number') {
        this.reserve(1);
        this.buf[this.length++] = b;
      } else {
        this.reserve(b.length);
        this.buf.set(b, this.length);
        this.length += b.length;
      }
    }
    return this;
  }

  proto(v = 2): this { return this.raw(0x80, v); }
  stop(): this { return this.raw(0x2e); }
  mark(): this { return this.raw(0x28); }
  none(): this { return this.raw(0x4e); }
  bool(v: boolean): this { return this.raw(v ? 0x88 : 0x89); }
  tuple(): this { return this.raw(0x74); }
  emptyTuple(): this { return this.raw(0x29); }
  emptyDict(): this { return this.raw(0x7d); }
  emptyList(): this { return this.raw(0x5d); }
  setItems(): this { return this.raw(0x75); }
  appends(): this { return this.raw(0x65); }
  reduce(): this { return this.raw(0x52); }
  binPersId(): this { return this.raw(0x51); }
  build(): this { return this.raw(0x62); }

  /** GLOBAL: 'c' module '\n' name '\n' (names may contain anything but a newline). */
  global(module: string, name: string): this {
    return this.raw(0x63, latin1(`${module}\n${name}\n`));
  }

  str(s: string): this {
    const b = new TextEncoder().encode(s);
    const h = new Uint8Array(5);
    h[0] = 0x58; // BINUNICODE
    new DataView(h.buffer).setUint32(1, b.length, true);
    return this.raw(h, b);
  }

  /** BININT for 32-bit values, LONG1 beyond. */
  int(v: number | bigint): this {
    if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) {
      const h = new Uint8Array(5);
      h[0] = 0x4a;
      new DataView(h.buffer).setInt32(1, v, true);
      return this.raw(h);
    }
    let x = BigInt(v);
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      const sign = bytes[bytes.length - 1] & 0x80;
      if ((x === 0n && !sign) || (x === -1n && sign)) break;
    }
    return this.raw(0x8a, bytes.length, Uint8Array.from(bytes));
  }

  /** BINFLOAT (big-endian float64): 1.5, NaN, ... where a file should have an integer. */
  float(v: number): this {
    const h = new Uint8Array(9);
    h[0] = 0x47;
    new DataView(h.buffer).setFloat64(1, v, false);
    return this.raw(h);
  }

  /** An int when the value is one, else a float: lets a test write 1.5 or NaN as an offset. */
  num(v: number): this {
    return Number.isSafeInteger(v) ? this.int(v) : this.float(v);
  }

  /** A tuple of ints (a size or stride). */
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export interface TensorSpec {
  key: string;
  storage?: string; // storage class name, default FloatStorage
  numel: number; // of the storage
  offset?: number;
  size: number[];
  stride?: number[];
  /** Legacy only: (view_key, offset, size), each written as given (numbers may be floats). */
  view?: [string, number, number];
}

/** Contiguous strides of a shape. */
export function contiguous(size: readonly number[]): number[] {
  const s = new Array<number>(size.length);
  for (let d = size.length - 1, k = 1; d >= 0; d--) {
    s[d] = k;
    k *= size[d];
  }
  return s;
}

/** Writes _rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict()). */
export function pickleTensor(p: Pickle, t: TensorSpec, legacy: boolean): Pickle {
  p.global('torch._utils', '_rebuild_tensor_v2').mark();
  p.mark().str('storage').global('torch', t.storage ?? 'FloatStorage').str(t.key).str('cpu').int(t.numel);
  if (legacy) {
    if (t.view) p.mark().str(t.view[0]).num(t.view[1]).num(t.view[2]).tuple();
    else p.none();
  }
  p.tuple().binPersId();
  p.int(t.offset ?? 0).ints(t.size).ints(t.stride ?? contiguous(t.size)).bool(false);
  p.global('collections', 'OrderedDict').emptyTuple().reduce();
  return p.tuple().reduce();
}

/** A state dict pickle: {name: tensor, ...}. */
export function stateDictPickle(tensors: readonly [string, TensorSpec][], legacy = false): Uint8Array {
  const p = new Pickle().proto().emptyDict().mark();
  for (const [name, t] of tensors) pickleTensor(p.str(name), t, legacy);
  return p.setItems().stop().bytes();
}

export interface ZipEntrySpec {
  name: string;
  data: Uint8Array;
  deflate?: boolean;
  /** A ready deflate stream, its inflated size and CRC-32 (for bombs too large to hold inflated). */
  deflated?: { bytes: Uint8Array; size: number; crc: number };
}

/** A ZIP archive (no ZIP64): stored or deflated entries with correct sizes and CRCs. */
export function makeZipArchive(entries: readonly ZipEntrySpec[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const method = e.deflate || e.deflated ? 8 : 0;
    const body = e.deflated ? e.deflated.bytes : e.deflate ? deflateRawSync(e.data) : e.data;
    const size = e.deflated ? e.deflated.size : e.data.length;
    const crc = e.deflated ? e.deflated.crc : zlibCrc32(e.data) >>> 0;
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const c = new Uint8Array(46 + name.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    c.set(name, 46);
    parts.push(local, body);
    central.push(c);
    offset += local.length + body.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  return concat([...parts, ...central, eocd]);
}

/** A torch.save zip checkpoint: archive/data.pkl, archive/data/<key>..., archive/version. */
export function torchZip(pickle: Uint8Array, storages: readonly ZipEntrySpec[], deflatePickle = false): Uint8Array {
  return makeZipArchive([
    { name: 'archive/data.pkl', data: pickle, deflate: deflatePickle },
    ...storages.map((s) => ({ ...s, name: `archive/data/${s.name}` })),
    { name: 'archive/version', data: latin1('3\n') },
  ]);
}

/** A legacy (pre-1.6) torch file: magic, protocol, sys info, the object, the keys, the storages. */
export function torchLegacy(object: Uint8Array, storages: readonly { key: string; count: number; data: Uint8Array }[]): Uint8Array {
  const magic = new Pickle().proto().int(0x1950a86a20f9469cfc6cn).stop().bytes();
  const version = new Pickle().proto().int(1001).stop().bytes();
  const sys = new Pickle().proto().emptyDict().mark().str('protocol_version').int(1001)
    .str('little_endian').bool(true).setItems().stop().bytes();
  const keys = new Pickle().proto().emptyList().mark();
  for (const s of storages) keys.str(s.key);
  const parts = [magic, version, sys, object, keys.appends().stop().bytes()];
  for (const s of storages) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigUint64(0, BigInt(s.count), true);
    parts.push(count, s.data);
  }
  return concat(parts);
}

/** An .npy file (version 1.0) with any header text, padded like NumPy pads it. */
export function npyWithHeader(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const prelude = version === 1 ? 10 : 12;
  const total = Math.ceil((prelude + header.length + 1) / 64) * 64;
  const text = header + ' '.repeat(total - prelude - header.length - 1) + '\n';
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, text.length, true);
  else dv.setUint32(8, text.length, true);
  out.set(latin1(text), prelude);
  out.set(data, total);
  return out;
}

/** A safetensors file with any header object (serialized as given) and data section. */
export function safetensorsWithHeader(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** An IDX file of unsigned bytes. */
export function idxFile(dims: readonly number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 8, dims.length]);
  const dv = new DataView(out.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

export function latin1(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The little-endian bytes of float32 values. */
export function f32(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
