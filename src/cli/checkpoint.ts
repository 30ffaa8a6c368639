// Reading checkpoints and building the model they fit, shared by `convert` and `predict`.
import type { Backend } from '../backend.js';
import { detectTensorFormat, readTensorFile, type TensorFileFormat } from '../io/index.js';
import { ReadLimitError, type ReadLimits } from '../io/limits.js';
import { readFileBytes } from '../io/node.js';
import { stripWrapperPrefixes } from '../io/prefixes.js';
import type { FileTensor } from '../io/types.js';
import { configFromWeights } from '../models/config-from-weights.js';
import { fromPaddle } from '../models/paddle.js';
import { REPVGG_VARIANTS, RepVGG, planBlocks, type RepVGGConfig } from '../models/repvgg.js';
import { StateDictError, detectForm, loadStateDict } from '../models/state-dict.js';
import type { CommandSpec } from './args.js';
import { explainReadLimit } from './limit-flags.js';

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
}

/** Why a reader refused a file, for the command `spec`: a limit's message names the flag that raises it. */
export function readError(e: unknown, spec: CommandSpec): string {
  return e instanceof ReadLimitError ? explainReadLimit(e, spec) : (e as Error).message;
}

/** Reads a torch (.pt/.pth) or safetensors checkpoint holding a RepVGG state dict, within `limits`
 *  (from the --max-* flags of `spec`, the command reading it). */
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
  // A Paddle state dict: Paddle's names and layouts become PyTorch's, then it loads like any other.
  const tensors = file.format === 'pdparams' ? fromPaddle(file.tensors, notes) : file.tensors;
  // The torch reader strips wrappers' prefixes itself; safetensors files get the same here.
  const stripped = stripWrapperPrefixes([...tensors], notes);
  tensors.clear();
  for (const [k, v] of stripped) tensors.set(k, v);
  const form = detectForm(tensors.keys());
  if (form === null) {
    const keys = [...tensors.keys()];
    const mixed = keys.some((k) => k.includes('rbr_reparam.'));
    throw new CliError(mixed
      ? `${path} mixes training-form (rbr_dense, rbr_1x1) and deploy-form (rbr_reparam) keys: a partly converted model is not supported`
      : `${path} does not hold a RepVGG state dict (no rbr_dense, rbr_1x1 or rbr_reparam keys); its ${keys.length} keys start ` +
        `${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''}`);
  }
  const lw = tensors.get('linear.weight');
  return { path, format, bytes: bytes.length, tensors, notes, form, numClasses: lw && lw.shape.length === 2 ? lw.shape[0] : null };
}

/** The official variant whose shapes the checkpoint has (either form), or null. Used for hints. */
export function guessArch(tensors: ReadonlyMap<string, FileTensor>): string | null {
  for (const [name, preset] of Object.entries(REPVGG_VARIANTS)) {
    const plan = planBlocks({ ...preset });
    const fits = plan.every((b) => {
      const w = tensors.get(`${b.name}.rbr_dense.conv.weight`) ?? tensors.get(`${b.name}.rbr_reparam.weight`);
      return w !== undefined && w.shape.length === 4 && w.shape[0] === b.outChannels && w.shape[1] === b.inChannels / b.groups;
    });
    const stages = new Set([...tensors.keys()].map((k) => /^(stage\d\.\d+)\./.exec(k)?.[1]).filter(Boolean));
    if (fits && stages.size === plan.length - 1 && (tensors.has('stage0.se.down.weight') === (preset.useSE ?? false))) return name;
  }
  return null;
}

/** The input channels of the checkpoint's first convolution (3 for images when it has none). */
export function inChannelsOf(ck: Checkpoint): number {
  const w = ck.tensors.get('stage0.rbr_dense.conv.weight') ?? ck.tensors.get('stage0.rbr_reparam.weight');
  return w && w.shape.length === 4 ? w.shape[1] : 3;
}

/**
 * The architecture to build: `arch` (an official variant) or, when null, the one the checkpoint's
 * shapes describe (custom networks included, e.g. one trained in the browser demo), with its name
 * for messages.
 */
export function architectureOf(arch: string | null, ck: Checkpoint): { name: string; preset: RepVGGConfig } {
  if (arch !== null) return { name: `RepVGG-${arch}`, preset: { ...REPVGG_VARIANTS[arch], inChannels: inChannelsOf(ck) } };
  let found;
  try {
    found = configFromWeights(ck.tensors);
  } catch (e) {
    throw new CliError(`cannot tell the architecture of ${ck.path}: ${(e as Error).message.replace(/^configFromWeights: /, '')}; pass --arch`);
  }
  const c = found.config;
  const groups = Object.entries(c.overrideGroupsMap ?? {}).map(([k, g]) => `${k}:${g}`).join(',');
  const name = found.variant ? `RepVGG-${found.variant}` : `custom RepVGG (blocks ${c.numBlocks.join(',')}, ` +
    `widths ${c.widthMultiplier.join(',')}${groups ? `, groups ${groups}` : ''}${c.useSE ? ', SE' : ''})`;
  const { numBlocks, widthMultiplier, overrideGroupsMap, useSE, inChannels } = c;
  return { name, preset: { numBlocks, widthMultiplier, overrideGroupsMap, useSE, inChannels } };
}

/**
 * Builds `arch` (an official variant, or null: read from the checkpoint; or `config`, a custom
 * network given on the command line) in the checkpoint's form
 * and loads it strictly. Mismatches become a CliError naming the architecture and listing the
 * missing, unexpected and mis-shaped keys.
 */
export function loadModel(backend: Backend, arch: string | null, numClasses: number, ck: Checkpoint,
  config?: RepVGGConfig): RepVGG {
  // A custom network given on the command line (repvgg bench --blocks ...) is built as given.
  const { name, preset } = config ? { name: `RepVGG ${arch ?? 'custom'}`, preset: config } : architectureOf(arch, ck);
  // init: false skips the random initialisation: every value is loaded next (strictly).
  const model = new RepVGG(backend, { ...preset, numClasses, deploy: ck.form === 'deploy', init: false });
  try {
    loadStateDict(model, ck.tensors, { strict: true });
  } catch (e) {
    model.dispose();
    if (!(e instanceof StateDictError)) throw new CliError(`cannot load ${ck.path}: ${(e as Error).message}`);
    const guess = guessArch(ck.tensors);
    const hint = guess && guess !== arch ? `\n  hint: the checkpoint's shapes are those of RepVGG-${guess} (--arch ${guess})` : '';
    const form = ck.form === 'train' ? 'training' : 'deploy';
    throw new CliError(`${ck.path} (${form} form) does not fit ${name} with ${numClasses} classes:` +
      `${e.message.replace(/^the state dict does not fit this model:/, '')}${hint}`);
  }
  return model;
}

/** The class count: --classes if given, else the checkpoint's linear.weight rows, else an error. */
export function classesOf(given: number | undefined, ck: Checkpoint): number {
  if (given !== undefined) return given;
  if (ck.numClasses === null) throw new CliError(`${ck.path} has no 2-d linear.weight to take the number of classes from: pass --classes N`);
  return ck.numClasses;
}

