// Reading checkpoints and building the model they fit, shared by the commands that read weights
// (convert, predict, info, export, features, bench).
//
// A file written by this library says what model it holds (models/metadata.ts): the architecture,
// input channels and size, classes and their names, preprocessing. Such a file needs no --arch.
// Files from elsewhere (the official PyTorch checkpoints, a Paddle port's) take --arch, or without
// it the architecture read off their weights (configFromWeights); what they do not say is assumed
// (ImageNet's preprocessing, and its class names for 1000 classes) and reported as notes.
import type { Backend } from '../backend.js';
import { IMAGENET_CLASSES } from '../image/imagenet-classes.js';
import { detectTensorFormat, readTensorFile, type TensorFileFormat } from '../io/index.js';
import { ReadLimitError, type ReadLimits } from '../io/limits.js';
import { readFileBytes } from '../io/node.js';
import { stripWrapperPrefixes } from '../io/prefixes.js';
import type { FileTensor } from '../io/types.js';
import { configFromWeights } from '../models/config-from-weights.js';
import {
  ModelMetadataError, archName, configOf, describeModel, imagenetPreprocessing, readModelMetadata, type ModelMetadata,
} from '../models/metadata.js';
import { fromPaddle } from '../models/paddle.js';
import { REPVGG_VARIANTS, RepVGG, planBlocks, type RepVGGConfig } from '../models/repvgg.js';
import { StateDictError, detectForm, loadStateDict } from '../models/state-dict.js';
import { summarize } from '../models/summary.js';
import type { CommandSpec } from './args.js';
import { explainReadLimit } from './limit-flags.js';
import type { ArchChoice, ArchPreset } from './model-args.js';

/** A failure the user can fix (bad file, wrong architecture): printed as a message, exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** The bytes of a file, with fs errors turned into one-line messages naming the path. */
export async function readInputFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFileBytes(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory'
      : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new CliError(`cannot read ${what} ${path}: ${why}`);
  }
}

export interface Checkpoint {
  path: string;
  format: TensorFileFormat;
  bytes: number;
  tensors: Map<string, FileTensor>;
  /** what the reader did (entry used, prefixes stripped, ...) */
  notes: string[];
  /** from the keys: rbr_reparam -> 'deploy', rbr_dense / rbr_1x1 -> 'train' */
  form: 'train' | 'deploy';
  /** linear.weight's first dimension, when present */
  numClasses: number | null;
  /** stage0's weight's second dimension (the image channels), when present */
  inChannels: number | null;
  /** what the file says about its model; null for a file without (not written by this library) */
  metadata: ModelMetadata | null;
}

/** Why a reader refused a file, for the command `spec`: a limit's message names the flag that raises it. */
export function readError(e: unknown, spec: CommandSpec): string {
  return e instanceof ReadLimitError ? explainReadLimit(e, spec) : (e as Error).message;
}

/** Reads a torch (.pt/.pth), Paddle (.pdparams) or safetensors checkpoint holding a RepVGG state
 *  dict (or a training checkpoint of `repvgg train`, whose model.* tensors are used), within
 *  `limits` (from the --max-* flags of `spec`, the command reading it). */
export async function readCheckpoint(path: string, limits: ReadLimits, spec: CommandSpec): Promise<Checkpoint> {
  const bytes = await readInputFile(path, 'checkpoint');
  const format = detectTensorFormat(bytes);
  if (format === 'npy') throw new CliError(`${path} is an .npy array, not a checkpoint (expected a torch .pt or a .safetensors file)`);
  if (format === null) {
    throw new CliError(`${path} is not a checkpoint: neither a PyTorch file (.pt/.pth, zip or legacy), a Paddle .pdparams nor a safetensors file` +
      (bytes.length === 0 ? ' (the file is empty)' : ''));
  }
  let file;
  try {
    file = readTensorFile(bytes, limits);
  } catch (e) {
    throw new CliError(`cannot read checkpoint ${path}: ${readError(e, spec)}`);
  }
  const { notes } = file;
  let metadata: ModelMetadata | null;
  try {
    metadata = readModelMetadata(file.metadata, `${path}: model metadata`);
  } catch (e) {
    if (e instanceof ModelMetadataError) throw new CliError(e.message);
    throw e;
  }
  // A Paddle state dict: Paddle's names and layouts become PyTorch's, then it loads like any other.
  const tensors = file.format === 'pdparams' ? fromPaddle(file.tensors, notes) : file.tensors;
  // A training checkpoint of `repvgg train`: the model is under model.*, the optimizer apart.
  const keys = [...tensors.keys()];
  if (Object.hasOwn(file.metadata, 'trainer') && keys.some((k) => k.startsWith('model.'))) {
    const model = new Map(keys.filter((k) => k.startsWith('model.')).map((k) => [k.slice('model.'.length), tensors.get(k)!]));
    tensors.clear();
    for (const [k, v] of model) tensors.set(k, v);
    notes.push(`a training checkpoint of repvgg train: using its ${model.size} model tensors (the optimizer state is left out)`);
  }
  // The torch reader strips wrappers' prefixes itself; safetensors files get the same here.
  const stripped = stripWrapperPrefixes([...tensors], notes);
  tensors.clear();
  for (const [k, v] of stripped) tensors.set(k, v);
  const form = detectForm(tensors.keys());
  if (form === null) {
    const all = [...tensors.keys()];
    const mixed = all.some((k) => k.includes('rbr_reparam.'));
    throw new CliError(mixed
      ? `${path} mixes training-form (rbr_dense, rbr_1x1) and deploy-form (rbr_reparam) keys: a partly converted model is not supported`
      : `${path} does not hold a RepVGG state dict (no rbr_dense, rbr_1x1 or rbr_reparam keys); its ${all.length} keys start ` +
        `${all.slice(0, 5).join(', ')}${all.length > 5 ? ', ...' : ''}`);
  }
  const lw = tensors.get('linear.weight');
  return {
    path, format, bytes: bytes.length, tensors, notes, form, metadata,
    numClasses: lw && lw.shape.length === 2 ? lw.shape[0] : null,
    inChannels: inputChannels(tensors),
  };
}

/** stage0's weight's second dimension (the image channels), when present. */
function inputChannels(tensors: ReadonlyMap<string, FileTensor>): number | null {
  const w0 = tensors.get('stage0.rbr_dense.conv.weight') ?? tensors.get('stage0.rbr_reparam.weight');
  return w0 && w0.shape.length === 4 ? w0.shape[1] : null;
}

/** The official variant whose shapes the checkpoint has (either form), or null. Used for hints. */
export function guessArch(tensors: ReadonlyMap<string, FileTensor>): string | null {
  const inChannels = inputChannels(tensors) ?? 3;
  for (const [name, preset] of Object.entries(REPVGG_VARIANTS)) {
    const plan = planBlocks({ ...preset, inChannels });
    const fits = plan.every((b) => {
      const w = tensors.get(`${b.name}.rbr_dense.conv.weight`) ?? tensors.get(`${b.name}.rbr_reparam.weight`);
      return w !== undefined && w.shape.length === 4 && w.shape[0] === b.outChannels && w.shape[1] === b.inChannels / b.groups;
    });
    const stages = new Set([...tensors.keys()].map((k) => /^(stage\d\.\d+)\./.exec(k)?.[1]).filter(Boolean));
    if (fits && stages.size === plan.length - 1 && (tensors.has('stage0.se.down.weight') === (preset.useSE ?? false))) return name;
  }
  return null;
}

/** The model a command builds for a checkpoint. */
export interface ResolvedModel {
  /** 'A0', ... or 'custom' */
  name: string;
  /** with numClasses and inChannels */
  config: RepVGGConfig;
  /** the file's metadata, or what is assumed for a file without (see `assumed`) */
  metadata: ModelMetadata;
  /** what was assumed because the file does not say it (notes for stderr); [] with metadata */
  assumed: string[];
}

function sameArch(a: ArchPreset, m: ModelMetadata): boolean {
  const b = describeModel({ ...a, numClasses: m.numClasses, inChannels: m.inChannels }, { inputSize: m.inputSize });
  return JSON.stringify([b.numBlocks, b.widthMultiplier, b.overrideGroupsMap, b.useSE]) ===
    JSON.stringify([m.numBlocks, m.widthMultiplier, m.overrideGroupsMap, m.useSE]);
}

/** The architecture a file without metadata has, read off its weights (configFromWeights). */
function architectureFromWeights(ck: Checkpoint): { name: string; preset: ArchPreset } {
  let found;
  try {
    found = configFromWeights(ck.tensors);
  } catch (e) {
    const guess = guessArch(ck.tensors);
    throw new CliError(`${ck.path} does not say what model it holds (it has no repvgg-wasm metadata) and its architecture ` +
      `cannot be read off its weights (${(e as Error).message.replace(/^configFromWeights: /, '')}): pass --arch` +
      (guess ? ` (its shapes are those of RepVGG-${guess}: --arch ${guess})` : ' (an official variant, or custom with --blocks and --widths)'));
  }
  const { numBlocks, widthMultiplier, overrideGroupsMap, useSE } = found.config;
  return { name: found.variant ?? 'custom', preset: { numBlocks, widthMultiplier, overrideGroupsMap, useSE } };
}

/**
 * The model for `ck`: the file's metadata decides; --arch and --classes, when given, must agree
 * with it. Without metadata, the architecture is --arch's or, without --arch (or with `--arch
 * custom` alone), the one read off the weights; the classes come from --classes or linear.weight,
 * the input channels from stage0's weight.
 */
export function resolveModel(ck: Checkpoint, arch: ArchChoice | null, classes: number | undefined): ResolvedModel {
  const m = ck.metadata;
  if (m) {
    if (arch && arch.preset && !sameArch(arch.preset, m)) {
      throw new CliError(`--arch ${arch.name === 'custom' ? 'custom (with --blocks/--widths)' : arch.name} does not match ${ck.path}: ` +
        `its metadata says ${m.arch === 'custom' ? 'a custom RepVGG' : `RepVGG-${m.arch}`} (leave --arch out: the file says what it is)`);
    }
    if (classes !== undefined && classes !== m.numClasses) {
      throw new CliError(`--classes ${classes} does not match ${ck.path}: its metadata says ${m.numClasses} classes`);
    }
    return { name: m.arch, config: configOf(m), metadata: m, assumed: [] };
  }
  // No metadata: --arch (with --blocks/--widths for a custom network), else the architecture read
  // off the weights' keys and shapes (custom networks included, e.g. one trained in the browser demo).
  const { name, preset } = arch?.preset ? { name: arch.name, preset: arch.preset } : architectureFromWeights(ck);
  const numClasses = classesOf(classes, ck);
  const inChannels = ck.inChannels ?? 3;
  const assumed: string[] = [];
  const imagenet = inChannels === 3;
  if (imagenet) assumed.push("no repvgg-wasm metadata: assuming ImageNet's preprocessing (resize 256, center crop 224, ImageNet mean/std)");
  if (imagenet && numClasses === 1000) assumed.push('no repvgg-wasm metadata: assuming the 1000 ImageNet class names');
  const config = { ...preset, numClasses, inChannels };
  const metadata = describeModel(config, {
    inputSize: [224, 224],
    classNames: imagenet && numClasses === 1000 ? IMAGENET_CLASSES : null,
    preprocessing: imagenet ? imagenetPreprocessing() : null,
  });
  return { name, config, metadata, assumed };
}

/** Values of the state dict (num_batches_tracked counters left out). */
function valueCount(tensors: ReadonlyMap<string, FileTensor>): number {
  let n = 0;
  for (const [k, t] of tensors) if (!k.endsWith('num_batches_tracked')) n += t.data.length;
  return n;
}

/**
 * Builds the resolved model in the checkpoint's form and loads it strictly. Mismatches become a
 * CliError naming the architecture and listing the missing, unexpected and mis-shaped keys.
 */
export function loadModel(backend: Backend, model: ResolvedModel, ck: Checkpoint): RepVGG {
  const form = ck.form === 'train' ? 'training' : 'deploy';
  const title = model.name === 'custom' ? 'the custom RepVGG' : archName(model.metadata);
  const numClasses = model.config.numClasses ?? 1000;
  // The model is allocated before the strict load compares it with the file: metadata (or flags)
  // describing a network far larger than the file's values is refused first, so a small hostile
  // file cannot make us allocate gigabytes. Mismatches short of that get the strict load's list.
  const s = summarize(model.config, { inputSize: [32, 32] }).totals;
  const want = ck.form === 'train' ? s.params.train + s.buffers.train : s.params.deploy + s.buffers.deploy;
  const have = valueCount(ck.tensors);
  if (want > 2 * have + 1_000_000) {
    throw new CliError(`${ck.path} (${form} form) does not fit ${title} with ${numClasses} classes: ` +
      `the model has ${want} values, the file ${have}`);
  }
  // init: false skips the random initialisation: every value is loaded next (strictly).
  const net = new RepVGG(backend, { ...model.config, deploy: ck.form === 'deploy', init: false });
  try {
    loadStateDict(net, ck.tensors, { strict: true });
  } catch (e) {
    net.dispose();
    if (!(e instanceof StateDictError)) throw new CliError(`cannot load ${ck.path}: ${(e as Error).message}`);
    const guess = guessArch(ck.tensors);
    const hint = guess && guess !== model.name ? `\n  hint: the checkpoint's shapes are those of RepVGG-${guess} (--arch ${guess})` : '';
    throw new CliError(`${ck.path} (${form} form) does not fit ${title} with ${numClasses} classes:` +
      `${e.message.replace(/^the state dict does not fit this model:/, '')}${hint}`);
  }
  return net;
}

/** The class count: --classes if given, else the checkpoint's linear.weight rows, else an error. */
export function classesOf(given: number | undefined, ck: Checkpoint): number {
  if (given !== undefined) return given;
  if (ck.numClasses === null) throw new CliError(`${ck.path} has no 2-d linear.weight to take the number of classes from: pass --classes N`);
  return ck.numClasses;
}

