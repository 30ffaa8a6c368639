// The `repvgg` command: dispatches to the subcommands and turns every failure into a one-line
// message on stderr and a non-zero exit code (2 for a bad command line, 1 for anything else).
// Set REPVGG_DEBUG=1 to get stack traces.
import { ReadLimitError } from '../io/limits.js';
import { UsageError, type CommandSpec } from './args.js';
import { convertSpec, runConvert } from './convert.js';
import { exportSpec, runExport } from './export.js';
import { featuresSpec, runFeatures } from './features.js';
import { infoSpec, runInfo } from './info.js';
import { benchSpec, runBenchCommand } from './bench.js';
import { processIo, type Io } from './io.js';
import { explainReadLimit } from './limit-flags.js';
import { predictSpec, runPredict } from './predict.js';
import { runTrain, trainSpec } from './train.js';

const COMMANDS: Record<string, { run: (argv: readonly string[], io: Io) => Promise<number>; spec: CommandSpec; summary: string }> = {
  info: { run: runInfo, spec: infoSpec, summary: 'parameters, MACs and memory of an architecture, per stage' },
  convert: { run: runConvert, spec: convertSpec, summary: 'convert a training checkpoint to the deploy form (.safetensors)' },
  predict: { run: runPredict, spec: predictSpec, summary: 'top classes of image files (PNG, JPEG), or logits of an .npy batch' },
  features: { run: runFeatures, spec: featuresSpec, summary: 'PNG grids of the stem\'s and each stage\'s feature maps, both forms' },
  export: { run: runExport, spec: exportSpec, summary: 'a checkpoint as ONNX, safetensors or .pth, training or deploy form' },
  train: { run: runTrain, spec: trainSpec, summary: 'train on mnist, CIFAR-10, .npy data or a folder of images; checkpoints, resume, deploy evaluation' },
  bench: { run: runBenchCommand, spec: benchSpec, summary: 'speed and activation memory of a forward: per batch, form and conv algorithm' },
};

export const MAIN_HELP = [
  'usage: repvgg <command> [options]',
  '',
  'RepVGG networks on the CPU through WebAssembly SIMD.',
  '',
  'commands:',
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(8)}  ${c.summary}`),
  '',
  'Architectures: A0 A1 A2 B0 B1 B1g2 B1g4 B2 B2g2 B2g4 B3 B3g2 B3g4 D2se (also RepVGG-A0, any case).',
  'Run "repvgg <command> --help" for the options of a command.',
  'Examples:',
  '  repvgg info A0 --classes 10 --size 32 32',
  '  repvgg convert --arch A0 --in RepVGG-A0-train.pth --out RepVGG-A0-deploy.safetensors',
  '  repvgg predict --arch A0 --weights RepVGG-A0-deploy.safetensors --input x.npy --output logits.npy',
  '  repvgg predict --weights runs/mnist/deploy.safetensors --image seven.png --json',
  '  repvgg export --arch A0 --weights RepVGG-A0-train.pth --format onnx --form train --out A0-train.onnx',
  '  repvgg train --arch custom --blocks 2,2,2,1 --widths 1,1,1,1 --data mnist --epochs 20 --weight-decay 5e-4 --label-smoothing 0.1 --out runs/mnist',
  '  repvgg bench --arch A0 --size 224 --batch 1,8 --form multi,fused --threads 1,2',
].join('\n');

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: Io = processIo, env: Record<string, string | undefined> = process.env): Promise<number> {
  const [first, ...rest] = argv;
  try {
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      if (first === 'help' && rest[0] && rest[0] in COMMANDS) return await COMMANDS[rest[0]].run(['--help'], io);
      if (first === undefined) {
        io.err(MAIN_HELP);
        return 2;
      }
      io.out(MAIN_HELP);
      return 0;
    }
    if (first === '--version') {
      io.out(await version());
      return 0;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first} (a command comes first: ${Object.keys(COMMANDS).join(', ')})`);
    const cmd = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
    if (!cmd) throw new UsageError(`unknown command "${first}" (expected one of: ${Object.keys(COMMANDS).join(', ')})`);
    return await cmd.run(rest, io);
  } catch (e) {
    const debug = env.REPVGG_DEBUG === '1';
    if (e instanceof UsageError) {
      io.err(`${e.command}: ${e.message}`);
      io.err(`run "${e.command} --help" for usage`);
      if (debug) io.err(String(e.stack));
      return 2;
    }
    // A reader's limit (train's data files, ...): advise the command's flag, not the library option.
    const spec = first !== undefined && Object.hasOwn(COMMANDS, first) ? COMMANDS[first].spec : undefined;
    const msg = e instanceof ReadLimitError ? explainReadLimit(e, spec) : e instanceof Error ? e.message : String(e);
    io.err(`repvgg: error: ${msg}`);
    if (debug && e instanceof Error) io.err(String(e.stack));
    return 1;
  }
}

/** The package's version, from the package.json two directories above dist/src/cli. */
async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  try {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return `repvgg-wasm ${pkg.version ?? 'unknown'}`;
  } catch {
    return 'repvgg-wasm (version unknown)';
  }
}
