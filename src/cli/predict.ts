// repvgg predict [--arch <arch>] --weights <file> (--image a.jpg b.png ... | --input x.npy --output y.npy):
// in eval mode (BN uses its running statistics), from a training- or deploy-form checkpoint. The
// architecture comes from the file's metadata, else --arch, else the weights' shapes (custom
// networks included).
//   --image: PNG or JPEG files, decoded and preprocessed as the checkpoint says (its metadata; for a
//            file without, ImageNet's eval transform), then the top classes of each, with names;
//            --json prints one JSON object per line per image.
//   --input: an NCHW float batch (.npy) used as it is; the logits [n, classes] go to --output.
import { createBackend, type BackendKind } from '../backends/create.js';
import type { ImageLimits } from '../image/image.js';
import { topPredictions, type Prediction } from '../image/classify.js';
import { readNpy, writeNpy } from '../io/npy.js';
import { writeFileAtomic } from '../io/node.js';
import { ModelMetadataError, archName, checkClassName, describeArch } from '../models/metadata.js';
import { InferencePlan } from '../models/plan.js';
import { repvggModelConvert, type RepVGG } from '../models/repvgg.js';
import { Tensor } from '../tensor.js';
import { softmax, topK } from '../topk.js';
import { UsageError, formatHelp, getBool, getInt, getString, getStrings, parseArgs, type CommandSpec } from './args.js';
import { CliError, loadModel, readCheckpoint, readError, readInputFile, resolveModel, type ResolvedModel } from './checkpoint.js';
import { imageTransform, readImageInput } from './image-input.js';
import { CHECKPOINT_LIMIT_FLAGS, limitFlagSpecs, readLimitsOf } from './limit-flags.js';
import type { Io } from './io.js';
import { ARCH_FOR_WEIGHTS, THREADS_FLAG, archFlags, archFromArgs } from './model-args.js';

const BACKENDS: BackendKind[] = ['auto', 'wasm-simd', 'reference'];
/** Rows of top-1 results printed before the rest is summarized in one line. */
const SHOWN_ROWS = 20;
/** A --labels file larger than this is refused (a million names of 16 characters fit). */
const MAX_LABELS_BYTES = 16 * 2 ** 20;

export const predictSpec: CommandSpec = {
  command: 'repvgg predict',
  summary: 'Runs a RepVGG model in eval mode: on image files (PNG, JPEG), printing the top classes of each; ' +
    'or on an NCHW float batch stored as .npy (float32, or float64 converted), writing the logits [n, classes] as a float32 .npy.',
  flags: [
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'checkpoint, torch .pt/.pth, Paddle .pdparams or .safetensors, training or deploy form (told from its keys)' },
    ...archFlags(ARCH_FOR_WEIGHTS),
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: "number of classes (default: the checkpoint's metadata or linear.weight rows)" },
    { name: 'deploy', type: 'boolean', description: 'convert a training-form checkpoint to the deploy form before running' },
    { name: 'image', type: 'string', variadic: true, valueName: 'FILE...', description: 'images (PNG or JPEG), preprocessed as the checkpoint records (else ImageNet\'s eval transform)' },
    { name: 'topk', type: 'int', min: 1, valueName: 'K', description: 'classes shown per image (default 5)' },
    { name: 'labels', type: 'string', valueName: 'FILE', description: 'class names, one per line (or a JSON list), instead of the checkpoint\'s' },
    { name: 'json', type: 'boolean', description: 'with --image: one JSON object per line per image: {"file", "top": [{"label", "index", "probability"}]}' },
    { name: 'input', type: 'string', valueName: 'FILE', description: "images, .npy of shape [n, c, h, w] (c: the model's input channels)" },
    { name: 'output', type: 'string', valueName: 'FILE', description: 'logits, .npy of shape [n, classes] (replaced atomically); with --image optional' },
    { name: 'batch-size', type: 'int', min: 1, valueName: 'N', description: 'images per forward pass (default 16)' },
    { name: 'backend', type: 'string', valueName: 'KIND', description: 'auto (default), wasm-simd or reference' },
    { name: 'quiet', type: 'boolean', description: 'print nothing but errors (and --json lines)' },
    THREADS_FLAG,
    ...limitFlagSpecs([...CHECKPOINT_LIMIT_FLAGS, 'max-image-pixels']),
  ],
  notes: [
    '--input batches are used as they are: normalize them (e.g. ImageNet mean/std) the way the model was trained.',
    'The reader limits apply to the weights, (--max-tensor-bytes) to the input and (--max-image-pixels) to each image.',
    'Sizes take the suffixes K, M, G (powers of 1024: 600M, 2G); counts K, M (thousands, millions). See docs/SECURITY.md.',
    'Examples:',
    '  repvgg predict --weights runs/flowers/deploy.safetensors --image rose.jpg tulip.png',
    '  repvgg predict --arch A0 --weights RepVGG-A0-deploy.safetensors --image cat.jpg --topk 3 --json',
  ],
};

/** Index and softmax probability of each row's largest logit (index -1 and probability NaN for a
 *  row that is not all finite). */
function top1(logits: Float32Array, n: number, classes: number): { index: number; prob: number }[] {
  const out = [];
  for (let r = 0; r < n; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const [best] = topK(row, 1);
    out.push(best === undefined ? { index: -1, prob: NaN } : { index: best, prob: softmax(row)[best] });
  }
  return out;
}

/** Class names from a --labels file: one per line (blank lines at the end ignored) or a JSON list. */
async function readLabels(path: string, classes: number): Promise<string[]> {
  const bytes = await readInputFile(path, 'labels');
  if (bytes.length > MAX_LABELS_BYTES) throw new CliError(`labels ${path}: ${bytes.length} bytes, more than the ${MAX_LABELS_BYTES} allowed`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CliError(`labels ${path}: not UTF-8 text`);
  }
  let names: unknown[];
  if (text.trimStart().startsWith('[')) {
    try {
      names = JSON.parse(text) as unknown[];
    } catch (e) {
      throw new CliError(`labels ${path}: not a valid JSON list: ${(e as Error).message.slice(0, 120)}`);
    }
    if (!Array.isArray(names)) throw new CliError(`labels ${path}: not a JSON list`);
  } else {
    names = text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n');
  }
  if (names.length !== classes) throw new CliError(`labels ${path} has ${names.length} names, the model ${classes} classes`);
  try {
    return names.map((n, i) => checkClassName(n, `labels ${path}: name ${i + 1}`));
  } catch (e) {
    if (e instanceof ModelMetadataError) throw new CliError(e.message);
    throw e;
  }
}

export async function runPredict(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, predictSpec);
  if (args.help) {
    io.out(formatHelp(predictSpec));
    return 0;
  }
  const cmd = predictSpec.command;
  if (args.positionals.length) {
    throw new UsageError(`unexpected argument "${args.positionals[0]}" (${cmd} takes only options; images go after --image)`, cmd);
  }
  const arch = archFromArgs(args, cmd, true);
  const weightsPath = getString(args, 'weights');
  if (!weightsPath) throw new UsageError('--weights is required', cmd);
  const images = getStrings(args, 'image');
  const inputPath = getString(args, 'input');
  const outputPath = getString(args, 'output');
  if (images && inputPath) throw new UsageError('give --image or --input, not both', cmd);
  if (!images && !inputPath) throw new UsageError('--image (image files) or --input (an .npy batch) is required', cmd);
  if (inputPath && !outputPath) throw new UsageError('--input needs --output (the .npy the logits go to)', cmd);
  for (const f of ['topk', 'labels', 'json']) {
    if (!images && args.flags[f] !== undefined) throw new UsageError(`--${f} applies to --image`, cmd);
  }
  const backendKind = (getString(args, 'backend') ?? 'auto') as BackendKind;
  if (!BACKENDS.includes(backendKind)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${backendKind}"`, cmd);
  const batchSize = getInt(args, 'batch-size') ?? 16;
  const quiet = getBool(args, 'quiet');
  const limits = readLimitsOf(args, predictSpec);

  // An --input batch is read first: a wrong type is reported before the (slower) checkpoint read.
  let x;
  if (inputPath) {
    const raw = await readInputFile(inputPath, 'input');
    try {
      x = readNpy(raw, limits);
    } catch (e) {
      throw new CliError(`cannot read input ${inputPath}: ${readError(e, predictSpec)}`);
    }
    if (x.dtype !== 'float32') {
      throw new CliError(`input ${inputPath} holds ${x.sourceDtype} values: expected a float32 (or float64) image batch`);
    }
  }
  // Then the checkpoint: it says how many channels the input must have, and how images become inputs.
  const ck = await readCheckpoint(weightsPath, limits, predictSpec);
  if (!quiet) for (const note of ck.notes) io.err(`note: ${note}`);
  const resolved = resolveModel(ck, arch, getInt(args, 'classes'));
  if (images) return predictImages(args, io, resolved, ck, images, backendKind, batchSize, quiet, outputPath, limits);
  x = x!;

  const numClasses = resolved.metadata.numClasses;
  const inC = resolved.metadata.inChannels;
  const shape = `[${x.shape.join(', ')}]`;
  if (x.shape.length !== 4 || x.shape[1] !== inC) {
    throw new CliError(`input ${inputPath} has shape ${shape}: expected an NCHW batch [n, ${inC}, h, w]` +
      ` (the model takes ${inC} input channel${inC === 1 ? '' : 's'})` +
      (x.shape.length === 3 && x.shape[0] === inC ? ' (one image? add the batch axis: x[None])' : '') +
      (x.shape.length === 4 && x.shape[3] === inC && inC !== 1 ? ' (NHWC? transpose to NCHW: x.transpose(0, 3, 1, 2))' : ''));
  }
  const [n, , h, w] = x.shape;
  if (n === 0 || h === 0 || w === 0) throw new CliError(`input ${inputPath} has shape ${shape}: it holds no images`);

  const model = await buildModel(args, resolved, ck, backendKind);
  const form = model.deploy ? 'deploy form' : 'training form';
  const logits = new Float32Array(n * numClasses);
  const per = inC * h * w;
  let run: Runner | null = null;
  try {
    run = runner(model, Math.min(batchSize, n), [h, w]);
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      const xt = Tensor.from(model.backend, x.data.subarray(start * per, (start + m) * per), [m, inC, h, w]);
      const y = run.forward(xt);
      xt.dispose();
      logits.set(y.data, start * numClasses);
      y.dispose();
    }
  } finally {
    run?.dispose();
    model.dispose();
  }
  await writeFileAtomic(outputPath!, writeNpy({ dtype: 'float32', shape: [n, numClasses], data: logits }));

  if (!quiet) {
    const best = top1(logits, n, numClasses);
    best.slice(0, SHOWN_ROWS).forEach((b, i) => io.out(`${i}: class ${b.index} (p=${b.prob.toFixed(4)})`));
    if (n > SHOWN_ROWS) io.out(`... ${n - SHOWN_ROWS} more rows`);
    io.out(`wrote ${outputPath}: logits [${n}, ${numClasses}] float32 (${ck.metadata ? describeArch(resolved.metadata) : archName(resolved.metadata)}, ${form}, eval mode)`);
  }
  return 0;
}

/** How batches go through the model: a deploy-form model through an InferencePlan (weights packed
 *  once for all batches, conv + bias + ReLU in one pass; the same logits as its forward), a
 *  training-form one through its own forward (three branches per block). */
interface Runner { forward(x: Tensor): Tensor; dispose(): void }
function runner(model: RepVGG, batch: number, inputSize: [number, number]): Runner {
  if (!model.deploy) return { forward: (x) => model.forward(x), dispose: () => {} };
  const plan = InferencePlan.create(model, { batch, inputSize });
  return { forward: (x) => plan.run(x), dispose: () => plan.dispose() };
}

async function buildModel(args: ReturnType<typeof parseArgs>, resolved: ResolvedModel, ck: Awaited<ReturnType<typeof readCheckpoint>>,
  backendKind: BackendKind): Promise<RepVGG> {
  const backend = await createBackend(backendKind, { threads: getInt(args, 'threads') });
  let model = loadModel(backend, resolved, ck);
  if (getBool(args, 'deploy') && ck.form === 'train') model = repvggModelConvert(model, { inPlace: true });
  model.eval();
  return model;
}

/**
 * --image: each file read, decoded and preprocessed as the metadata says, in batches (never all
 * images in memory at once); the top classes printed per image. A file that cannot be read or
 * decoded is reported (on stderr, and as {"file", "error"} with --json) and the others go on;
 * the exit code is then 1.
 */
async function predictImages(args: ReturnType<typeof parseArgs>, io: Io, resolved: ResolvedModel,
  ck: Awaited<ReturnType<typeof readCheckpoint>>, files: string[], backendKind: BackendKind, batchSize: number,
  quiet: boolean, outputPath: string | undefined, limits: ImageLimits): Promise<number> {
  const m = resolved.metadata;
  if (!quiet) for (const a of resolved.assumed) io.err(`note: ${a}`);
  const pre = imageTransform(resolved, ck);
  const labelsPath = getString(args, 'labels');
  const names = labelsPath ? await readLabels(labelsPath, m.numClasses) : m.classNames;
  const k = Math.min(getInt(args, 'topk') ?? 5, m.numClasses);
  const json = getBool(args, 'json');
  const model = await buildModel(args, resolved, ck, backendKind);
  const [h, w] = pre.crop;
  let run: Runner | null = null;
  const per = m.inChannels * h * w;
  const logitsAll = outputPath ? new Float32Array(files.length * m.numClasses) : null;
  let failed = 0;
  try {
    run = runner(model, Math.min(batchSize, files.length), [h, w]);
    for (let start = 0; start < files.length; start += batchSize) {
      const batch = files.slice(start, start + batchSize);
      const x = new Float32Array(batch.length * per);
      const ok: number[] = [];
      const errors = new Map<number, string>();
      for (let i = 0; i < batch.length; i++) {
        try {
          x.set(await readImageInput(batch[i], pre, limits), ok.length * per);
          ok.push(i);
        } catch (e) {
          errors.set(i, e instanceof CliError ? e.message : `cannot decode ${batch[i]}: ${readError(e, predictSpec)}`);
        }
      }
      let logits: Float32Array = new Float32Array(0);
      if (ok.length > 0) {
        const xt = Tensor.from(model.backend, x.subarray(0, ok.length * per), [ok.length, m.inChannels, h, w]);
        const y = run.forward(xt);
        xt.dispose();
        logits = y.toFloat32Array();
        y.dispose();
      }
      for (let i = 0; i < batch.length; i++) {
        const file = batch[i];
        const err = errors.get(i);
        if (err !== undefined) {
          failed++;
          // Its row of --output stays NaN, so that row i is always file i.
          logitsAll?.fill(NaN, (start + i) * m.numClasses, (start + i + 1) * m.numClasses);
          io.err(`repvgg: error: ${err}`);
          if (json) io.out(JSON.stringify({ file, error: err }));
          continue;
        }
        const j = ok.indexOf(i);
        const row = logits.subarray(j * m.numClasses, (j + 1) * m.numClasses);
        logitsAll?.set(row, (start + i) * m.numClasses);
        const top: Prediction[] = topPredictions(row, k, names);
        if (json) {
          io.out(JSON.stringify({ file, top }));
        } else if (!quiet) {
          io.out(file);
          if (top.length === 0) io.out('  no answer: the logits are not all finite');
          top.forEach((p, r) => io.out(`  ${r + 1}. ${p.label}  ${p.probability.toFixed(4)}  (class ${p.index})`));
        }
      }
    }
  } finally {
    run?.dispose();
    model.dispose();
  }
  if (outputPath && logitsAll) {
    await writeFileAtomic(outputPath, writeNpy({ dtype: 'float32', shape: [files.length, m.numClasses], data: logitsAll }));
    if (!quiet && !json) io.out(`wrote ${outputPath}: logits [${files.length}, ${m.numClasses}] float32`);
  }
  return failed > 0 ? 1 : 0;
}
