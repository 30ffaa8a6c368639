// ONNX export of a RepVGG network in its deploy (fused) form, for other engines (onnxruntime,
// onnxruntime-web, anything that reads ONNX): one Conv (3x3, with bias) + Relu per block, then
// GlobalAveragePool, Flatten and Gemm, opset 13. A training-form model is exported as the deploy
// form it is equivalent to in eval mode (each block's getEquivalentKernelBias(); the model itself
// is not changed). D2se's SE blocks become GlobalAveragePool, Conv, Relu, Conv, Sigmoid, Mul.
// The file format itself is written by src/io/onnx.ts.
import { encodeOnnxModel, type OnnxDim, type OnnxGraph, type OnnxInitializer, type OnnxNode } from '../io/onnx.js';
import type { BatchNorm2d, Conv2d } from '../nn/layers.js';
import type { RepVGG } from './repvgg.js';

export interface RepVGGOnnxOptions {
  /** the batch dimension: a number, or a symbolic name (default 'batch': any batch size) */
  batch?: OnnxDim;
  /** [h, w] of the input; default symbolic ('height', 'width'): any size >= 32 */
  inputSize?: [number, number];
  /** default 'input' */
  inputName?: string;
  /** default 'logits' */
  outputName?: string;
  /** 'deploy' (default): one Conv with bias per block, the fused form (from either form of the
   *  model). 'train': the three branches as trained (Conv, BatchNormalization, then Sum), named as
   *  the official training state dict, for viewing both forms side by side (Netron); needs a
   *  training-form model. */
  form?: 'deploy' | 'train';
}

/**
 * The graph of a RepVGG network: input [batch, inChannels, h, w] (NCHW, float32) -> logits
 * [batch, numClasses]. Initializers are named as the official state dict of the form exported
 * (`stage1.0.rbr_reparam.weight` or `stage1.0.rbr_dense.conv.weight`, `linear.bias`, ...).
 */
export function repvggOnnxGraph(model: RepVGG, opts: RepVGGOnnxOptions = {}): OnnxGraph {
  const inputName = opts.inputName ?? 'input';
  const outputName = opts.outputName ?? 'logits';
  const batch = opts.batch ?? 'batch';
  const [h, w]: OnnxDim[] = opts.inputSize ?? ['height', 'width'];
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  const form = opts.form ?? 'deploy';
  if (form !== 'deploy' && form !== 'train') throw new TypeError(`onnx: form must be 'deploy' or 'train', got ${JSON.stringify(form)}`);
  if (form === 'train' && model.deploy) {
    throw new Error('onnx: form \'train\' needs a training-form model (this one is re-parameterized): export it with form \'deploy\'');
  }
  let cur = inputName;
  const convAttrs = (ks: number, pad: number, stride: number, groups: number) => [
    { name: 'kernel_shape', type: 'ints' as const, value: [ks, ks] },
    { name: 'pads', type: 'ints' as const, value: [pad, pad, pad, pad] },
    { name: 'strides', type: 'ints' as const, value: [stride, stride] },
    { name: 'dilations', type: 'ints' as const, value: [1, 1] },
    { name: 'group', type: 'int' as const, value: groups },
  ];
  /** BatchNormalization (eval) of `input` with the BN's parameters, named `${prefix}.{weight,...}`. */
  const batchNorm = (bn: BatchNorm2d, prefix: string, input: string, output: string) => {
    const c = bn.numFeatures;
    for (const [field, t] of [['weight', bn.weight.value], ['bias', bn.bias.value], ['running_mean', bn.runningMean], ['running_var', bn.runningVar]] as const) {
      initializers.push({ name: `${prefix}.${field}`, dims: [c], data: t.toFloat32Array() });
    }
    nodes.push({
      opType: 'BatchNormalization', name: prefix,
      inputs: [input, `${prefix}.weight`, `${prefix}.bias`, `${prefix}.running_mean`, `${prefix}.running_var`],
      outputs: [output], attributes: [{ name: 'epsilon', type: 'float', value: bn.eps }],
    });
  };
  model.blocks.forEach((block, i) => {
    const name = model.blockNames[i];
    const { inChannels: c, outChannels: k, stride, groups } = block.cfg;
    if (form === 'deploy') {
      const { kernel, bias } = block.getEquivalentKernelBias();
      initializers.push({ name: `${name}.rbr_reparam.weight`, dims: [k, c / groups, 3, 3], data: kernel });
      initializers.push({ name: `${name}.rbr_reparam.bias`, dims: [k], data: bias });
      nodes.push({
        opType: 'Conv', name: `${name}.rbr_reparam`, inputs: [cur, `${name}.rbr_reparam.weight`, `${name}.rbr_reparam.bias`],
        outputs: [`${name}.conv`], attributes: convAttrs(3, 1, stride, groups),
      });
    } else {
      // The three branches as trained: each conv's output goes through its BN, then all are summed.
      const branches: string[] = [];
      for (const [branch, seq, ks, pad] of [['rbr_dense', block.rbrDense!, 3, 1], ['rbr_1x1', block.rbr1x1!, 1, 0]] as const) {
        const conv = seq.at(0) as Conv2d;
        const p = `${name}.${branch}`;
        initializers.push({ name: `${p}.conv.weight`, dims: [k, c / groups, ks, ks], data: conv.weight.value.toFloat32Array() });
        nodes.push({ opType: 'Conv', name: `${p}.conv`, inputs: [cur, `${p}.conv.weight`], outputs: [`${p}.conv.out`],
          attributes: convAttrs(ks, pad, stride, groups) });
        batchNorm(seq.at(1) as BatchNorm2d, `${p}.bn`, `${p}.conv.out`, `${p}.out`);
        branches.push(`${p}.out`);
      }
      if (block.rbrIdentity) {
        batchNorm(block.rbrIdentity, `${name}.rbr_identity`, cur, `${name}.rbr_identity.out`);
        branches.push(`${name}.rbr_identity.out`);
      }
      nodes.push({ opType: 'Sum', name: `${name}.sum`, inputs: branches, outputs: [`${name}.conv`] });
    }
    let pre = `${name}.conv`;
    if (block.se) {
      const se = block.se;
      const internal = se.down.weight.value.shape[0];
      for (const [part, conv, cin, cout] of [['down', se.down, k, internal], ['up', se.up, internal, k]] as const) {
        initializers.push({ name: `${name}.se.${part}.weight`, dims: [cout, cin, 1, 1], data: conv.weight.value.toFloat32Array() });
        initializers.push({ name: `${name}.se.${part}.bias`, dims: [cout], data: conv.bias!.value.toFloat32Array() });
      }
      const p = `${name}.se`;
      nodes.push({ opType: 'GlobalAveragePool', name: `${p}.pool`, inputs: [pre], outputs: [`${p}.pooled`] });
      nodes.push({ opType: 'Conv', name: `${p}.down`, inputs: [`${p}.pooled`, `${p}.down.weight`, `${p}.down.bias`], outputs: [`${p}.h`],
        attributes: [{ name: 'kernel_shape', type: 'ints', value: [1, 1] }] });
      nodes.push({ opType: 'Relu', name: `${p}.relu`, inputs: [`${p}.h`], outputs: [`${p}.hr`] });
      nodes.push({ opType: 'Conv', name: `${p}.up`, inputs: [`${p}.hr`, `${p}.up.weight`, `${p}.up.bias`], outputs: [`${p}.u`],
        attributes: [{ name: 'kernel_shape', type: 'ints', value: [1, 1] }] });
      nodes.push({ opType: 'Sigmoid', name: `${p}.sigmoid`, inputs: [`${p}.u`], outputs: [`${p}.s`] });
      nodes.push({ opType: 'Mul', name: `${p}.scale`, inputs: [pre, `${p}.s`], outputs: [`${p}.out`] });
      pre = `${p}.out`;
    }
    nodes.push({ opType: 'Relu', name: `${name}.relu`, inputs: [pre], outputs: [`${name}.out`] });
    cur = `${name}.out`;
  });
  nodes.push({ opType: 'GlobalAveragePool', name: 'gap', inputs: [cur], outputs: ['gap.out'] });
  nodes.push({ opType: 'Flatten', name: 'flatten', inputs: ['gap.out'], outputs: ['flatten.out'], attributes: [{ name: 'axis', type: 'int', value: 1 }] });
  const lin = model.linear;
  const [classes, features] = lin.weight.value.shape;
  initializers.push({ name: 'linear.weight', dims: [classes, features], data: lin.weight.value.toFloat32Array() });
  initializers.push({ name: 'linear.bias', dims: [classes], data: lin.bias.value.toFloat32Array() });
  nodes.push({
    opType: 'Gemm', name: 'linear', inputs: ['flatten.out', 'linear.weight', 'linear.bias'], outputs: [outputName],
    attributes: [{ name: 'alpha', type: 'float', value: 1 }, { name: 'beta', type: 'float', value: 1 }, { name: 'transB', type: 'int', value: 1 }],
  });
  return {
    name: 'repvgg',
    nodes,
    initializers,
    inputs: [{ name: inputName, shape: [batch, model.config.inChannels, h, w] }],
    outputs: [{ name: outputName, shape: [batch, classes] }],
    docString: `RepVGG ${form === 'deploy' ? 'deploy' : 'training'} form exported by repvgg-wasm: input NCHW float32, output logits`,
  };
}

/**
 * The bytes of a .onnx file holding `model`'s deploy form (see repvggOnnxGraph): opset 13, any
 * batch size and input size unless `opts` fixes them.
 */
export function exportOnnx(model: RepVGG, opts: RepVGGOnnxOptions = {}): Uint8Array {
  return encodeOnnxModel(repvggOnnxGraph(model, opts));
}
