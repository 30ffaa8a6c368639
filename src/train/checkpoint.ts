// Training checkpoints: model and optimizer state plus the run's progress in one safetensors file,
// written atomically after each epoch, from which a run resumes exactly. Nothing non-finite is
// ever written: a diverged state stops the run and the previous checkpoint stays the good one.
import { readFileBytes, readSafetensors, removeStaleTempFiles, writeFileAtomic, writeSafetensors } from '../io/index.js';
import type { FileTensor } from '../io/types.js';
import { metadataEntries, type ModelMetadata } from '../models/metadata.js';
import type { RepVGG } from '../models/repvgg.js';
import { loadStateDict, stateDict } from '../models/state-dict.js';
import type { Optimizer } from './optimizer.js';
import type { EpochRecord, TrainOptions } from './train.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const FORMAT = 'repvgg-wasm-checkpoint-1';

/** Everything a checkpoint's metadata holds besides the tensors. */
export interface Progress {
  epoch: number;
  steps: number;
  history: EpochRecord[];
  /** the options in force now (after any change made on a resume) */
  options: RunOptions;
  /** options changed on a resume, each with the epoch it took effect from */
  changes: OptionChange[];
}

export interface OptionChange {
  /** 0-based: the first epoch run with the new value */
  epoch: number;
  option: string;
  was: unknown;
  now: unknown;
}

/** Options a resumed run cannot change: the model and its optimizer state, the data, and what
 *  sizes the schedule and the data order. The others (learning rate, decay, ...) may change; the
 *  change is recorded in the checkpoint and in metrics.json. */
const FIXED_ON_RESUME = ['model', 'optimizer', 'data', 'batchSize', 'seed', 'epochs'];

/** The options that decide what a run computes (not where it writes, nor how it saves memory). */
export type RunOptions = Omit<TrainOptions, 'outDir' | 'resume' | 'gradientCheckpointing' | 'modelInfo'>;

/** The options recorded and compared on resume. modelInfo (class names, preprocessing) is in the
 *  files' model metadata instead: a thousand class names have no place in metrics.json. */
export function runOptions(opts: TrainOptions): RunOptions {
  const { outDir: _o, resume: _r, gradientCheckpointing: _g, modelInfo: _m, ...rest } = opts;
  return rest;
}

export class NonFiniteStateError extends Error {
  constructor(readonly epoch: number, readonly tensor: string, readonly count: number, readonly checkpoint: string | null) {
    super(`training stopped after epoch ${epoch + 1}: ${tensor} holds ${count} NaN/Inf values (learning rate too high?); ` +
      (checkpoint ? `the last good checkpoint is kept at ${checkpoint}` : 'nothing was written'));
    this.name = 'NonFiniteStateError';
  }
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

export function pathIn(outDir: string, name: string): string {
  return joinPath(outDir, name);
}

/** The first tensor of the state with a NaN or an infinity, and how many it holds. */
function firstNonFinite(tensors: Map<string, FileTensor>): { name: string; count: number } | null {
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    let count = 0;
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) count++;
    if (count > 0) return { name, count };
  }
  return null;
}

/** Model and optimizer state under one set of names (model.*, optimizer.*). */
function stateOf(model: RepVGG, optimizer: Optimizer): Map<string, FileTensor> {
  const tensors = new Map<string, FileTensor>();
  for (const [k, t] of stateDict(model)) tensors.set(`model.${k}`, t);
  for (const [k, t] of optimizer.stateDict()) tensors.set(`optimizer.${k}`, t);
  return tensors;
}

/** Throws NonFiniteStateError (naming the tensor) when any parameter, buffer or optimizer state
 *  is not finite; `previous` is the checkpoint that then stays the last good one. */
export function checkFinite(model: RepVGG, optimizer: Optimizer, epoch: number, previous: string | null): void {
  const bad = firstNonFinite(stateOf(model, optimizer));
  if (bad) throw new NonFiniteStateError(epoch, bad.name, bad.count, previous);
}

/** Writes the checkpoint: tensors model.* and optimizer.*, metadata `trainer` (the progress) and
 *  the model's own (models/metadata.ts), so the file alone says what model it holds. */
export async function saveCheckpoint(path: string, model: RepVGG, optimizer: Optimizer, progress: Progress,
  meta: ModelMetadata): Promise<void> {
  const tensors = stateOf(model, optimizer);
  const bad = firstNonFinite(tensors);
  if (bad) throw new NonFiniteStateError(progress.epoch - 1, bad.name, bad.count, null);
  await writeFileAtomic(path, writeSafetensors(tensors, metadataEntries(meta, { trainer: JSON.stringify({ format: FORMAT, ...progress }) })));
}

/** Removes what an interrupted atomic write left in outDir (`<file>.tmp-<pid>-<time>`). */
export async function removeLeftovers(outDir: string): Promise<string[]> {
  return removeStaleTempFiles(outDir);
}

/** Loads outDir's checkpoint into the model and optimizer; null when there is none yet. Refuses a
 *  checkpoint made with other FIXED_ON_RESUME options; records changes to the others. */
export async function tryResume(path: string, model: RepVGG, optimizer: Optimizer, opts: TrainOptions): Promise<Progress | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readFileBytes(path);
  } catch {
    return null; // nothing to resume: a fresh run
  }
  const file = readSafetensors(bytes);
  const metaText = file.metadata?.trainer;
  if (!metaText) throw new Error(`${path} is not a repvgg-wasm training checkpoint (no trainer metadata)`);
  const meta = JSON.parse(metaText) as Progress & { format: string };
  if (meta.format !== FORMAT) throw new Error(`${path}: unknown checkpoint format ${meta.format}`);
  const now = runOptions(opts) as Record<string, unknown>;
  const then = meta.options as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(now), ...Object.keys(then)])].sort();
  const changed = keys.filter((k) => JSON.stringify(now[k]) !== JSON.stringify(then[k]));
  const fixed = changed.filter((k) => FIXED_ON_RESUME.includes(k));
  if (fixed.length > 0) {
    throw new Error(`cannot resume from ${path}: ` +
      `${fixed.map((k) => `${k} was ${JSON.stringify(then[k]) ?? 'unset'}, now ${JSON.stringify(now[k]) ?? 'unset'}`).join('; ')} ` +
      `(${FIXED_ON_RESUME.join(', ')} must stay as they were; start a new run in another folder instead)`);
  }
  const changes = [...(meta.changes ?? []),
    ...changed.map((option) => ({ epoch: meta.epoch, option, was: then[option] ?? null, now: now[option] ?? null }))];
  const modelDict = new Map<string, FileTensor>();
  const optDict = new Map<string, FileTensor>();
  for (const [k, t] of file.tensors) {
    if (k.startsWith('model.')) modelDict.set(k.slice(6), t);
    else if (k.startsWith('optimizer.')) optDict.set(k.slice(10), t);
  }
  loadStateDict(model, modelDict);
  optimizer.loadStateDict(optDict, meta.steps);
  return { epoch: meta.epoch, steps: meta.steps, history: meta.history, options: runOptions(opts), changes };
}
