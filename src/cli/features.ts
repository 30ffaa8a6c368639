// repvgg features [--arch <arch>] --weights <checkpoint> (--image x.jpg | --input x.npy) --out <dir>: a PNG grid of
// the channels of the stem's and each stage's output for one image, from the training form and
// from the deploy form (a training checkpoint is fused for the second), and how far apart the two
// forms' maps are: re-parameterization made visible.
import { createBackend } from '../backends/create.js';
import { encodePng } from '../image/png-write.js';
import { featureGrid } from '../image/feature-grid.js';
import { ensureDir, writeFileAtomic } from '../io/node.js';
import { readNpy } from '../io/npy.js';
import { stageOutputs, type StageMap } from '../models/features.js';
import { repvggModelConvert } from '../models/repvgg.js';
import { Tensor } from '../tensor.js';
import { formatHelp, getInt, getString, parseArgs, requireString, UsageError, type CommandSpec } from './args.js';
import { CliError, loadModel, readCheckpoint, readError, readInputFile, resolveModel } from './checkpoint.js';
import { imageTransform, readImageInput } from './image-input.js';
import type { Io } from './io.js';
import { CHECKPOINT_LIMIT_FLAGS, limitFlagSpecs, readLimitsOf } from './limit-flags.js';
import { ARCH_FOR_WEIGHTS, THREADS_FLAG, archFlags, archFromArgs } from './model-args.js';

export const featuresSpec: CommandSpec = {
  command: 'repvgg features',
  summary: 'Writes, for one image, a PNG grid of the channels of the stem and of each stage, from the training form and ' +
    'from the deploy form, and says how far apart the two forms\' maps are.',
  flags: [
    ...archFlags(ARCH_FOR_WEIGHTS),
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: "number of classes (default: the checkpoint's metadata or linear.weight rows)" },
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'checkpoint: torch .pt/.pth, .pdparams or .safetensors, either form' },
    { name: 'image', type: 'string', valueName: 'FILE', description: 'one image (PNG or JPEG), preprocessed as the checkpoint records (else ImageNet\'s eval transform)' },
    { name: 'input', type: 'string', valueName: 'FILE', description: 'or one image as .npy of shape [1, c, h, w] (normalized as the model was trained)' },
    { name: 'out', type: 'string', valueName: 'DIR', description: 'folder for stage0-train.png, stage0-deploy.png, ... (created if missing)' },
    THREADS_FLAG,
    ...limitFlagSpecs([...CHECKPOINT_LIMIT_FLAGS, 'max-image-pixels']),
  ],
  notes: [
    'Examples:',
    '  repvgg features --weights runs/flowers/deploy.safetensors --image rose.jpg --out maps/',
    '  repvgg features --arch A0 --weights RepVGG-A0-train.pth --image cat.jpg --out maps/',
  ],
};

/** Norm-wise relative difference of two maps. */
function relDiff(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

export async function runFeatures(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, featuresSpec);
  if (args.help) {
    io.out(formatHelp(featuresSpec));
    return 0;
  }
  const cmd = featuresSpec.command;
  if (args.positionals.length) throw new UsageError(`unexpected argument "${args.positionals[0]}" (${cmd} takes only options)`, cmd);
  const arch = archFromArgs(args, cmd, true);
  const weightsPath = requireString(args, 'weights', cmd);
  const imagePath = getString(args, 'image');
  const inputPath = getString(args, 'input');
  if (imagePath && inputPath) throw new UsageError('give --image or --input, not both', cmd);
  if (!imagePath && !inputPath) throw new UsageError('--image (a PNG or JPEG file) or --input (an .npy image) is required', cmd);
  const outDir = requireString(args, 'out', cmd);
  const limits = readLimitsOf(args, featuresSpec);
  // An .npy input is read first: a wrong shape is reported before the (slower) checkpoint read.
  let x: { data: Float32Array; shape: number[] } | null = null;
  if (inputPath) {
    const npy = readNpy(await readInputFile(inputPath, 'input'), limits);
    if (npy.dtype !== 'float32' || npy.shape.length !== 4 || npy.shape[0] !== 1) {
      throw new CliError(`input ${inputPath} has shape [${npy.shape.join(', ')}] (${npy.sourceDtype}): expected one float32 image [1, c, h, w]`);
    }
    x = { data: npy.data as Float32Array, shape: [...npy.shape] };
  }
  const ck = await readCheckpoint(weightsPath, limits, featuresSpec);
  const resolved = resolveModel(ck, arch, getInt(args, 'classes'));
  if (imagePath) {
    for (const a of resolved.assumed) io.err(`note: ${a}`);
    const pre = imageTransform(resolved, ck);
    let data: Float32Array;
    try {
      data = await readImageInput(imagePath, pre, limits);
    } catch (e) {
      throw e instanceof CliError ? e : new CliError(`cannot decode ${imagePath}: ${readError(e, featuresSpec)}`);
    }
    x = { data, shape: [1, resolved.metadata.inChannels, pre.crop[0], pre.crop[1]] };
  }
  if (x === null) throw new Error('unreachable: an input was required above');
  const backend = await createBackend('auto', { threads: getInt(args, 'threads') });
  const model = loadModel(backend, resolved, ck);
  const xt = Tensor.from(backend, x.data, x.shape);
  const forms: [string, StageMap[]][] = [];
  try {
    if (!model.deploy) forms.push(['train', stageOutputs(model, xt)]);
    const deploy = model.deploy ? model : repvggModelConvert(model);
    forms.push(['deploy', stageOutputs(deploy, xt)]);
    if (deploy !== model) deploy.dispose();
  } finally {
    xt.dispose();
    model.dispose();
  }
  await ensureDir(outDir);
  for (const [form, maps] of forms) {
    for (const m of maps) {
      const [, c, h, w] = m.shape;
      const g = featureGrid(m.data, c, h, w);
      const file = `${outDir.replace(/\/$/, '')}/${m.name}-${form}.png`;
      await writeFileAtomic(file, encodePng(g.rgb, g.width, g.height));
      io.out(`wrote ${file}: ${m.name}, ${c} channels of ${h}x${w} in a ${g.cols}x${g.rows} grid (${form} form)`);
    }
  }
  if (forms.length === 2) {
    const diffs = forms[0][1].map((m, i) => relDiff(forms[1][1][i].data, m.data));
    const worst = Math.max(...diffs);
    io.out(`training vs deploy form, per stage (norm-wise relative difference): ${diffs.map((d) => d.toExponential(1)).join(', ')}`);
    io.out(worst <= 1e-4 ? 'the two forms give the same feature maps within float32 rounding' :
      `the two forms differ by up to ${worst.toExponential(2)}: more than float32 rounding explains`);
    if (worst > 1e-4) return 1;
  }
  return 0;
}
