// The training-step fixture of scripts/make-train-fixtures.py (test/fixtures/train/) and the
// runner that takes its steps: a small grouped RepVGG, loaded from PyTorch's weights (non-trivial
// BN parameters and statistics), takes two training steps on two fixed batches (BN in training
// mode, learning rate changed between the steps), exactly as train() takes them, and every tensor
// of its state dict is compared with PyTorch's after each step. PyTorch computed in float64 from
// the same float32 values: the errors are ours. Used by optimizer.test.ts and custom-l2.test.ts.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import type { Backend } from '../../src/backend.js';
import { readSafetensors } from '../../src/io/index.js';
import type { FileTensor } from '../../src/io/types.js';
import { RepVGG, type RepVGGConfig } from '../../src/models/repvgg.js';
import { loadStateDict, stateDict } from '../../src/models/state-dict.js';
import { softmaxCrossEntropy } from '../../src/ops/index.js';
import { Tensor } from '../../src/tensor.js';
import { applyCustomL2, customL2NoDecay } from '../../src/train/custom-l2.js';
import { Optimizer, officialNoDecay } from '../../src/train/optimizer.js';
import { relErr } from './compare.js';
import { TOL_LOSS, TOL_STATE } from './tolerances.js';

export interface CaseSpec {
  optimizer: 'sgd' | 'adamw';
  lr: [number, number];
  weight_decay: number;
  momentum?: number;
  nesterov?: boolean;
  betas?: [number, number];
  eps?: number;
  label_smoothing: number;
  custom_l2: boolean;
  loss: [number, number];
  no_decay: string[];
}

interface Manifest {
  version: number;
  generator: string;
  config: { num_blocks: number[]; width_multiplier: number[]; override_groups_map: Record<string, number>;
    num_classes: number; in_channels: number };
  batches: number;
  cases: Record<string, CaseSpec>;
}

/** test/fixtures/train/train.safetensors (this file runs from dist/test/helpers/). */
const FIXTURE = new URL('../../../test/fixtures/train/train.safetensors', import.meta.url);

function loadFixture(): { tensors: Map<string, FileTensor>; manifest: Manifest } {
  if (!existsSync(FIXTURE)) {
    throw new Error(`training fixture missing: ${fileURLToPath(FIXTURE)}; regenerate with /usr/bin/python3 scripts/make-train-fixtures.py`);
  }
  const b = readFileSync(FIXTURE);
  const file = readSafetensors(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  const manifest = JSON.parse(file.metadata.manifest) as Manifest;
  if (manifest.version !== 1) throw new Error(`train.safetensors: unsupported manifest version ${manifest.version}`);
  return { tensors: file.tensors, manifest };
}

const { tensors: FIX, manifest } = loadFixture();
export const MANIFEST = manifest;

export function withPrefix(prefix: string): Map<string, FileTensor> {
  const out = new Map<string, FileTensor>();
  for (const [k, t] of FIX) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), t);
  if (out.size === 0) throw new Error(`train.safetensors has no tensors under "${prefix}"`);
  return out;
}

function fixtureTensor(name: string): FileTensor {
  const t = FIX.get(name);
  if (!t) throw new Error(`train.safetensors has no tensor "${name}"`);
  return t;
}

export const CONFIG: RepVGGConfig = {
  numBlocks: MANIFEST.config.num_blocks as RepVGGConfig['numBlocks'],
  widthMultiplier: MANIFEST.config.width_multiplier as RepVGGConfig['widthMultiplier'],
  overrideGroupsMap: Object.fromEntries(Object.entries(MANIFEST.config.override_groups_map).map(([k, g]) => [Number(k), g])),
  numClasses: MANIFEST.config.num_classes,
  inChannels: MANIFEST.config.in_channels,
};

export const INIT = withPrefix('init.');
export const BATCHES = [0, 1].map((i) => {
  const x = fixtureTensor(`batch${i}.x`);
  const y = fixtureTensor(`batch${i}.y`);
  if (x.dtype !== 'float32' || y.dtype !== 'int64') throw new Error(`batch${i}: unexpected dtypes ${x.dtype}, ${y.dtype}`);
  return { x: x.data, shape: x.shape, labels: Int32Array.from(y.data, (v) => Number(v)) };
});

/** The worst errors seen, by kind, for the summary a test file prints at its end. */
export class WorstErrors {
  private readonly worst = new Map<string, { err: number; where: string }>();
  note(kind: string, err: number, where: string): void {
    const w = this.worst.get(kind);
    if (!w || err > w.err) this.worst.set(kind, { err, where });
  }
  print(title: string): void {
    const lines = [...this.worst].sort(([a], [b]) => a.localeCompare(b))
      .map(([k, { err, where }]) => `  ${k}: max relative error ${err.toExponential(2)} (${where})`);
    console.log(`${title}: worst errors against PyTorch\n${lines.join('\n')}`);
  }
}

export interface StepErrors { state: number; update: number; failures: string[] }

/** The spacing of float32 values at |x| (one unit in the last place). */
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);
function ulp32(x: number): number {
  f32[0] = Math.abs(x);
  const a = f32[0];
  i32[0] += 1;
  return f32[0] - a;
}

/**
 * Every tensor of our state dict against PyTorch's after a step, two ways, each failure naming the
 * tensor:
 * - the values: ||ours - ref|| / ||ref|| <= TOL_STATE (1e-4);
 * - the step's change itself: ||(ours - before) - (ref - before)|| / ||ref - before|| <= TOL_STATE +
 *   floor. This is the check that sees the weight decay: with lr 0.1 and wd 1e-4 (SGD) or lr 1e-3
 *   and wd 0.05 (AdamW) decay moves a weight by 1e-5 to 5e-5 of itself, under the values'
 *   tolerance, but by 1e-3 and more of the update (the wrong-grouping test of optimizer.test.ts
 *   shows both fail then). `floor` is what float32 storage alone allows: each side rounds its result to float32
 *   `roundings` times per step (1 for SGD, p -= lr u; 2 for AdamW, p *= 1 - lr wd then p -= ...),
 *   so two exact implementations can differ by that many ulps of the result per element:
 *   floor = roundings * ||ulp(ref)|| / ||ref - before||. It matters only where the update is a few
 *   thousand ulps, as AdamW's 5e-4 steps on BN weights near 1 (floor 5e-4 to 6e-4, measured errors
 *   there ~2e-4, about one ulp per element); for SGD's larger steps it stays under 4e-5. A wrong
 *   decay grouping gives 3e-3 (SGD) and 0.2 (AdamW).
 */
function stepErrors(model: RepVGG, ref: Map<string, FileTensor>, before: Map<string, FileTensor>, what: string,
  kind: string | null, roundings: number, worst: WorstErrors): StepErrors {
  const ours = stateDict(model);
  assert.equal([...ours.keys()].sort(), [...ref.keys()].sort(), `${what}: state dict keys`);
  const out: StepErrors = { state: 0, update: 0, failures: [] };
  for (const [key, r] of ref) {
    const o = ours.get(key)!;
    if (r.dtype === 'int64') {
      if (o.dtype !== 'int64' || o.data[0] !== r.data[0]) out.failures.push(`${key}: ${String(o.data[0])} vs PyTorch ${String(r.data[0])}`);
      continue;
    }
    const isStat = key.endsWith('running_mean') || key.endsWith('running_var');
    const rd = r.data as Float32Array;
    const err = relErr(o.data as Float32Array, rd);
    const b = before.get(key)!.data as Float32Array;
    const dOurs = Float64Array.from(o.data as Float32Array, (v, i) => v - b[i]);
    const dRef = Float64Array.from(rd, (v, i) => v - b[i]);
    const updateErr = relErr(dOurs, dRef);
    let ulps = 0, change = 0;
    for (let i = 0; i < rd.length; i++) {
      ulps += ulp32(rd[i]) ** 2;
      change += dRef[i] ** 2;
    }
    const floor = isStat ? 0 : roundings * Math.sqrt(ulps) / Math.max(Math.sqrt(change), 1e-30);
    if (kind !== null) {
      worst.note(`${kind} ${isStat ? 'running stats' : 'parameters'}`, err, `${what} ${key}`);
      worst.note(`${kind} ${isStat ? 'running-stat changes' : 'parameter updates'}`, updateErr,
        `${what} ${key}${floor > 1e-6 ? `; float32 floor ${floor.toExponential(2)}` : ''}`);
    }
    out.state = Math.max(out.state, err);
    out.update = Math.max(out.update, updateErr);
    if (!(err <= TOL_STATE)) out.failures.push(`${key}: relative error ${err.toExponential(3)} > ${TOL_STATE}`);
    if (!(updateErr <= TOL_STATE + floor)) {
      out.failures.push(`${key}: the step's change has relative error ${updateErr.toExponential(3)} > ${TOL_STATE} + float32 floor ${floor.toExponential(3)}`);
    }
  }
  return out;
}

export interface Override {
  /** replaces the case's no-decay rule (to show that a wrong grouping is caught) */
  noDecay: (name: string) => boolean;
}

/** The two steps of one fixture case, exactly as train() takes them. Asserts unless `override`
 *  is given; returns the worst errors (and notes them in `worst`). */
export function runCase(backend: Backend, name: string, worst: WorstErrors, override?: Override): StepErrors {
  const spec = MANIFEST.cases[name];
  const model = new RepVGG(backend, { ...CONFIG, init: false });
  loadStateDict(model, INIT); // strict: every key of PyTorch's state dict, nothing else
  model.train();
  const params = model.namedParameters();
  const optimizer = new Optimizer(params, {
    kind: spec.optimizer, weightDecay: spec.weight_decay, momentum: spec.momentum, nesterov: spec.nesterov,
    beta1: spec.betas?.[0], beta2: spec.betas?.[1], eps: spec.eps,
    noDecay: override?.noDecay ?? (spec.custom_l2 ? customL2NoDecay : officialNoDecay),
  });
  // The same grouping as PyTorch's parameter groups.
  if (!override) assert.equal(params.map(([n]) => n).filter((n) => !optimizer.decays(n)), spec.no_decay, `${name}: parameters without weight decay`);
  const kind = override ? null : `${backend.name} ${spec.optimizer}${spec.custom_l2 ? ' custom L2' : ''}`;
  const total: StepErrors = { state: 0, update: 0, failures: [] };
  try {
    for (let step = 0; step < 2; step++) {
      const what = `${backend.name} ${name} step ${step + 1}`;
      const batch = BATCHES[step];
      const x = Tensor.from(backend, batch.x, batch.shape);
      const logits = model.forward(x);
      const { loss, dlogits } = softmaxCrossEntropy(logits, batch.labels, { labelSmoothing: spec.label_smoothing });
      logits.dispose();
      model.backward(dlogits)?.dispose();
      dlogits.dispose();
      x.dispose();
      const penalty = spec.custom_l2 ? applyCustomL2(model, spec.weight_decay) : 0;
      optimizer.step(spec.lr[step]);
      model.zeroGrad();
      const e = stepErrors(model, withPrefix(`${name}.step${step + 1}.`), step === 0 ? INIT : withPrefix(`${name}.step1.`), what, kind,
        spec.optimizer === 'adamw' ? 2 : 1, worst);
      total.state = Math.max(total.state, e.state);
      total.update = Math.max(total.update, e.update);
      if (override) continue;
      const lossTotal = loss + penalty;
      const lossErr = Math.abs(lossTotal - spec.loss[step]) / Math.abs(spec.loss[step]);
      worst.note(`${backend.name} loss${spec.label_smoothing > 0 ? ' (label smoothing)' : ''}${spec.custom_l2 ? ' (custom L2)' : ''}`, lossErr, what);
      assert.ok(lossErr <= TOL_LOSS, `${what}: loss ${lossTotal} vs PyTorch ${spec.loss[step]} (relative error ${lossErr.toExponential(3)} > ${TOL_LOSS})`);
      assert.ok(e.failures.length === 0, `${what}: ${e.failures.length} check(s) differ from PyTorch:\n  ${e.failures.join('\n  ')}`);
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return total;
}
