// repvgg bench: the speed and memory of a RepVGG forward on this machine, as the installed package
// runs it: per batch size, form (multi-branch, planned fused, unplanned deploy) and convolution
// algorithm, the median time with its spread, images/s, GFLOP/s, the peak live activation bytes
// and the multi/fused ratio. A table for people, --json (one object a line) for scripts. The
// measuring itself is in bench-run.ts.
import { cpus } from 'node:os';
import { createBackend } from '../backends/create.js';
import type { WasmBackend } from '../backends/wasm/index.js';
import { wasmSimdSupported } from '../backends/wasm/index.js';
import { formatSI } from '../format.js';
import { RepVGG } from '../models/repvgg.js';
import { checkInputSize, summarize } from '../models/summary.js';
import { UsageError, formatHelp, getBool, getInt, getString, parseArgs, type CommandSpec } from './args.js';
import { ALGORITHMS, FORMS, convAlgorithms, runBench, type AlgorithmChoice, type BenchForm, type BenchRow } from './bench-run.js';
import { CliError, loadModel, readCheckpoint, resolveModel } from './checkpoint.js';
import type { Io } from './io.js';
import { CHECKPOINT_LIMIT_FLAGS, limitFlagSpecs, readLimitsOf } from './limit-flags.js';
import { archFlags, archFromArgs, modelConfig } from './model-args.js';

/** Logits of two forms further apart than this (norm-wise) mean something is wrong: the project's
 *  tolerance for fused vs multi-branch networks (test/helpers/tolerances.ts). */
const FORMS_AGREE = 1e-4;

export const benchSpec: CommandSpec = {
  command: 'repvgg bench',
  summary: 'Times a RepVGG forward on this machine (wasm-simd backend) per thread count, batch size, form and ' +
    'convolution algorithm: median ms per batch with its spread, images/s, GFLOP/s, the peak live activation ' +
    'memory of one forward, and each form\'s time relative to the fused one.',
  flags: [
    ...archFlags('official architecture (with --weights: default from the file\'s metadata or shapes)'),
    { name: 'classes', type: 'int', min: 1, valueName: 'N', description: 'number of classes (default 1000, or the checkpoint\'s)' },
    { name: 'weights', type: 'string', valueName: 'FILE', description: 'a checkpoint (torch .pt/.pth, Paddle .pdparams or .safetensors, either form) instead of random weights' },
    ...limitFlagSpecs(CHECKPOINT_LIMIT_FLAGS),
    { name: 'size', type: 'int', min: 32, valueName: 'N', description: 'input height and width (default 224)' },
    { name: 'batch', type: 'string', valueName: 'a,b,...', description: 'batch sizes (default 1)' },
    { name: 'threads', type: 'string', valueName: 'a,b,...', description: 'thread counts, a group of rows each (default 1)' },
    { name: 'form', type: 'string', valueName: 'multi,fused,deploy', description: 'forms to time (default multi,fused; fused,deploy with a deploy checkpoint)' },
    { name: 'algorithm', type: 'string', valueName: 'auto,direct,...', description: 'conv algorithms: auto (the measured rule), direct, winograd2, winograd4; several give a group each (default auto)' },
    { name: 'relaxed-simd', type: 'string', valueName: 'auto|on|off', description: 'the relaxed-SIMD (FMA) build: where available (auto, the default), required, or not' },
    { name: 'repeat', type: 'int', min: 1, valueName: 'N', description: 'timed samples per form (default: as many as --time allows, at least 5)' },
    { name: 'time', type: 'string', valueName: 'S', description: 'seconds of timed samples per batch and algorithm (default 2)' },
    { name: 'warmup', type: 'string', valueName: 'S', description: 'seconds of untimed calls per form first (default 0.3; at least one call)' },
    { name: 'json', type: 'boolean', description: 'one JSON object per row on stdout instead of the table' },
  ],
  notes: [
    'Forms: multi = the multi-branch network in eval mode; fused = the planned deploy model (InferencePlan:',
    'weights packed once, conv + bias + ReLU in one pass, two activation buffers); deploy = the converted',
    "model's own forward, unplanned. Every form computes the same logits (checked, within 1e-4).",
    'Columns: ms per call for the whole batch (median, min-max, p25-p75 of the samples); GFLOP/s = 2 x MACs',
    '(summarize(): 3x3 + 1x1 convs and the classifier for multi, 3x3 convs and the classifier fused) / time,',
    'an effective figure under Winograd; act = peak live bytes of one forward above the weights and input',
    "(fused: including the plan's two activation buffers, also shown as planned); vs fused = time / fused time,",
    'the median of per-round ratios (the forms are timed interleaved).',
    'Examples:',
    '  repvgg bench --arch A0 --size 224 --batch 1,8 --form multi,fused',
    '  repvgg bench --arch A0 --batch 8 --form fused --algorithm direct,auto --json',
    '  repvgg bench --arch A0 --batch 1,8 --form fused --threads 1,2,4',
    '  repvgg bench --arch custom --blocks 1,2,2,1 --widths 0.5,0.5,0.5,1 --classes 10 --size 32 --batch 1,64',
  ],
};

function listOf<T extends string>(value: string | undefined, name: string, allowed: readonly T[], fallback: T[]): T[] {
  if (value === undefined) return fallback;
  const items = value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (items.length === 0 || bad.length > 0) {
    throw new UsageError(`--${name} takes a comma-separated list of ${allowed.join(', ')}; got "${value}"`, benchSpec.command);
  }
  return [...new Set(items)] as T[];
}

function counts(value: string | undefined, name: string): number[] {
  if (value === undefined) return [1];
  const items = value.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => !/^\d+$/.test(s) || Number(s) < 1)) {
    throw new UsageError(`--${name} takes a comma-separated list of positive integers, got "${value}"`, benchSpec.command);
  }
  return [...new Set(items.map(Number))];
}

function seconds(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const s = Number(value);
  if (value.trim() === '' || !Number.isFinite(s) || s < 0) throw new UsageError(`--${name} expects seconds (>= 0), got "${value}"`, benchSpec.command);
  return s;
}

function relaxedOption(value: string | undefined): boolean | 'auto' | undefined {
  if (value === undefined) return undefined; // REPVGG_RELAXED_SIMD, else auto (createBackend)
  const v = value.toLowerCase();
  if (v === 'auto') return 'auto';
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new UsageError(`--relaxed-simd must be auto, on or off, got "${value}"`, benchSpec.command);
}

const mib = (b: number) => (b / 2 ** 20).toFixed(b >= 100 * 2 ** 20 ? 0 : b >= 10 * 2 ** 20 ? 1 : 2);
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const num = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** A Markdown-style table (also readable as plain text). */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export const TABLE_COLUMNS = ['threads', 'batch', 'form', 'algorithm', 'ms median', 'min-max', 'p25-p75', 'img/s', 'GFLOP/s',
  'act MiB', 'planned MiB', 'weights MiB', 'vs fused', 'samples'];

function tableRow(r: BenchRow & { threads: number }): string[] {
  return [
    String(r.threads), String(r.batch), r.form, r.algorithm, ms(r.msMedian), `${ms(r.msMin)}-${ms(r.msMax)}`, `${ms(r.msP25)}-${ms(r.msP75)}`,
    num(r.imagesPerSecond), num(r.gflops), mib(r.activationBytes), r.plannedActivationBytes === null ? '-' : mib(r.plannedActivationBytes),
    mib(r.weightBytes), r.vsFused === null || r.form === 'fused' ? '-' : `x${r.vsFused.toFixed(2)}`,
    `${r.samples} x ${r.callsPerSample}`,
  ];
}

const countsText = (c: BenchRow['convAlgorithms']) => Object.entries(c).map(([a, k]) => `${a} ${k}`).join(', ');

export async function runBenchCommand(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, benchSpec);
  if (args.help) {
    io.out(formatHelp(benchSpec));
    return 0;
  }
  const cmd = benchSpec.command;
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`, cmd);
  const weightsPath = getString(args, 'weights');
  // Without --weights, --arch builds the network; with them, the file says what it holds (its
  // metadata or its shapes), as for predict.
  const given = weightsPath === undefined ? modelConfig(args, cmd) : null;
  const size = getInt(args, 'size') ?? 224;
  try {
    checkInputSize([size, size], 'input');
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^input: /, ''), cmd);
  }
  const ck = weightsPath === undefined ? null : await readCheckpoint(weightsPath, readLimitsOf(args, benchSpec), benchSpec);
  const forms = listOf<BenchForm>(getString(args, 'form'), 'form', FORMS, ck?.form === 'deploy' ? ['fused', 'deploy'] : ['multi', 'fused']);
  if (ck?.form === 'deploy' && forms.includes('multi')) {
    throw new UsageError(`${weightsPath} holds the deploy form: the multi-branch form cannot be built from it (use --form fused,deploy)`, cmd);
  }
  const algorithms = listOf<AlgorithmChoice>(getString(args, 'algorithm'), 'algorithm', ALGORITHMS, ['auto']);
  const batchList = counts(getString(args, 'batch'), 'batch');
  const threadList = counts(getString(args, 'threads'), 'threads');
  const json = getBool(args, 'json');
  const opts = {
    size, batches: batchList, forms, algorithms, repeat: getInt(args, 'repeat'),
    timeMs: 1000 * seconds(getString(args, 'time'), 'time', 2), warmupMs: 1000 * seconds(getString(args, 'warmup'), 'warmup', 0.3),
  };
  const relaxedSimd = relaxedOption(getString(args, 'relaxed-simd'));

  // Timing the TypeScript reference would measure nothing anyone runs: the command needs WASM SIMD.
  if (!wasmSimdSupported()) throw new CliError('this runtime has no WebAssembly SIMD: repvgg bench measures the wasm-simd backend');
  const resolved = ck ? resolveModel(ck, archFromArgs(args, cmd, true), getInt(args, 'classes')) : null;
  const name = resolved?.name ?? given!.name;
  const cfg = resolved?.config ?? given!.cfg;
  const numClasses = resolved?.metadata.numClasses ?? getInt(args, 'classes') ?? 1000;
  const label = name === 'custom' ? `RepVGG (custom: blocks ${cfg.numBlocks.join(',')}, widths ${cfg.widthMultiplier.join(',')})` : `RepVGG-${name}`;
  const allRows: (BenchRow & { threads: number })[] = [];
  let worst = 0;
  // A group of rows per thread count, each on its own backend (and its own copy of the model).
  for (const [ti, requested] of threadList.entries()) {
    const backend = (await createBackend('wasm-simd', { relaxedSimd, threads: requested })) as WasmBackend;
    const model = ck && resolved ? loadModel(backend, resolved, ck) : new RepVGG(backend, { ...cfg, numClasses, inChannels: 3 });
    model.eval();
    const models = model.deploy ? { multi: null, deploy: model } : { multi: model, deploy: null };
    const threads = backend.threads;
    if (!json) {
      if (ti === 0) {
        const macs = summarize(model, { inputSize: [size, size] }).totals.macs;
        io.out(`${label}, ${size}x${size}, ${numClasses} classes, ${ck ? `weights from ${weightsPath} (${ck.form} form)` : 'random weights'}`);
        io.out(`backend wasm-simd (${backend.isa}); ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}`);
        io.out(`MACs per image: ${formatSI(macs.train)} multi-branch (3x3 + 1x1 convs), ${formatSI(macs.deploy)} fused`);
        for (const a of algorithms) {
          io.out(`algorithm ${a}: the ${model.blocks.length} 3x3 convs run ${countsText(convAlgorithms(model, size, 1, a))}`);
        }
      }
      io.out(`threads: ${threads}${backend.threadsReason ? ` (${requested} asked for: ${backend.threadsReason})` : ''}`);
    }
    const common = { arch: name, size, classes: numClasses, threads, backend: backend.name, isa: backend.isa };
    try {
      const rows = runBench(backend, models, opts, (r) => {
        worst = Math.max(worst, r.logitsRelErr);
        if (json) io.out(JSON.stringify({ ...common, ...r }));
        else {
          io.err(`  ${threads} thread${threads > 1 ? 's' : ''}, batch ${r.batch} ${r.form} (${r.algorithm}): ${ms(r.msMedian)} ms, ` +
            `${num(r.imagesPerSecond)} img/s, act ${mib(r.activationBytes)} MiB`);
        }
      });
      allRows.push(...rows.map((r) => ({ ...r, threads })));
    } finally {
      model.dispose();
      backend.dispose();
    }
  }
  if (!json) {
    io.out('');
    io.out(table(TABLE_COLUMNS, allRows.map(tableRow)));
  }
  if (worst > FORMS_AGREE) {
    io.err(`repvgg bench: the forms' logits differ by up to ${worst.toExponential(2)} (more than ${FORMS_AGREE}): the timings compare different results`);
    return 1;
  }
  return 0;
}
