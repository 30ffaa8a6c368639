// ONNX export (src/io/onnx.ts). No ONNX runtime is needed here: the bytes are decoded by the small
// protobuf reader below (field numbers from onnx/onnx.proto), the structure is checked field by
// field, and the decoded graph is run by a tiny interpreter built on this library's ops, whose
// logits must match the model's own eval forward (TOL_NETWORK, 1e-4: a whole network's tolerance).
// `npm run bench:peers` loads the same export in onnxruntime (node and web) as well.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/backends/create.js';
import { createRepVGG, RepVGG } from '../src/models/repvgg.js';
import { encodeOnnxModel, ONNX_OPSET } from '../src/io/index.js';
import { exportOnnx } from '../src/models/onnx.js';
import { addInPlace, batchNormEval, conv2d, globalAvgPool, linear, relu, sigmoid, channelScale } from '../src/ops/index.js';
import { Tensor } from '../src/tensor.js';
import { relErr, TOL_NETWORK } from './helpers/compare.js';
import { randomInput, randomizeBatchNorms } from './helpers/models.js';

// ---- a protobuf reader: field number -> values (varints as bigint, I32 as bytes, LEN as bytes) ----

type Field = bigint | Uint8Array;
type Msg = Map<number, Field[]>;

function decode(buf: Uint8Array): Msg {
  const out: Msg = new Map();
  let p = 0;
  const varint = (): bigint => {
    let r = 0n, shift = 0n;
    for (;;) {
      const b = buf[p++];
      if (b === undefined) throw new Error('truncated varint');
      r |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
      shift += 7n;
    }
  };
  while (p < buf.length) {
    const key = Number(varint());
    const field = key >> 3;
    const wire = key & 7;
    let v: Field;
    if (wire === 0) v = varint();
    else if (wire === 2) { const n = Number(varint()); v = buf.subarray(p, p + n); p += n; if (p > buf.length) throw new Error('truncated field'); }
    else if (wire === 5) { v = buf.subarray(p, p + 4); p += 4; }
    else if (wire === 1) { v = buf.subarray(p, p + 8); p += 8; }
    else throw new Error(`unexpected wire type ${wire}`);
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(v);
  }
  return out;
}
const str = (f: Field | undefined) => new TextDecoder().decode(f as Uint8Array);
const num = (f: Field | undefined) => Number(BigInt.asIntN(64, f as bigint));
const all = (m: Msg, f: number) => m.get(f) ?? [];
const one = (m: Msg, f: number) => m.get(f)?.[0];

interface DecodedNode { op: string; name: string; inputs: string[]; outputs: string[]; attrs: Map<string, { type: number; i?: number; ints?: number[]; f?: number }> }
interface Decoded {
  irVersion: number; producer: string; opset: { domain: string; version: number }[];
  nodes: DecodedNode[]; inits: Map<string, { dims: number[]; dataType: number; data: Float32Array }>;
  inputs: { name: string; dims: (number | string)[] }[]; outputs: { name: string; dims: (number | string)[] }[];
}

function valueInfo(b: Field): { name: string; dims: (number | string)[] } {
  const v = decode(b as Uint8Array);
  const tensorType = decode(one(decode(one(v, 2) as Uint8Array), 1) as Uint8Array);
  assert.is(num(one(tensorType, 1)), 1, 'elem_type FLOAT');
  const shape = decode(one(tensorType, 2) as Uint8Array);
  const dims = all(shape, 1).map((d) => {
    const dm = decode(d as Uint8Array);
    return dm.has(1) ? num(one(dm, 1)) : str(one(dm, 2));
  });
  return { name: str(one(v, 1)), dims };
}

function decodeModel(bytes: Uint8Array): Decoded {
  const m = decode(bytes);
  const g = decode(one(m, 7) as Uint8Array);
  const nodes = all(g, 1).map((nb) => {
    const n = decode(nb as Uint8Array);
    const attrs = new Map<string, { type: number; i?: number; ints?: number[]; f?: number }>();
    for (const ab of all(n, 5)) {
      const a = decode(ab as Uint8Array);
      const f = one(a, 2) as Uint8Array | undefined;
      attrs.set(str(one(a, 1)), {
        type: num(one(a, 20)), i: a.has(3) ? num(one(a, 3)) : undefined, ints: all(a, 8).map(num),
        f: f ? new DataView(f.buffer, f.byteOffset, 4).getFloat32(0, true) : undefined,
      });
    }
    return { op: str(one(n, 4)), name: str(one(n, 3)), inputs: all(n, 1).map(str), outputs: all(n, 2).map(str), attrs };
  });
  const inits = new Map<string, { dims: number[]; dataType: number; data: Float32Array }>();
  for (const tb of all(g, 5)) {
    const t = decode(tb as Uint8Array);
    const raw = one(t, 9) as Uint8Array;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const data = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < data.length; i++) data[i] = dv.getFloat32(i * 4, true);
    inits.set(str(one(t, 8)), { dims: all(t, 1).map(num), dataType: num(one(t, 2)), data });
  }
  return {
    irVersion: num(one(m, 1)), producer: str(one(m, 2)),
    opset: all(m, 8).map((o) => { const d = decode(o as Uint8Array); return { domain: d.has(1) ? str(one(d, 1)) : '', version: num(one(d, 2)) }; }),
    nodes, inits, inputs: all(g, 11).map(valueInfo), outputs: all(g, 12).map(valueInfo),
  };
}

// ---- a tiny interpreter for the ops the exporter writes ----

function runGraph(d: Decoded, backend: Tensor['backend'], x: Tensor): Float32Array {
  const values = new Map<string, Tensor>([[d.inputs[0].name, x]]);
  const owned: Tensor[] = [];
  const get = (name: string): Tensor => {
    if (values.has(name)) return values.get(name)!;
    const init = d.inits.get(name);
    if (!init) throw new Error(`graph reads ${name}, which nothing defines`);
    const t = Tensor.from(backend, init.data, init.dims);
    owned.push(t);
    values.set(name, t);
    return t;
  };
  for (const n of d.nodes) {
    let y: Tensor;
    if (n.op === 'Conv') {
      const a = n.attrs;
      const pads = a.get('pads')?.ints ?? [0, 0, 0, 0];
      assert.equal(pads.slice(0, 2), pads.slice(2), `${n.name}: symmetric pads`);
      y = conv2d(get(n.inputs[0]), get(n.inputs[1]), n.inputs[2] ? get(n.inputs[2]) : null,
        { stride: (a.get('strides')?.ints ?? [1, 1]) as [number, number], padding: pads.slice(0, 2) as [number, number], groups: a.get('group')?.i ?? 1 });
    } else if (n.op === 'BatchNormalization') {
      const [xin, weight, bias, runningMean, runningVar] = n.inputs.map(get);
      y = batchNormEval(xin, { weight, bias, runningMean, runningVar }, { eps: n.attrs.get('epsilon')!.f });
    } else if (n.op === 'Sum') {
      y = Tensor.from(backend, get(n.inputs[0]).toFloat32Array(), get(n.inputs[0]).shape);
      for (const other of n.inputs.slice(1)) addInPlace(y, get(other));
    } else if (n.op === 'Relu') y = relu(get(n.inputs[0]));
    else if (n.op === 'Sigmoid') y = sigmoid(get(n.inputs[0]));
    else if (n.op === 'GlobalAveragePool') {
      const src = get(n.inputs[0]);
      const p = globalAvgPool(src); // [n, c]
      y = Tensor.from(backend, p.toFloat32Array(), [src.shape[0], src.shape[1], 1, 1]);
      p.dispose();
    } else if (n.op === 'Mul') {
      const s = get(n.inputs[1]);
      const s2 = Tensor.from(backend, s.toFloat32Array(), [s.shape[0], s.shape[1]]);
      y = channelScale(get(n.inputs[0]), s2);
      s2.dispose();
    } else if (n.op === 'Flatten') {
      const src = get(n.inputs[0]);
      y = Tensor.from(backend, src.toFloat32Array(), [src.shape[0], src.size / src.shape[0]]);
    } else if (n.op === 'Gemm') {
      assert.is(n.attrs.get('transB')?.i, 1, 'Gemm transB=1');
      y = linear(get(n.inputs[0]), get(n.inputs[1]), get(n.inputs[2]));
    } else throw new Error(`unexpected op ${n.op}`);
    owned.push(y);
    values.set(n.outputs[0], y);
  }
  const out = values.get(d.outputs[0].name)!.toFloat32Array();
  for (const t of owned) t.dispose();
  return out;
}

// ---- tests ----

test('A0: structure of the exported model (opset 13, one Conv+Relu per block, deploy weights)', async () => {
  const backend = await createBackend('wasm-simd');
  const model = createRepVGG(backend, 'A0', { numClasses: 10, seed: 3 });
  model.eval();
  const d = decodeModel(exportOnnx(model));
  assert.is(d.irVersion, 7);
  assert.is(d.producer, 'repvgg-wasm');
  assert.equal(d.opset, [{ domain: '', version: ONNX_OPSET }]);
  assert.equal(d.inputs, [{ name: 'input', dims: ['batch', 3, 'height', 'width'] }]);
  assert.equal(d.outputs, [{ name: 'logits', dims: ['batch', 10] }]);
  const ops = d.nodes.map((n) => n.op);
  assert.equal(ops, [...Array.from({ length: 22 }, () => ['Conv', 'Relu']).flat(), 'GlobalAveragePool', 'Flatten', 'Gemm']);
  const first = d.nodes[0];
  assert.is(first.name, 'stage0.rbr_reparam');
  assert.equal(first.inputs, ['input', 'stage0.rbr_reparam.weight', 'stage0.rbr_reparam.bias']);
  assert.equal(first.attrs.get('pads')!.ints, [1, 1, 1, 1]);
  assert.equal(first.attrs.get('strides')!.ints, [2, 2]);
  assert.equal(first.attrs.get('kernel_shape')!.ints, [3, 3]);
  assert.is(first.attrs.get('group')!.i, 1);
  assert.is(first.attrs.get('pads')!.type, 7, 'INTS');
  assert.is(first.attrs.get('group')!.type, 2, 'INT');
  assert.equal(d.nodes[4].attrs.get('strides')!.ints, [1, 1], 'stage1.1 stride 1');
  assert.is(d.nodes[d.nodes.length - 1].attrs.get('alpha')!.f, 1);
  // 22 blocks x (weight, bias) + linear weight and bias; deploy parameter count of A0 with 10 classes.
  assert.is(d.inits.size, 46);
  const total = [...d.inits.values()].reduce((a, t) => a + t.data.length, 0);
  assert.is(total, 7_041_194);
  const w = d.inits.get('stage1.0.rbr_reparam.weight')!;
  assert.equal(w.dims, [48, 48, 3, 3]);
  assert.is(w.dataType, 1);
  assert.equal(w.data, model.blocks[1].getEquivalentKernelBias().kernel, 'the equivalent (fused) kernel, bit for bit');
  assert.equal(d.inits.get('linear.weight')!.dims, [10, 1280]);
  model.dispose();
});

test('small model with SE and groups: the decoded graph computes the model\'s logits (both forms)', async () => {
  const backend = await createBackend('wasm-simd');
  const model = new RepVGG(backend, {
    numBlocks: [1, 2, 1, 1], widthMultiplier: [0.25, 0.25, 0.5, 0.5], overrideGroupsMap: { 2: 2 }, useSE: true, numClasses: 7, seed: 5,
  });
  randomizeBatchNorms(model, 11);
  model.eval();
  const x = Tensor.from(backend, randomInput([2, 3, 40, 48], 4), [2, 3, 40, 48]);
  const ref = model.forward(x);
  const expected = ref.toFloat32Array();
  ref.dispose();
  const d = decodeModel(exportOnnx(model, { batch: 2, inputSize: [40, 48] }));
  assert.equal(d.inputs[0].dims, [2, 3, 40, 48]);
  assert.ok(d.nodes.some((n) => n.op === 'Sigmoid') && d.nodes.some((n) => n.op === 'Mul'), 'SE nodes');
  assert.is(d.nodes.find((n) => n.name === 'stage2.0.rbr_reparam')!.attrs.get('group')!.i, 2);
  const fromTraining = runGraph(d, backend, x);
  const err = relErr(fromTraining, expected);
  assert.ok(err <= TOL_NETWORK, `training-form export vs model: ${err.toExponential(2)}`);
  model.switchToDeploy();
  const again = runGraph(decodeModel(exportOnnx(model)), backend, x);
  assert.ok(relErr(again, expected) <= TOL_NETWORK, 'deploy-form export vs model');
  x.dispose();
  model.dispose();
});

test('training form: three branches (Conv, BatchNormalization, Sum) named as the official training state dict, the same logits', async () => {
  const backend = await createBackend('wasm-simd');
  const model = new RepVGG(backend, {
    numBlocks: [1, 2, 1, 1], widthMultiplier: [0.25, 0.25, 0.5, 0.5], overrideGroupsMap: { 2: 2 }, useSE: true, numClasses: 5, seed: 8,
  });
  randomizeBatchNorms(model, 3);
  model.eval();
  const x = Tensor.from(backend, randomInput([2, 3, 32, 32], 6), [2, 3, 32, 32]);
  const ref = model.forward(x);
  const expected = ref.toFloat32Array();
  ref.dispose();
  const d = decodeModel(exportOnnx(model, { form: 'train' }));
  const names = [...d.inits.keys()];
  for (const key of ['stage0.rbr_dense.conv.weight', 'stage0.rbr_1x1.bn.running_var', 'stage2.1.rbr_identity.weight', 'stage2.1.rbr_identity.running_mean']) {
    assert.ok(names.includes(key), `initializer ${key}`);
  }
  assert.not.ok(names.some((k) => k.includes('rbr_reparam')), 'no fused kernels in the training form');
  const sums = d.nodes.filter((n) => n.op === 'Sum');
  assert.is(sums.length, model.blocks.length, 'one Sum per block');
  assert.is(sums.find((n) => n.name === 'stage2.1.sum')!.inputs.length, 3, 'a block with the identity branch sums three');
  assert.is(sums.find((n) => n.name === 'stage2.0.sum')!.inputs.length, 2, 'a strided block sums two');
  const got = runGraph(d, backend, x);
  assert.ok(relErr(got, expected) <= TOL_NETWORK, `training-form graph vs model: ${relErr(got, expected).toExponential(2)}`);
  model.switchToDeploy();
  assert.throws(() => exportOnnx(model, { form: 'train' }), /needs a training-form model/);
  x.dispose();
  model.dispose();
});

test('encoder: unpacked repeated ints, negative ints, float attributes and messages that fit the graph', () => {
  const bytes = encodeOnnxModel({
    name: 'g', nodes: [{ opType: 'Flatten', name: 'f', inputs: ['x'], outputs: ['y'], attributes: [
      { name: 'axis', type: 'int', value: -1 }, { name: 'ints', type: 'ints', value: [0, 300, 2 ** 40] }, { name: 'f', type: 'float', value: 0.5 },
    ] }],
    initializers: [{ name: 'w', dims: [2], data: Float32Array.of(1.5, -2) }],
    inputs: [{ name: 'x', shape: ['n', 4] }], outputs: [{ name: 'y', shape: ['n', 4] }],
  });
  const d = decodeModel(bytes);
  const a = d.nodes[0].attrs;
  assert.is(a.get('axis')!.i, -1);
  assert.equal(a.get('ints')!.ints, [0, 300, 2 ** 40]);
  assert.is(a.get('f')!.f, 0.5);
  assert.equal([...d.inits.get('w')!.data], [1.5, -2]);
  assert.throws(() => encodeOnnxModel({ name: 'g', nodes: [], initializers: [{ name: 'w', dims: [3], data: new Float32Array(2) }], inputs: [], outputs: [] }),
    /initializer w has 2 values but dims \[3\] need 3/);
});

test.run();
