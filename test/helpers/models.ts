// Shared by the model tests (repvgg, reparam, state-dict and the ONNX export's): the fixtures of
// scripts/make-model-fixtures.py (see test/fixtures/models/README.md), the small model's
// configuration, random BN statistics, and eval-mode logits.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BatchNorm2d } from '../../src/nn/layers.js';
import type { Module } from '../../src/nn/module.js';
import type { RepVGG, RepVGGConfig } from '../../src/models/repvgg.js';
import { Tensor } from '../../src/tensor.js';
import { Rng } from './random.js';

/** test/fixtures/models/ (this file runs from dist/test/helpers/). */
export const MODEL_FIXTURES = new URL('../../../test/fixtures/models/', import.meta.url);

export function modelFixtureBytes(name: string): Uint8Array {
  const url = new URL(name, MODEL_FIXTURES);
  if (!existsSync(url)) {
    throw new Error(`model fixture missing: ${fileURLToPath(url)}; regenerate with /usr/bin/python3 scripts/make-model-fixtures.py`);
  }
  const b = readFileSync(url);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export interface FormCounts { train: number; deploy: number }

export interface ModelManifest {
  version: number;
  generator: string;
  /** variant -> classes ("1000", "10") -> parameter counts */
  counts: Record<string, Record<string, FormCounts>>;
  /** variant -> form -> [name, shape][] in PyTorch's state_dict order (1000 classes) */
  state_dict_keys: Record<string, { train: [string, number[]][]; deploy: [string, number[]][] }>;
  small: {
    config: { num_blocks: number[]; width_multiplier: number[]; override_groups_map: Record<string, number>;
      use_se: boolean; num_classes: number };
    num_batches_tracked: number;
    train_labels: number[];
    train_loss: number;
    grad_names: string[];
    running_names: string[];
    tensors: Record<string, { shape: number[]; offset: number }>;
  };
}

let manifest: ModelManifest | null = null;
let bin: Float32Array | null = null;

export function modelManifest(): ModelManifest {
  if (!manifest) {
    manifest = JSON.parse(new TextDecoder().decode(modelFixtureBytes('models.json'))) as ModelManifest;
    if (manifest.version !== 1) throw new Error(`models.json: unsupported version ${manifest.version}`);
  }
  return manifest;
}

/** A tensor of small.bin by its manifest name ('eval.x', 'grad.stage0.rbr_dense.conv.weight', ...). */
export function smallTensor(name: string): { shape: number[]; data: Float32Array } {
  const m = modelManifest().small.tensors[name];
  if (!m) throw new Error(`small.bin has no tensor "${name}"`);
  if (!bin) {
    const bytes = modelFixtureBytes('small.bin');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    bin = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < bin.length; i++) bin[i] = dv.getFloat32(i * 4, true);
  }
  const n = m.shape.reduce((a, d) => a * d, 1);
  if (m.offset + n > bin.length) throw new Error(`small.bin: tensor "${name}" runs past the end; regenerate the fixtures`);
  return { shape: m.shape, data: bin.slice(m.offset, m.offset + n) };
}

/** The small model's configuration, in this library's names. */
export function smallConfig(): RepVGGConfig {
  const c = modelManifest().small.config;
  return {
    numBlocks: c.num_blocks as RepVGGConfig['numBlocks'],
    widthMultiplier: c.width_multiplier as RepVGGConfig['widthMultiplier'],
    overrideGroupsMap: Object.fromEntries(Object.entries(c.override_groups_map).map(([k, g]) => [Number(k), g])),
    useSE: c.use_se,
    numClasses: c.num_classes,
  };
}

/** Random non-trivial BN statistics and affine parameters: running_mean ~ N(0, 0.1), running_var ~
 *  U(0.5, 2), weight ~ U(0.5, 1.5), bias ~ N(0, 0.1). (BN at its initial values is nearly the
 *  identity, and a fused model would match the multi-branch one even with the BN folding wrong.) */
export function randomizeBatchNorms(model: Module, seed: number): void {
  const rng = new Rng(seed);
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const c = m.numFeatures;
    // One array at a time, each written right after it is drawn (a view stays valid: no allocation between).
    m.runningMean.data.set(rng.normals(c, 0.1));
    m.runningVar.data.set(rng.uniforms(c, 0.5, 2));
    m.weight.value.data.set(rng.uniforms(c, 0.5, 1.5));
    m.bias.value.data.set(rng.normals(c, 0.1));
  }
}

/** Float32 copy of a random N(0, 1) input. */
export function randomInput(shape: number[], seed: number): Float32Array {
  return new Rng(seed).normals(shape.reduce((a, d) => a * d, 1));
}

/** The model's logits for `x` in eval mode, copied out (everything allocated is disposed). */
export function evalLogits(model: RepVGG, x: { shape: number[]; data: Float32Array }): Float32Array {
  model.eval();
  const xt = Tensor.from(model.backend, x.data, x.shape);
  const y = model.forward(xt);
  const out = y.toFloat32Array();
  y.dispose();
  xt.dispose();
  return out;
}
