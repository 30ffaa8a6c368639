// repvgg export [--arch <arch>] --weights <checkpoint> --format onnx|safetensors|pth --form train|deploy
// --out <file>: a checkpoint in another format or form, as RepVGG tutorials do to view the two
// forms side by side (Netron opens both ONNX graphs with the official names), or to take weights
// back to PyTorch (the .pth loads with torch.load(weights_only=True) and load_state_dict(strict=True)).
import { createBackend } from '../backends/create.js';
import { formatBytes } from '../format.js';
import { writeFileAtomic } from '../io/node.js';
import { writeSafetensors } from '../io/safetensors.js';
import { writeTorch } from '../io/torch-write.js';
import { exportOnnx } from '../models/onnx.js';
import { archName, metadataEntries } from '../models/metadata.js';
import { repvggModelConvert } from '../models/repvgg.js';
import { stateDict } from '../models/state-dict.js';
import { formatHelp, getInt, getString, parseArgs, requireString, UsageError, type CommandSpec } from './args.js';
import { CliError, loadModel, readCheckpoint, resolveModel } from './checkpoint.js';
import type { Io } from './io.js';
import { CHECKPOINT_LIMIT_FLAGS, limitFlagSpecs, readLimitsOf } from './limit-flags.js';
import { ARCH_FOR_WEIGHTS, THREADS_FLAG, archFlags, archFromArgs } from './model-args.js';

const FORMATS = ['onnx', 'safetensors', 'pth'] as const;
const FORMS = ['train', 'deploy'] as const;

export const exportSpec: CommandSpec = {
  command: 'repvgg export',
  summary: 'Writes a checkpoint as ONNX (for Netron or other engines), safetensors or a PyTorch .pth, ' +
    'in its training form (three branches per block) or its deploy form (one 3x3 conv per block).',
  flags: [
    ...archFlags(ARCH_FOR_WEIGHTS),
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: "number of classes (default: the checkpoint's metadata or linear.weight rows)" },
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'checkpoint: torch .pt/.pth, Paddle .pdparams or .safetensors, either form' },
    { name: 'format', type: 'string', valueName: 'FMT', description: 'onnx, safetensors or pth' },
    { name: 'form', type: 'string', valueName: 'FORM', description: 'deploy (default; a training checkpoint is fused first) or train' },
    { name: 'batch', type: 'int', min: 1, valueName: 'N', description: 'onnx: a fixed batch size (default: dynamic)' },
    { name: 'out', type: 'string', valueName: 'FILE', description: 'file to write (replaced atomically)' },
    THREADS_FLAG,
    ...limitFlagSpecs(CHECKPOINT_LIMIT_FLAGS),
  ],
};

export async function runExport(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, exportSpec);
  if (args.help) {
    io.out(formatHelp(exportSpec));
    return 0;
  }
  const cmd = exportSpec.command;
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}" (${cmd} takes only options)`, cmd);
  const arch = archFromArgs(args, cmd, true);
  const weightsPath = requireString(args, 'weights', cmd);
  const outPath = requireString(args, 'out', cmd);
  const format = requireString(args, 'format', cmd) as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) throw new UsageError(`--format must be ${FORMATS.join(', ')}, got "${format}"`, cmd);
  const form = (getString(args, 'form') ?? 'deploy') as (typeof FORMS)[number];
  if (!FORMS.includes(form)) throw new UsageError(`--form must be train or deploy, got "${form}"`, cmd);

  const ck = await readCheckpoint(weightsPath, readLimitsOf(args, exportSpec), exportSpec);
  for (const n of ck.notes) io.err(`note: ${n}`);
  if (form === 'train' && ck.form === 'deploy') {
    throw new CliError(`${weightsPath} is in deploy form: the training form (its BN statistics and separate branches) ` +
      'cannot be recovered from fused kernels; export it with --form deploy');
  }
  const resolved = resolveModel(ck, arch, getInt(args, 'classes'));
  // What is assumed for a file without metadata is recorded in a safetensors output only.
  if (format === 'safetensors') for (const n of resolved.assumed) io.err(`note: ${n}`);
  const numClasses = resolved.metadata.numClasses;
  const backend = await createBackend('auto', { threads: getInt(args, 'threads') });
  let model = loadModel(backend, resolved, ck);
  try {
    if (form === 'deploy' && !model.deploy) {
      const fused = repvggModelConvert(model);
      model.dispose();
      model = fused;
    }
    model.eval();
    const batch = getInt(args, 'batch');
    const bytes = format === 'onnx' ? exportOnnx(model, { form, ...(batch ? { batch } : {}) })
      : format === 'pth' ? writeTorch(stateDict(model))
        : writeSafetensors(stateDict(model), metadataEntries(resolved.metadata, { form }));
    await writeFileAtomic(outPath, bytes);
    io.out(`wrote ${outPath}: ${format}, ${archName(resolved.metadata)} ${form} form, ${numClasses} classes, ${formatBytes(bytes.length)}`);
  } finally {
    model.dispose();
  }
  return 0;
}
