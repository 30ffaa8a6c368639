// repvgg info <arch | weights file> [--classes N] [--size H W] [--batch N] [--json]: the model
// summary. Given a file, the model is the one the file's metadata describes (models/metadata.ts;
// --arch for a file without), at the size it was trained at, and the metadata is printed too.
import { existsSync, statSync } from 'node:fs';
import type { ModelMetadata } from '../models/metadata.js';
import { describeArch } from '../models/metadata.js';
import { REPVGG_VARIANTS, type RepVGGConfig } from '../models/repvgg.js';
import { checkInputSize, formatSummary, summarize } from '../models/summary.js';
import { UsageError, formatHelp, getBool, getInt, getInts, parseArgs, type CommandSpec, type ParsedArgs } from './args.js';
import { readCheckpoint, resolveModel, type Checkpoint } from './checkpoint.js';
import type { Io } from './io.js';
import { CHECKPOINT_LIMIT_FLAGS, limitFlagSpecs, readLimitsOf } from './limit-flags.js';
import { ARCH_FOR_WEIGHTS, archFlags, archFromArgs } from './model-args.js';

export const infoSpec: CommandSpec = {
  command: 'repvgg info',
  summary: 'Describes a RepVGG architecture, or the model in a weights file: per stage the output shape, blocks, groups, ' +
    'parameters and multiply-accumulates in the training (multi-branch) and deploy (fused) forms; ' +
    'in total the weight and activation memory. For a file, also what its metadata says (classes, ' +
    'input size, preprocessing). Nothing is allocated: B3 is as quick as A0.',
  positionals: [{
    name: '<arch|file>',
    description: `architecture: ${Object.keys(REPVGG_VARIANTS).join(', ')} (or RepVGG-A0, ...; any case), custom (with --blocks ` +
      'and --widths), or a weights file (.safetensors, .pt, .pth, .pdparams)',
  }],
  flags: [
    ...archFlags(ARCH_FOR_WEIGHTS),
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: "number of classes (default 1000, or the file's)" },
    { name: 'size', type: 'int', arity: 2, min: 1, valueName: 'H W', description: "input height and width, each >= 32 (default 224 224, or the file's)" },
    { name: 'batch', type: 'int', min: 1, valueName: 'N', description: 'images per batch for MACs and activation memory (default 1)' },
    { name: 'json', type: 'boolean', description: 'print the summary as JSON' },
    ...limitFlagSpecs(CHECKPOINT_LIMIT_FLAGS),
  ],
  notes: [
    'MACs count the convolutions and the linear layer (training form: 3x3 + 1x1 convs; BN, the identity',
    'branch and additions are elementwise and not counted). Parameters are trainable values, as',
    "PyTorch's sum(p.numel() for p in model.parameters()); BN running statistics are listed apart.",
  ],
};

/** A positional that names a file rather than an architecture. */
function isFile(p: string): boolean {
  return /\.(safetensors|pt|pth|pdparams|bin|ckpt)$/i.test(p) || (existsSync(p) && statSync(p).isFile());
}

function fmt(v: readonly number[]): string {
  return `[${v.map((x) => +x.toFixed(4)).join(', ')}]`;
}

/** The metadata lines printed above a file's summary. */
function describeFile(ck: Checkpoint, m: ModelMetadata, assumed: string[]): string[] {
  const names = m.classNames;
  const p = m.preprocessing;
  return [
    `file       ${ck.path}: ${ck.format}, ${ck.form === 'train' ? 'training' : 'deploy'} form, ${ck.tensors.size} tensors, ` +
      (ck.metadata ? 'with repvgg-wasm metadata' : 'no repvgg-wasm metadata'),
    `model      ${describeArch(m)}`,
    `classes    ${names ? `${names.slice(0, 8).join(', ')}${names.length > 8 ? `, ... (${names.length})` : ''}` : 'names unknown'}`,
    `input      ${p ? `${p.resize === null ? 'no resize' : `resize shorter side to ${p.resize}`}, center crop ` +
      `${p.crop[0]}x${p.crop[1]}, scale to [0, 1], mean ${fmt(p.mean)}, std ${fmt(p.std)}` : 'preprocessing unknown'}`,
    ...assumed.map((a) => `note       ${a}`),
    '',
  ];
}

function summarySize(args: ParsedArgs, fallback: [number, number]): [number, number] {
  const size = getInts(args, 'size') ?? fallback;
  try {
    return checkInputSize(size, 'input');
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^input: /, ''), infoSpec.command);
  }
}

export async function runInfo(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, infoSpec);
  if (args.help) {
    io.out(formatHelp(infoSpec));
    return 0;
  }
  const cmd = infoSpec.command;
  if (args.positionals.length === 0) throw new UsageError('missing the architecture or file, e.g. "repvgg info A0"', cmd);
  if (args.positionals.length > 1) {
    throw new UsageError(`expected one architecture or file, got ${args.positionals.length}: ${args.positionals.join(' ')}`, cmd);
  }
  const what = args.positionals[0];
  const json = getBool(args, 'json');
  if (isFile(what)) {
    const ck = await readCheckpoint(what, readLimitsOf(args, infoSpec), infoSpec);
    const { metadata, config, assumed } = resolveModel(ck, archFromArgs(args, cmd, true), getInt(args, 'classes'));
    const summary = summarize(config, { inputSize: summarySize(args, metadata.inputSize), batch: getInt(args, 'batch') ?? 1 });
    if (json) {
      io.out(JSON.stringify({ ...summary, file: { path: ck.path, format: ck.format, form: ck.form, hasMetadata: ck.metadata !== null }, metadata }, null, 2));
    } else {
      io.out([...describeFile(ck, metadata, assumed), formatSummary(summary)].join('\n'));
    }
    return 0;
  }
  if (args.flags.arch !== undefined) throw new UsageError('--arch is for a weights file; name the architecture as the argument', cmd);
  // The argument is the architecture (custom takes --blocks, --widths, --groups, --se).
  const preset: RepVGGConfig = { ...archFromArgs({ ...args, flags: { ...args.flags, arch: what } }, cmd)!.preset! };
  const summary = summarize({ ...preset, numClasses: getInt(args, 'classes') ?? 1000 },
    { inputSize: summarySize(args, [224, 224]), batch: getInt(args, 'batch') ?? 1 });
  io.out(json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  return 0;
}
