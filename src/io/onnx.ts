// The ONNX file format: a graph (nodes, initializers, inputs and outputs) encoded as a ModelProto.
// The graph of a RepVGG network is built in src/models/onnx.ts; this file only writes the format.
//
// A small protobuf encoder: no dependency, runs in browsers. Only
// the messages and fields ONNX needs are written: ModelProto, GraphProto, NodeProto,
// AttributeProto, TensorProto (float32, raw_data), ValueInfoProto/TypeProto/TensorShapeProto and
// OperatorSetIdProto. Field numbers follow onnx/onnx.proto (a proto2 file: repeated scalars are
// written unpacked, as onnx's own writer does).
import { encodeLE } from './bytes.js';

/** The opset the exported graph declares. */
export const ONNX_OPSET = 13;
/** IR version 7 (ONNX 1.8): the first that goes with opset 13. */
export const ONNX_IR_VERSION = 7;

// ---- a graph description, independent of the model ----

export type OnnxAttributeValue = number | number[] | string;

export interface OnnxAttribute {
  name: string;
  /** 'int' and 'ints' are int64; 'float' is float32 */
  type: 'int' | 'ints' | 'float' | 'string';
  value: OnnxAttributeValue;
}

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: OnnxAttribute[];
}

/** A float32 initializer (weights), stored as raw little-endian bytes. */
export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** A dimension is a size or a symbolic name ('batch'). */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  /** float32 only */
  shape: OnnxDim[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModelInfo {
  producerName?: string;
  producerVersion?: string;
  opset?: number;
  irVersion?: number;
}

// ---- protobuf wire format ----

const WIRE_VARINT = 0;
const WIRE_I32 = 5;
const WIRE_LEN = 2;
const utf8 = new TextEncoder();

/** Accumulates the fields of one message; nested messages are encoded first, then embedded. */
class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private bytes: number[] = [];
  private size = 0;

  private flushBytes(): void {
    if (this.bytes.length === 0) return;
    this.chunks.push(Uint8Array.from(this.bytes));
    this.size += this.bytes.length;
    this.bytes = [];
  }

  private varint(v: number | bigint): void {
    let x = BigInt.asUintN(64, BigInt(v)); // negatives: two's complement, 10 bytes, as protobuf does
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      let n = v;
      while (n >= 0x80) { this.bytes.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
      this.bytes.push(n);
      return;
    }
    while (x >= 0x80n) { this.bytes.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
    this.bytes.push(Number(x));
  }

  private tag(field: number, wire: number): void { this.varint(field * 8 + wire); }

  int(field: number, v: number): this {
    if (!Number.isInteger(v)) throw new TypeError(`onnx: field ${field} must be an integer, got ${v}`);
    this.tag(field, WIRE_VARINT);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes.push(...b);
    return this;
  }

  raw(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.flushBytes();
    this.chunks.push(data);
    this.size += data.length;
    return this;
  }

  string(field: number, s: string): this { return this.raw(field, utf8.encode(s)); }
  message(field: number, m: ProtoWriter): this { return this.raw(field, m.finish()); }

  finish(): Uint8Array {
    this.flushBytes();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const c of this.chunks) { out.set(c, o); o += c.length; }
    this.chunks = [out];
    return out;
  }
}

// ONNX enums (onnx.proto)
const TENSOR_FLOAT = 1;
const ATTR = { float: 1, int: 2, string: 3, ints: 7 } as const;

function tensorProto(t: OnnxInitializer): ProtoWriter {
  const size = t.dims.reduce((a, d) => a * d, 1);
  if (size !== t.data.length) {
    throw new RangeError(`onnx: initializer ${t.name} has ${t.data.length} values but dims [${t.dims.join(',')}] need ${size}`);
  }
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d); // dims
  w.int(2, TENSOR_FLOAT); // data_type
  w.string(8, t.name); // name
  w.raw(9, encodeLE(t.data)); // raw_data
  return w;
}

function attributeProto(a: OnnxAttribute): ProtoWriter {
  const w = new ProtoWriter().string(1, a.name);
  switch (a.type) {
    case 'float': w.float(2, a.value as number); break;
    case 'int': w.int(3, a.value as number); break;
    case 'string': w.string(4, a.value as string); break;
    case 'ints': for (const v of a.value as number[]) w.int(8, v); break;
    default: throw new Error(`onnx: attribute type ${String((a as OnnxAttribute).type)} is not supported`);
  }
  return w.int(20, ATTR[a.type]); // type
}

function nodeProto(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, attributeProto(a));
  return w;
}

function valueInfoProto(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d); // dim_value
    else dim.string(2, d); // dim_param
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, TENSOR_FLOAT).message(2, shape); // elem_type, shape
  const type = new ProtoWriter().message(1, tensorType); // TypeProto.tensor_type
  return new ProtoWriter().string(1, v.name).message(2, type);
}

/** Encodes a graph as an ONNX ModelProto (the bytes of a .onnx file). */
export function encodeOnnxModel(graph: OnnxGraph, info: OnnxModelInfo = {}): Uint8Array {
  const g = new ProtoWriter();
  for (const n of graph.nodes) g.message(1, nodeProto(n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, tensorProto(t));
  if (graph.docString) g.string(10, graph.docString);
  for (const v of graph.inputs) g.message(11, valueInfoProto(v));
  for (const v of graph.outputs) g.message(12, valueInfoProto(v));
  const m = new ProtoWriter();
  m.int(1, info.irVersion ?? ONNX_IR_VERSION);
  m.string(2, info.producerName ?? 'repvgg-wasm');
  m.string(3, info.producerVersion ?? '0.1.0');
  m.message(7, g);
  m.message(8, new ProtoWriter().string(1, '').int(2, info.opset ?? ONNX_OPSET)); // opset_import: default domain
  return m.finish();
}
