// repvgg predict --arch <arch> --weights <file> --input x.npy --output y.npy: logits of an NCHW
// batch, in eval mode (BN uses its running statistics), from a training- or deploy-form checkpoint.
import { createBackend, type BackendKind } from '../backends/create.js';
import { readNpy } from '../io/npy.js';
import { softmax, topK } from '../topk.js';
import { writeFileAtomic } from '../io/node.js';
import { writeNpy } from '../io/npy.js';
import { REPVGG_VARIANTS, repvggModelConvert } from '../models/repvgg.js';
import { Tensor } from '../tensor.js';
import { UsageError, archArg, formatHelp, getBool, getInt, getString, parseArgs, requireString, type CommandSpec } from './args.js';
import { CliError, classesOf, loadModel, readCheckpoint, readInputFile } from './checkpoint.js';
import type { Io } from './io.js';

const BACKENDS: BackendKind[] = ['auto', 'wasm-simd', 'reference'];
/** Rows of top-1 results printed before the rest is summarized in one line. */
const SHOWN_ROWS = 20;

export const predictSpec: CommandSpec = {
  command: 'repvgg predict',
  summary: 'Runs a RepVGG model in eval mode on an NCHW float batch stored as .npy (float32, or float64 ' +
    'converted) and writes the logits [n, classes] as a float32 .npy.',
  flags: [
    { name: 'arch', type: 'string', valueName: 'ARCH', description: `architecture: ${Object.keys(REPVGG_VARIANTS).join(', ')} (or RepVGG-A0, ...)` },
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'checkpoint, torch .pt/.pth or .safetensors, training or deploy form (told from its keys)' },
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: "number of classes (default: the checkpoint's linear.weight rows)" },
    { name: 'deploy', type: 'boolean', description: 'convert a training-form checkpoint to the deploy form before running' },
    { name: 'input', type: 'string', valueName: 'FILE', description: 'images, .npy of shape [n, 3, h, w]' },
    { name: 'output', type: 'string', valueName: 'FILE', description: 'logits, .npy of shape [n, classes] (replaced atomically)' },
    { name: 'batch-size', type: 'int', min: 1, valueName: 'N', description: 'images per forward pass (default 16)' },
    { name: 'backend', type: 'string', valueName: 'KIND', description: 'auto (default), wasm-simd or reference' },
    { name: 'threads', type: 'int', min: 1, valueName: 'N', description: 'threads to compute on (default: the cores available; REPVGG_THREADS)' },
    { name: 'quiet', type: 'boolean', description: 'print nothing but errors' },
  ],
  notes: ['Inputs are used as they are: normalize them (e.g. ImageNet mean/std) the way the model was trained.'],
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

export async function runPredict(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, predictSpec);
  if (args.help) {
    io.out(formatHelp(predictSpec));
    return 0;
  }
  const cmd = predictSpec.command;
  if (args.positionals.length) throw new CliError(`unexpected argument "${args.positionals[0]}" (${cmd} takes only options)`);
  const arch = archArg(requireString(args, 'arch', cmd), cmd);
  const weightsPath = requireString(args, 'weights', cmd);
  const inputPath = requireString(args, 'input', cmd);
  const outputPath = requireString(args, 'output', cmd);
  const backendKind = (getString(args, 'backend') ?? 'auto') as BackendKind;
  if (!BACKENDS.includes(backendKind)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}, got "${backendKind}"`, cmd);
  const batchSize = getInt(args, 'batch-size') ?? 16;
  const quiet = getBool(args, 'quiet');

  // The input first: a wrong shape is reported before the (slower) model load.
  const raw = await readInputFile(inputPath, 'input');
  let x;
  try {
    x = readNpy(raw);
  } catch (e) {
    throw new CliError(`cannot read input ${inputPath}: ${(e as Error).message}`);
  }
  const shape = `[${x.shape.join(', ')}]`;
  if (x.dtype !== 'float32') {
    throw new CliError(`input ${inputPath} holds ${x.sourceDtype} values: expected a float32 (or float64) image batch`);
  }
  const inC = 3;
  if (x.shape.length !== 4 || x.shape[1] !== inC) {
    throw new CliError(`input ${inputPath} has shape ${shape}: expected an NCHW batch [n, ${inC}, h, w]` +
      (x.shape.length === 3 && x.shape[0] === inC ? ' (one image? add the batch axis: x[None])' : '') +
      (x.shape.length === 4 && x.shape[3] === inC ? ' (NHWC? transpose to NCHW: x.transpose(0, 3, 1, 2))' : ''));
  }
  const [n, , h, w] = x.shape;
  if (n === 0 || h === 0 || w === 0) throw new CliError(`input ${inputPath} has shape ${shape}: it holds no images`);

  const ck = await readCheckpoint(weightsPath);
  if (!quiet) for (const note of ck.notes) io.err(`note: ${note}`);
  const numClasses = classesOf(getInt(args, 'classes'), ck);
  const backend = await createBackend(backendKind, { threads: getInt(args, 'threads') });
  let model = loadModel(backend, arch, numClasses, ck);
  if (getBool(args, 'deploy') && ck.form === 'train') model = repvggModelConvert(model, { inPlace: true });
  model.eval();
  const form = model.deploy ? 'deploy form' : 'training form';

  const logits = new Float32Array(n * numClasses);
  const per = inC * h * w;
  for (let start = 0; start < n; start += batchSize) {
    const m = Math.min(batchSize, n - start);
    const xt = Tensor.from(backend, x.data.subarray(start * per, (start + m) * per), [m, inC, h, w]);
    const y = model.forward(xt);
    xt.dispose();
    logits.set(y.data, start * numClasses);
    y.dispose();
  }
  model.dispose();
  backend.dispose();
  await writeFileAtomic(outputPath, writeNpy({ dtype: 'float32', shape: [n, numClasses], data: logits }));

  if (!quiet) {
    const best = top1(logits, n, numClasses);
    best.slice(0, SHOWN_ROWS).forEach((b, i) => io.out(`${i}: class ${b.index} (p=${b.prob.toFixed(4)})`));
    if (n > SHOWN_ROWS) io.out(`... ${n - SHOWN_ROWS} more rows`);
    io.out(`wrote ${outputPath}: logits [${n}, ${numClasses}] float32 (RepVGG-${arch}, ${form}, eval mode)`);
  }
  return 0;
}
