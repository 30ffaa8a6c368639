// What a weights file says about the model it holds: the schema of the `repvgg` entry of the
// safetensors __metadata__ that every file this library writes carries (training checkpoints,
// deploy.safetensors from `train`, the output of `repvgg convert`), with its validation.
//
// A file must be usable on its own: `repvgg predict --weights run/deploy.safetensors --image x.jpg`
// needs the architecture (an official variant or a custom one), the input channels and size, the
// classes and their names, and how images were turned into tensors in training. The state dict
// alone cannot say all of that (a custom width, class names, the normalization).
//
// The entry is one JSON text under one key, so it is versioned as a whole (`format`). It comes
// from files of unknown origin: parsing is bounded (the text, each count and each name) and every
// field is checked, with errors that name the field; unknown fields are refused rather than
// ignored, so a typo or a newer format is never half-read. Class names may not hold control
// characters: they are printed to terminals.
import { quote } from '../format.js';
import { REPVGG_VARIANTS, planBlocks, type RepVGGConfig } from './repvgg.js';

/** The safetensors __metadata__ key holding the JSON text. */
export const METADATA_KEY = 'repvgg';
export const METADATA_FORMAT = 'repvgg-wasm-model-1';

/** Bounds on what a file's metadata may describe (it is read before anything else is checked). */
export const METADATA_LIMITS = Object.freeze({
  /** the JSON text: 1,000,000 classes of 16 characters fit */
  maxTextChars: 16 * 2 ** 20,
  maxClasses: 1_000_000,
  maxClassNameLength: 1000,
  maxBlocksPerStage: 1000,
  maxWidthMultiplier: 64,
  maxInChannels: 4096,
  maxGroups: 4096,
  /** input size, resize and crop sides */
  maxSide: 16384,
});

/**
 * How an image becomes the model's input, as torchvision's eval transform:
 * Resize(resize) (shorter side, bilinear with PIL's antialiasing; null: no resize),
 * CenterCrop(crop) (zero padding where the image is smaller), ToTensor (pixel / 255),
 * Normalize(mean, std) per channel.
 */
export interface Preprocessing {
  resize: number | null;
  /** [h, w] */
  crop: [number, number];
  mean: number[];
  std: number[];
}

/** ImageNet's eval transform (the official RepVGG's and torchvision's): 256, 224, mean/std. */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);
export function imagenetPreprocessing(size = 224): Preprocessing {
  // The official RepVGG eval transform: Resize(256) + CenterCrop(224) at 224, Resize(size) +
  // CenterCrop(size) at any other resolution (repvgg's utils.get_default_val_trans).
  return { resize: size === 224 ? 256 : size, crop: [size, size], mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
}

export interface ModelMetadata {
  format: typeof METADATA_FORMAT;
  /** an official variant's short name ('A0', 'B1g2', ...) or 'custom' */
  arch: string;
  numBlocks: [number, number, number, number];
  widthMultiplier: [number, number, number, number];
  /** block index (1-based) -> groups, only entries other than 1 */
  overrideGroupsMap: Record<string, number>;
  useSE: boolean;
  inChannels: number;
  /** [h, w] the model was trained at (it runs at any size >= 32) */
  inputSize: [number, number];
  numClasses: number;
  /** numClasses names, or null when unknown */
  classNames: string[] | null;
  /** null when unknown (e.g. trained on float .npy arrays, whose pixel scale is not recorded) */
  preprocessing: Preprocessing | null;
}

/** Metadata that is not what this module writes: the message names the field. */
export class ModelMetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelMetadataError';
  }
}

const FIELDS = ['format', 'arch', 'numBlocks', 'widthMultiplier', 'overrideGroupsMap', 'useSE', 'inChannels',
  'inputSize', 'numClasses', 'classNames', 'preprocessing'];
const PRE_FIELDS = ['resize', 'crop', 'mean', 'std'];

function kind(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'string') return `the text ${quote(v, 40)}`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'not a number' : String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Record<string, unknown>, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new ModelMetadataError(`${where}: unknown field${extra.length > 1 ? 's' : ''} ` +
      `${extra.slice(0, 5).map((k) => quote(k, 40)).join(', ')}${extra.length > 5 ? ', ...' : ''} (expected ${allowed.join(', ')})`);
  }
  const missing = allowed.filter((k) => own(o, k) === undefined);
  if (missing.length > 0) throw new ModelMetadataError(`${where}: missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ModelMetadataError(`${where} must be an integer from ${min} to ${max}, got ${kind(v)}`);
  }
  return v;
}

function num(v: unknown, where: string, check: (x: number) => boolean, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new ModelMetadataError(`${where} must be ${what}, got ${kind(v)}`);
  return v;
}

function list(v: unknown, where: string, length: number): unknown[] {
  if (!Array.isArray(v) || v.length !== length) throw new ModelMetadataError(`${where} must be a list of ${length}, got ${kind(v)}`);
  return v;
}

/** A class name: a non-empty text without control characters, at most maxClassNameLength long. */
export function checkClassName(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > METADATA_LIMITS.maxClassNameLength) {
    throw new ModelMetadataError(`${where} must be a text of 1 to ${METADATA_LIMITS.maxClassNameLength} characters, got ${kind(v)}`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) throw new ModelMetadataError(`${where} ${quote(v, 40)} holds a control character`);
  return v;
}

/** Checks a Preprocessing for `channels` input channels (from a file or a caller). */
export function checkPreprocessing(v: unknown, channels: number, where = 'preprocessing'): Preprocessing {
  if (!isObject(v)) throw new ModelMetadataError(`${where} must be an object, got ${kind(v)}`);
  checkKeys(v, PRE_FIELDS, where);
  const L = METADATA_LIMITS;
  const resize = v.resize === null ? null : int(v.resize, `${where}.resize`, 1, L.maxSide);
  const crop = list(v.crop, `${where}.crop`, 2).map((d, i) => int(d, `${where}.crop[${i}]`, 1, L.maxSide)) as [number, number];
  const mean = list(v.mean, `${where}.mean (one per input channel)`, channels)
    .map((m, i) => num(m, `${where}.mean[${i}]`, () => true, 'a finite number'));
  const std = list(v.std, `${where}.std (one per input channel)`, channels)
    .map((s, i) => num(s, `${where}.std[${i}]`, (x) => x > 0, 'a finite number > 0'));
  return { resize, crop, mean, std };
}

/** Checks a metadata object (parsed from a file, or built in code) and returns a clean copy. */
export function checkModelMetadata(v: unknown, where = 'model metadata'): ModelMetadata {
  if (!isObject(v)) throw new ModelMetadataError(`${where} must be a JSON object, got ${kind(v)}`);
  if (own(v, 'format') !== METADATA_FORMAT) {
    throw new ModelMetadataError(`${where}: format is ${kind(own(v, 'format'))}, expected "${METADATA_FORMAT}" ` +
      '(written by another version of repvgg-wasm?)');
  }
  checkKeys(v, FIELDS, where);
  const L = METADATA_LIMITS;
  const arch = v.arch;
  if (arch !== 'custom' && !(typeof arch === 'string' && Object.hasOwn(REPVGG_VARIANTS, arch))) {
    throw new ModelMetadataError(`${where}: arch must be "custom" or one of ${Object.keys(REPVGG_VARIANTS).join(', ')}, got ${kind(arch)}`);
  }
  const numBlocks = list(v.numBlocks, `${where}: numBlocks`, 4)
    .map((n, i) => int(n, `${where}: numBlocks[${i}]`, 1, L.maxBlocksPerStage)) as ModelMetadata['numBlocks'];
  const widthMultiplier = list(v.widthMultiplier, `${where}: widthMultiplier`, 4)
    .map((w, i) => num(w, `${where}: widthMultiplier[${i}]`, (x) => x > 0 && x <= L.maxWidthMultiplier,
      `a number in (0, ${L.maxWidthMultiplier}]`)) as ModelMetadata['widthMultiplier'];
  const totalBlocks = numBlocks.reduce((a, b) => a + b, 0);
  if (!isObject(v.overrideGroupsMap)) throw new ModelMetadataError(`${where}: overrideGroupsMap must be an object, got ${kind(v.overrideGroupsMap)}`);
  const groups: [string, number][] = [];
  for (const [k, g] of Object.entries(v.overrideGroupsMap)) {
    if (!/^[1-9]\d{0,5}$/.test(k) || Number(k) > totalBlocks) {
      throw new ModelMetadataError(`${where}: overrideGroupsMap key ${quote(k, 20)} is not a block index from 1 to ${totalBlocks}`);
    }
    groups.push([k, int(g, `${where}: overrideGroupsMap[${k}]`, 1, L.maxGroups)]);
  }
  if (typeof v.useSE !== 'boolean') throw new ModelMetadataError(`${where}: useSE must be true or false, got ${kind(v.useSE)}`);
  const inChannels = int(v.inChannels, `${where}: inChannels`, 1, L.maxInChannels);
  const inputSize = list(v.inputSize, `${where}: inputSize`, 2)
    .map((d, i) => int(d, `${where}: inputSize[${i}]`, 32, L.maxSide)) as [number, number];
  const numClasses = int(v.numClasses, `${where}: numClasses`, 1, L.maxClasses);
  let classNames: string[] | null = null;
  if (v.classNames !== null) {
    classNames = list(v.classNames, `${where}: classNames (one per class)`, numClasses)
      .map((s, i) => checkClassName(s, `${where}: classNames[${i}]`));
  }
  const preprocessing = v.preprocessing === null ? null : checkPreprocessing(v.preprocessing, inChannels, `${where}: preprocessing`);
  const m: ModelMetadata = {
    format: METADATA_FORMAT, arch, numBlocks, widthMultiplier,
    overrideGroupsMap: Object.fromEntries(groups.filter(([, g]) => g !== 1)),
    useSE: v.useSE, inChannels, inputSize, numClasses, classNames, preprocessing,
  };
  // The channel counts must allow the groups and SE (the model's own checks, with our prefix).
  try {
    const plan = planBlocks(configOf(m));
    for (const b of plan) {
      if (b.inChannels % b.groups !== 0 || b.outChannels % b.groups !== 0) {
        throw new Error(`block ${b.name} has ${b.inChannels} -> ${b.outChannels} channels, not divisible into ${b.groups} groups`);
      }
    }
  } catch (e) {
    throw new ModelMetadataError(`${where}: ${(e as Error).message.replace(/^RepVGG: /, '')}`);
  }
  if (arch !== 'custom') {
    const preset = REPVGG_VARIANTS[arch];
    const same = JSON.stringify([preset.numBlocks, preset.widthMultiplier, sortedGroups(preset.overrideGroupsMap), preset.useSE ?? false]) ===
      JSON.stringify([numBlocks, widthMultiplier, sortedGroups(m.overrideGroupsMap), m.useSE]);
    if (!same) throw new ModelMetadataError(`${where}: arch says RepVGG-${arch} but the blocks, widths, groups or SE differ from it`);
  }
  return m;
}

function sortedGroups(map: Record<number | string, number> | undefined): [number, number][] {
  return Object.entries(map ?? {}).filter(([, g]) => g !== 1).map(([k, g]): [number, number] => [Number(k), g])
    .sort((a, b) => a[0] - b[0]);
}

/** The official variant a config is, or 'custom'. */
export function variantOf(cfg: Pick<RepVGGConfig, 'numBlocks' | 'widthMultiplier' | 'overrideGroupsMap' | 'useSE'>): string {
  const sig = (c: typeof cfg) => JSON.stringify([c.numBlocks, c.widthMultiplier, sortedGroups(c.overrideGroupsMap), c.useSE ?? false]);
  const mine = sig(cfg);
  return Object.keys(REPVGG_VARIANTS).find((k) => sig(REPVGG_VARIANTS[k]) === mine) ?? 'custom';
}

export interface DescribeModelOptions {
  /** [h, w] the model is trained (or meant to run) at */
  inputSize: [number, number];
  classNames?: readonly string[] | null;
  preprocessing?: Preprocessing | null;
}

/** The metadata of a model built from `config` (numClasses and inChannels default as RepVGG's). */
export function describeModel(config: RepVGGConfig, opts: DescribeModelOptions): ModelMetadata {
  return checkModelMetadata({
    format: METADATA_FORMAT,
    arch: variantOf(config),
    numBlocks: [...config.numBlocks],
    widthMultiplier: [...config.widthMultiplier],
    // Keys past the last block have no effect on the model (planBlocks never asks for them).
    overrideGroupsMap: Object.fromEntries(sortedGroups(config.overrideGroupsMap)
      .filter(([k]) => k <= config.numBlocks.reduce((a, b) => a + b, 0)).map(([k, g]) => [String(k), g])),
    useSE: config.useSE ?? false,
    inChannels: config.inChannels ?? 3,
    inputSize: opts.inputSize,
    numClasses: config.numClasses ?? 1000,
    classNames: opts.classNames ? [...opts.classNames] : null,
    preprocessing: opts.preprocessing ?? null,
  }, 'describeModel');
}

/** The RepVGGConfig the metadata describes (without deploy, seed or init). */
export function configOf(m: ModelMetadata): RepVGGConfig {
  return {
    numBlocks: [...m.numBlocks] as RepVGGConfig['numBlocks'],
    widthMultiplier: [...m.widthMultiplier] as RepVGGConfig['widthMultiplier'],
    overrideGroupsMap: Object.fromEntries(Object.entries(m.overrideGroupsMap).map(([k, g]) => [Number(k), g])),
    useSE: m.useSE, numClasses: m.numClasses, inChannels: m.inChannels,
  };
}

/**
 * The __metadata__ entries to write: `repvgg` (the JSON text) plus the plain keys other tools
 * read (`format: pt` for safetensors' PyTorch loader, `arch`, `num_classes`).
 */
export function metadataEntries(m: ModelMetadata, extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const checked = checkModelMetadata(m, 'metadataEntries');
  return {
    format: 'pt',
    arch: checked.arch === 'custom' ? 'custom' : `RepVGG-${checked.arch}`,
    num_classes: String(checked.numClasses),
    ...extra,
    [METADATA_KEY]: JSON.stringify(checked),
  };
}

/**
 * The model metadata of a safetensors file's __metadata__: null when it has none (a file from
 * elsewhere), else the checked metadata; a ModelMetadataError when it is there but wrong.
 */
export function readModelMetadata(metadata: Readonly<Record<string, string>>, where = 'model metadata'): ModelMetadata | null {
  if (!Object.hasOwn(metadata, METADATA_KEY)) return null;
  const text = metadata[METADATA_KEY];
  if (text.length > METADATA_LIMITS.maxTextChars) {
    throw new ModelMetadataError(`${where}: the "${METADATA_KEY}" entry has ${text.length} characters, more than ` +
      `the ${METADATA_LIMITS.maxTextChars} allowed`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ModelMetadataError(`${where}: the "${METADATA_KEY}" entry is not valid JSON: ${quote((e as Error).message, 120)}`);
  }
  return checkModelMetadata(parsed, where);
}

/** The architecture's name: "RepVGG-A0" / "custom RepVGG (blocks ..., widths ...)". */
export function archName(m: Pick<ModelMetadata, 'arch' | 'numBlocks' | 'widthMultiplier' | 'overrideGroupsMap' | 'useSE'>): string {
  return m.arch === 'custom'
    ? `custom RepVGG (blocks ${m.numBlocks.join(',')}, widths ${m.widthMultiplier.join(',')}` +
      `${Object.keys(m.overrideGroupsMap).length ? `, groups on ${Object.keys(m.overrideGroupsMap).length} blocks` : ''}${m.useSE ? ', SE' : ''})`
    : `RepVGG-${m.arch}`;
}

/** One line: "RepVGG-A0, 10 classes, 3x224x224 input" / "custom RepVGG (blocks ..., widths ...), ...". */
export function describeArch(m: ModelMetadata): string {
  return `${archName(m)}, ${m.numClasses} classes, ${m.inChannels}x${m.inputSize[0]}x${m.inputSize[1]} input`;
}
