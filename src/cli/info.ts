// repvgg info <arch> [--classes N] [--size H W] [--batch N] [--json]: the model summary.
import { REPVGG_VARIANTS } from '../models/repvgg.js';
import { checkInputSize, formatSummary, summarize } from '../models/summary.js';
import { UsageError, archArg, formatHelp, getBool, getInt, getInts, parseArgs, type CommandSpec } from './args.js';
import type { Io } from './io.js';

export const infoSpec: CommandSpec = {
  command: 'repvgg info',
  summary: 'Describes an official RepVGG architecture: per stage the output shape, blocks, groups, ' +
    'parameters and multiply-accumulates in the training (multi-branch) and deploy (fused) forms; ' +
    'in total the weight and activation memory. Nothing is allocated: B3 is as quick as A0.',
  positionals: [{ name: '<arch>', description: `architecture: ${Object.keys(REPVGG_VARIANTS).join(', ')} (or RepVGG-A0, ...; any case)` }],
  flags: [
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: 'number of classes (default 1000)' },
    { name: 'size', type: 'int', arity: 2, min: 1, valueName: 'H W', description: 'input height and width, each >= 32 (default 224 224)' },
    { name: 'batch', type: 'int', min: 1, valueName: 'N', description: 'images per batch for MACs and activation memory (default 1)' },
    { name: 'json', type: 'boolean', description: 'print the summary as JSON' },
  ],
  notes: [
    'MACs count the convolutions and the linear layer (training form: 3x3 + 1x1 convs; BN, the identity',
    'branch and additions are elementwise and not counted). Parameters are trainable values, as',
    "PyTorch's sum(p.numel() for p in model.parameters()); BN running statistics are listed apart.",
  ],
};

export async function runInfo(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, infoSpec);
  if (args.help) {
    io.out(formatHelp(infoSpec));
    return 0;
  }
  if (args.positionals.length === 0) throw new UsageError('missing the architecture, e.g. "repvgg info A0"', infoSpec.command);
  if (args.positionals.length > 1) {
    throw new UsageError(`expected one architecture, got ${args.positionals.length}: ${args.positionals.join(' ')}`, infoSpec.command);
  }
  const arch = archArg(args.positionals[0], infoSpec.command);
  const size = getInts(args, 'size') ?? [224, 224];
  try {
    checkInputSize(size, 'input');
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^input: /, ''), infoSpec.command);
  }
  const summary = summarize({ ...REPVGG_VARIANTS[arch], numClasses: getInt(args, 'classes') ?? 1000 },
    { inputSize: [size[0], size[1]], batch: getInt(args, 'batch') ?? 1 });
  io.out(getBool(args, 'json') ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  return 0;
}
