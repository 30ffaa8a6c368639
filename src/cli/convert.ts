// repvgg convert [--arch <arch>] --in <train checkpoint> --out <deploy.safetensors>: the official
// repvgg_model_convert as a command. Reads a training-form torch or safetensors checkpoint, loads it
// strictly, fuses every block and writes the deploy state dict as float32 safetensors, with the
// model's metadata (models/metadata.ts): the input file's own, or for a file without (an official
// checkpoint: --arch, or the architecture read off its weights) what is assumed, printed as notes.
import { createBackend } from '../backends/create.js';
import { writeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../io/node.js';
import { describeArch, metadataEntries } from '../models/metadata.js';
import { repvggModelConvert } from '../models/repvgg.js';
import { stateDict } from '../models/state-dict.js';
import { formatBytes, formatCount } from '../format.js';
import { formatHelp, getBool, getInt, parseArgs, requireString, type CommandSpec } from './args.js';
import { CliError, loadModel, readCheckpoint, resolveModel } from './checkpoint.js';
import { CHECKPOINT_LIMIT_FLAGS, limitFlagSpecs, readLimitsOf } from './limit-flags.js';
import { ARCH_FOR_WEIGHTS, THREADS_FLAG, archFlags, archFromArgs } from './model-args.js';
import type { Io } from './io.js';

export const convertSpec: CommandSpec = {
  command: 'repvgg convert',
  summary: 'Converts a training-form checkpoint (three branches per block, BN) into the deploy form ' +
    '(one 3x3 conv with bias per block) and writes it as float32 safetensors.',
  flags: [
    ...archFlags(ARCH_FOR_WEIGHTS),
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: "number of classes (default: the checkpoint's metadata or linear.weight rows)" },
    { name: 'in', type: 'string', valueName: 'FILE', description: 'training checkpoint: torch .pt/.pth (a state dict, or one wrapped in ' +
      "{'state_dict': ...} / {'model': ...}, 'module.' prefixes stripped), Paddle .pdparams or .safetensors" },
    { name: 'out', type: 'string', valueName: 'FILE', description: 'deploy-form .safetensors to write (replaced atomically)' },
    { name: 'quiet', type: 'boolean', description: 'print nothing but errors' },
    THREADS_FLAG,
    ...limitFlagSpecs(CHECKPOINT_LIMIT_FLAGS),
  ],
  notes: ['Sizes take the suffixes K, M, G (powers of 1024: 600M, 2G); counts K, M (thousands, millions). See docs/SECURITY.md.'],
};

export async function runConvert(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, convertSpec);
  if (args.help) {
    io.out(formatHelp(convertSpec));
    return 0;
  }
  const cmd = convertSpec.command;
  if (args.positionals.length) throw new CliError(`unexpected argument "${args.positionals[0]}" (${cmd} takes only options)`);
  const arch = archFromArgs(args, cmd, true);
  const inPath = requireString(args, 'in', cmd);
  const outPath = requireString(args, 'out', cmd);
  const quiet = getBool(args, 'quiet');
  const say = (s: string) => { if (!quiet) io.out(s); };
  const limits = readLimitsOf(args, convertSpec);

  const ck = await readCheckpoint(inPath, limits, convertSpec);
  for (const n of ck.notes) if (!quiet) io.err(`note: ${n}`);
  if (ck.form === 'deploy') {
    throw new CliError(`${inPath} is already in deploy form (its blocks hold rbr_reparam, not rbr_dense/rbr_1x1): ` +
      `nothing to convert; use it as it is (repvgg predict --weights ${inPath})`);
  }
  const resolved = resolveModel(ck, arch, getInt(args, 'classes'));
  for (const n of resolved.assumed) if (!quiet) io.err(`note: ${n}`);
  const backend = await createBackend('auto', { threads: getInt(args, 'threads') });
  const model = loadModel(backend, resolved, ck);
  const before = model.parameterCount();
  const deploy = repvggModelConvert(model);
  model.dispose();
  const dict = stateDict(deploy);
  const after = deploy.parameterCount();
  deploy.dispose();
  backend.dispose();
  const bytes = writeSafetensors(dict, metadataEntries(resolved.metadata, { form: 'deploy', converted_by: 'repvgg-wasm' }));
  await writeFileAtomic(outPath, bytes);
  const source = { torch: 'PyTorch zip', 'torch-legacy': 'PyTorch legacy', 'torch-legacy-tar': 'PyTorch legacy tar', safetensors: 'safetensors', npy: 'npy', pdparams: 'Paddle .pdparams' }[ck.format];
  say(`read      ${inPath}: ${source}, ${formatBytes(ck.bytes)}, ${ck.tensors.size} tensors, training form`);
  say(`model     ${describeArch(resolved.metadata)}${ck.metadata ? ' (from its metadata)' : ''}`);
  say(`params    ${formatCount(before)} (training form) -> ${formatCount(after)} (deploy form)`);
  say(`wrote     ${outPath}: safetensors, float32, ${dict.size} tensors, ${formatBytes(bytes.length)}`);
  return 0;
}
