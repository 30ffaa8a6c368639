// Loads the PyTorch reference fixtures written by scripts/make-fixtures.py (see
// test/fixtures/README.md): a JSON manifest plus one binary file of float32 little-endian tensors.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Parameters of each op's cases, exactly as the manifest stores them. */
export interface FixtureParams {
  conv2d: { n: number; c: number; h: number; w: number; k: number; kh: number; kw: number;
    stride: number; pad: number; groups: number; bias: boolean };
  batchnorm_train: { n: number; c: number; h: number; w: number; momentum: number; eps: number };
  batchnorm_eval: { n: number; c: number; h: number; w: number; momentum: number; eps: number };
  relu: { length: number };
  sigmoid: { length: number };
  add: { length: number };
  channel_scale: { n: number; c: number; h: number; w: number };
  global_avg_pool: { n: number; c: number; h: number; w: number };
  max_pool2d: { n: number; c: number; h: number; w: number; kernel: number; stride: number; pad: number };
  linear: { n: number; inF: number; outF: number; bias: boolean };
  cross_entropy: { n: number; classes: number; smoothing: number };
  sgd: { lr: number; momentum: number; weightDecay: number; nesterov: boolean; steps: number };
  adamw: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; steps: number };
}

export type FixtureOp = keyof FixtureParams;
export const FIXTURE_OPS = [
  'conv2d', 'batchnorm_train', 'batchnorm_eval', 'relu', 'sigmoid', 'add', 'channel_scale',
  'global_avg_pool', 'max_pool2d', 'linear', 'cross_entropy', 'sgd', 'adamw',
] as const satisfies readonly FixtureOp[];

export interface FixtureTensor {
  shape: number[];
  data: Float32Array;
}

export interface FixtureCase<O extends FixtureOp = FixtureOp> {
  op: O;
  name: string;
  params: FixtureParams[O];
  tensors: Record<string, FixtureTensor>;
}

/** Any case, as a union discriminated by `op` (a switch on `c.op` types `c.params`). */
export type AnyFixtureCase = { [O in FixtureOp]: FixtureCase<O> }[FixtureOp];

export interface Fixtures {
  version: number;
  /** e.g. "torch 1.13.0" */
  generator: string;
  cases: AnyFixtureCase[];
}

/** The directory holding kernels.json and kernels.bin (this file runs from dist/test/helpers/). */
export const FIXTURE_DIR = new URL('../../../test/fixtures/', import.meta.url);

interface RawTensor { shape: number[]; offset: number }
interface RawCase { op: string; name: string; params: Record<string, unknown>; tensors: Record<string, RawTensor> }

let cached: Fixtures | null = null;

/** All cases, tensors decoded. Throws with a clear message if the files are missing or broken. */
export function loadFixtures(): Fixtures {
  if (cached) return cached;
  const jsonUrl = new URL('kernels.json', FIXTURE_DIR);
  const binUrl = new URL('kernels.bin', FIXTURE_DIR);
  for (const u of [jsonUrl, binUrl]) {
    if (!existsSync(u)) {
      throw new Error(`kernel fixtures missing: ${fileURLToPath(u)} does not exist. ` +
        'Regenerate them with `npm run fixtures` (needs python3 with PyTorch), see test/fixtures/README.md.');
    }
  }
  const manifest = JSON.parse(readFileSync(jsonUrl, 'utf8')) as { version: number; generator: string; cases: RawCase[] };
  if (manifest.version !== 1) {
    throw new Error(`kernel fixtures: unsupported manifest version ${String(manifest.version)} (expected 1)`);
  }
  const bin = readFileSync(binUrl);
  if (bin.byteLength % 4 !== 0) {
    throw new Error(`kernel fixtures: kernels.bin has ${bin.byteLength} bytes, not a whole number of float32`);
  }
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const total = bin.byteLength / 4;

  const cases: AnyFixtureCase[] = manifest.cases.map((rc) => {
    if (!(FIXTURE_OPS as readonly string[]).includes(rc.op)) {
      throw new Error(`kernel fixtures: case "${rc.name}" has unknown op "${rc.op}"`);
    }
    const tensors: Record<string, FixtureTensor> = {};
    for (const [key, rt] of Object.entries(rc.tensors)) {
      const len = rt.shape.reduce((a, b) => a * b, 1);
      if (!Number.isInteger(rt.offset) || rt.offset < 0 || rt.offset + len > total) {
        throw new Error(`kernel fixtures: ${rc.op} ${rc.name}: tensor ${key} [${rt.shape.join(', ')}] at ` +
          `offset ${rt.offset} runs past the end of kernels.bin (${total} float32); regenerate the fixtures`);
      }
      const data = new Float32Array(len);
      for (let i = 0; i < len; i++) data[i] = dv.getFloat32((rt.offset + i) * 4, true);
      tensors[key] = { shape: rt.shape.slice(), data };
    }
    return { op: rc.op, name: rc.name, params: rc.params, tensors } as AnyFixtureCase;
  });
  cached = { version: manifest.version, generator: manifest.generator, cases };
  return cached;
}

/** The cases of one op, with its params typed. */
export function casesOf<O extends FixtureOp>(fx: Fixtures, op: O): FixtureCase<O>[] {
  return fx.cases.filter((c) => c.op === op) as FixtureCase<O>[];
}

/** A case's tensor by name; throws naming the case if it is missing. */
export function tensor(c: FixtureCase, name: string): FixtureTensor {
  const t = c.tensors[name];
  if (!t) {
    throw new Error(`kernel fixtures: ${c.op} ${c.name} has no tensor "${name}" ` +
      `(has: ${Object.keys(c.tensors).join(', ')})`);
  }
  return t;
}

/** Whether the case stores a tensor of that name. */
export function hasTensor(c: FixtureCase, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(c.tensors, name);
}
