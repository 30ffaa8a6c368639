// `npm run bench`: what re-parameterization buys, measured on this machine.
//   blocks      one RepVGGBlock, multi-branch vs fused, batch 1..128        (bench/blocks.ts)
//   models      RepVGG-A0 and B0 at 224x224, multi-branch vs the planned fused model, with the
//               activation memory of both per batch size                   (bench/models.ts)
//   algorithms  the planned fused A0, direct vs auto (Winograd) convs      (bench/algorithms.ts)
//   training    A0 training step at 32x32, multi-branch vs plain           (bench/training.ts)
//   kernels     the 3x3 conv kernels against this core's peak              (bench/kernels.ts)
// `repvgg bench` (src/cli/bench.ts) measures any model the same way from the installed package.
// Prints the tables and writes bench/results.md and bench/chart.svg (--quick: results-quick.md and
// chart-quick.svg, so a smoke run never overwrites the published results). Other engines:
// `npm run bench:peers` (bench/peers/), whose section of results.md this run keeps as it is.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { runAlgorithmBench } from './algorithms.js';
import { runBlockBench } from './blocks.js';
import { chartSvg } from './chart.js';
import { runKernelBench } from './kernels.js';
import { gib } from './memory.js';
import { largestBatch, memoryNeed, runModelBench } from './models.js';
import { activationTable, extractPeers, headlines, sectionMarkdown, sectionTable } from './report.js';
import type { Section } from './rows.js';
import { wasmBackend } from './setup.js';
import { machineLine } from './stats.js';
import type { PairOptions } from './timing.js';
import { runTrainBench } from './training.js';

const SECTIONS = ['blocks', 'models', 'algorithms', 'training', 'kernels'] as const;
type SectionName = typeof SECTIONS[number];

function usage(): string {
  return [
    'usage: npm run bench [-- --quick | --full] [--only blocks,models,algorithms,training,kernels]',
    '  (default)  blocks at batch 1-128, A0/B0 at batch 1, 8, 32, 128, algorithms at 1 and 8, training at 32 and 128: ~8 min on 2 cores',
    '  --quick    a smoke run under a minute (batch 1 and 8, A0 at batch 1 and 8, B0 at 1); writes bench/results-quick.md',
    '  --full     more samples everywhere, two timed calls per form at batch 128 (about 15-20 min)',
    '  --only     run only these sections (the files are written with what ran)',
  ].join('\n');
}

function parseArgs(argv: string[]): { mode: 'quick' | 'default' | 'full'; only: Set<SectionName> } {
  let mode: 'quick' | 'default' | 'full' = 'default';
  let only = new Set<SectionName>(SECTIONS);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { console.log(usage()); process.exit(0); }
    else if (a === '--quick') mode = 'quick';
    else if (a === '--full') mode = 'full';
    else if (a === '--only') {
      const list = (argv[++i] ?? '').split(',').filter(Boolean);
      const bad = list.filter((s) => !(SECTIONS as readonly string[]).includes(s));
      if (list.length === 0 || bad.length > 0) { console.error(`bench: --only takes ${SECTIONS.join(',')}; got "${argv[i] ?? ''}"`); process.exit(2); }
      only = new Set(list as SectionName[]);
    } else { console.error(`bench: unknown option ${a}\n${usage()}`); process.exit(2); }
  }
  return { mode, only };
}

interface Plan {
  blocks: { batches: number[]; timing: PairOptions; slowSamples: number };
  models: { archs: string[]; batches: (arch: string) => number[]; samples: (n: number) => number; warmup: (n: number) => boolean };
  algorithms: { batches: number[]; samples: number };
  training: { batches: number[]; samples: (n: number) => number };
  timing: PairOptions;
}

function plan(mode: 'quick' | 'default' | 'full'): Plan {
  if (mode === 'quick') {
    const timing = { maxTime: 0.15, minSamples: 2, manualSamples: 3 };
    return {
      blocks: { batches: [1, 8], timing, slowSamples: 3 },
      // A0 at batch 8 too: the activation memory table needs a batch where activations, not the
      // conv scratch, set the peak.
      models: { archs: ['A0', 'B0'], batches: (arch) => (arch === 'A0' ? [1, 8] : [1]), samples: () => 3, warmup: () => true },
      algorithms: { batches: [1, 8], samples: 3 },
      training: { batches: [32], samples: () => 3 },
      timing,
    };
  }
  const full = mode === 'full';
  const timing = full ? { maxTime: 1.5, minSamples: 6, manualSamples: 10 } : { maxTime: 0.5, minSamples: 3, manualSamples: 6 };
  return {
    blocks: { batches: [1, 2, 4, 8, 16, 32, 64, 128], timing, slowSamples: full ? 8 : 4 },
    models: {
      archs: ['A0', 'B0'], batches: () => [1, 8, 32, 128],
      samples: (n) => (full ? { 1: 15, 8: 8, 32: 4, 128: 2 } : { 1: 8, 8: 4, 32: 2, 128: 1 })[n] ?? 2,
      // Batch 128 in the default run: no untimed full call (25-60 s each); the kernels are long warm
      // by then, and models.ts maps the memory by running the first stages once.
      warmup: (n) => full || n < 128,
    },
    algorithms: { batches: [1, 8], samples: full ? 10 : 6 },
    training: { batches: [32, 128], samples: (n) => (n >= 128 ? (full ? 6 : 4) : (full ? 10 : 6)) },
    timing,
  };
}

const { mode, only } = parseArgs(process.argv.slice(2));
const p = plan(mode);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const log = (line: string) => console.log(line);
const loadAtStart = loadavg()[0];
log(`npm run bench${mode === 'default' ? '' : ` -- --${mode}`}: ${machineLine()}`);

const sections: Section[] = [];
let kernelMarkdown = '';
let fitNotes: string[] = [];
if (only.has('blocks')) {
  log('\n== Blocks: multi-branch vs fused ==');
  sections.push(...await runBlockBench({ ...p.blocks, log }));
  log(`(${elapsed()})`);
}
if (only.has('models')) {
  log('\n== Models at 224x224: multi-branch vs fused (the planned deploy model, InferencePlan) ==');
  sections.push(...await runModelBench({ ...p.models, timing: p.timing, log }));
  const wasm = await wasmBackend();
  fitNotes = p.models.archs.map((arch) => {
    const fit = largestBatch(wasm, arch);
    const need = memoryNeed(wasm, arch, 128);
    return `RepVGG-${arch} at 224x224: by live bytes (computed: weights + activation peak + conv scratch; fused: a deploy ` +
      'model, its plan\'s packed weights and two buffers, the input, scratch), the largest ' +
      `power-of-two batch within the 4 GiB of wasm32 is ${fit.multi} multi-branch and ${fit.fused} fused; batch 128 needs ` +
      `${gib(need.multi)} / ${gib(need.fused)} GiB. The allocator maps little more than the live peak for these forwards ` +
      '(see "wasm memory"; test/memory-models.test.ts holds A0 at batch 128 within 1.3x), so this is close to the practical limit.';
  });
  log(`(${elapsed()})`);
}
if (only.has('algorithms')) {
  log('\n== Algorithms: the planned fused A0 at 224x224, direct vs auto (Winograd) ==');
  sections.push(await runAlgorithmBench({ ...p.algorithms, timing: p.timing, log }));
  log(`(${elapsed()})`);
}
if (only.has('training')) {
  log('\n== Training step, A0 at 32x32 ==');
  sections.push(await runTrainBench({ ...p.training, timing: p.timing, log }));
  log(`(${elapsed()})`);
}
if (only.has('kernels')) {
  log('\n== Kernels ==');
  kernelMarkdown = (await runKernelBench({ quick: mode === 'quick', full: mode === 'full' })).markdown;
  log(`(${elapsed()})`);
}

const heads = headlines(sections);
log('\n== Results ==');
for (const s of sections) log(`\n${s.title}\n${sectionTable(s)}`);
const activations = activationTable(sections);
if (activations) log(`\nActivation memory, multi-branch vs fused (planned)\n${activations}`);
for (const n of fitNotes) log(`\n${n}`);
log('\nAt a glance:');
for (const h of heads) log(`  ${h}`);

const suffix = mode === 'quick' ? '-quick' : '';
const resultsUrl = new URL(`../../bench/results${suffix}.md`, import.meta.url);
const chartName = `chart${suffix}.svg`;
const total = elapsed();
const loadNote = `Load average (1 min) at the start and end: ${loadAtStart.toFixed(1)} / ${loadavg()[0].toFixed(1)}` +
  (Math.max(loadAtStart, loadavg()[0]) > 1.2 ? ' (other processes were running: absolute times are slowed, the interleaved ratios much less).' : '.');
const command = `npm run bench${mode === 'default' ? '' : ` -- --${mode}`}${only.size < SECTIONS.length ? ` --only ${[...only].join(',')}` : ''}`;
const hasChart = sections.some((s) => s.id.startsWith('block') || s.id === 'A0' || s.id === 'B0');
if (hasChart) {
  writeFileSync(new URL(`../../bench/${chartName}`, import.meta.url),
    chartSvg(sections, `repvgg-wasm, wasm-simd backend, 1 thread: ${machineLine().replace(/^Machine: /, '').replace(/\.$/, '')}`));
}
const peers = existsSync(resultsUrl) ? extractPeers(readFileSync(resultsUrl, 'utf8')) : null;
const md = [
  '# Benchmark results',
  '',
  machineLine(),
  `Command: \`${command}\`, ${total} in all. Written by bench/index.ts; \`npm run bench:peers\` adds the section on other engines.`,
  loadNote,
  '',
  '## At a glance',
  '',
  ...heads.map((h) => `- ${h}`),
  ...fitNotes.map((n) => `- ${n}`),
  '',
  ...(hasChart ? [`![time per image vs batch size](${chartName})`, ''] : []),
  '## How it is measured',
  '',
  '- One thread, the wasm-simd backend (WASM SIMD, 128-bit). Times are medians, with the 10th-90th percentile spread in ' +
    'brackets. The two forms of a row are timed interleaved (A B B A), so their ratio holds on this shared machine even ' +
    'when the absolute times drift; ratios are the ones to quote.',
  '- Calls under 250 ms: the `benchmark` package (Benchmark.js) times them in four rounds (A B, B A, A B, B A), the ' +
    'ratio being the median of the rounds\' ratios; each sample is the mean of as many calls as fill Benchmark.js\'s ' +
    '50 ms minimum. Longer calls (models from batch 8, blocks from batch 32, training ' +
    'steps): single calls timed in a manual loop after one untimed call per form, alternating the forms; the ratio is ' +
    'the median of neighbouring calls\' ratios. The "timing" column says which, with the samples per form.' +
    (mode === 'default' ? ' The batch-128 model rows are one call per form (each takes 25-60 s), so their spread is not ' +
      'measured; instead of an untimed full call, stage0 and stage1 of each form run once first, which maps the memory ' +
      'the timed calls reuse. `--full` times two calls per form after an untimed one.' : ''),
  '- Forms: "fused" in the model rows is the planned deploy model (`InferencePlan`: BN folded and weights packed ' +
    'once, conv + bias + ReLU in one pass, two activation buffers), the way to deploy with this library; in the block ' +
    'rows it is the deploy block\'s own forward (a plan is made for a whole network). Every conv runs the default ' +
    'algorithm (`auto`: Winograd for the 3x3 stride-1 convs, by the rule in bench/winograd.md) unless a row says ' +
    'otherwise. `repvgg bench` (the command line) measures the same forms for any architecture and batch.',
  '- GFLOP/s = 2 x multiply-accumulates / time, counting each form\'s own convolutions (multi-branch: 3x3 and 1x1; ' +
    'BN, identity, additions not counted), as `summarize()` does; training steps count 3 x the forward. Under Winograd ' +
    'this is an effective figure (the direct convolution\'s count over the time; Winograd does fewer multiplications).',
  '- Memory: the WASM allocator\'s high-water mark of live bytes during each timed call, minus what was live when it ' +
    'started (weights and input): activations plus conv scratch, the most one forward holds at once; for a plan, its ' +
    'two activation buffers (allocated when the plan is made) are added back. Weights are ' +
    'the live bytes each model added when built. A row whose need (computed beforehand from the model summary) passes ' +
    'the 4 GiB wasm32 can address is reported as not fitting instead of being run. "wasm memory" (model rows): the ' +
    'linear memory the row\'s backend had mapped at its end, both forms included; the allocator merges freed blocks ' +
    'with their free neighbours and returns free space at the top of the heap to its bump pointer, so this stays ' +
    'close to the largest live peak.',
  '',
  ...(sections.some((s) => s.id.startsWith('block')) ? ['## Blocks', '', ...sections.filter((s) => s.id.startsWith('block')).map(sectionMarkdown)] : []),
  ...(sections.some((s) => s.id === 'A0' || s.id === 'B0') ? ['## Models', '', ...sections.filter((s) => s.id === 'A0' || s.id === 'B0').map(sectionMarkdown)] : []),
  ...(activations ? ['## Activation memory: multi-branch vs fused (planned)', '',
    'The paper\'s memory claim, from the model rows above: the peak live bytes of one forward above its weights and ' +
    'input. The multi-branch block holds its input, the 3x3 branch and the 1x1 branch (and the identity BN\'s output) ' +
    'at once; the planned fused model holds two buffers of the largest activation throughout, ping-ponging between ' +
    'them, plus one conv\'s scratch. At batch 1 conv scratch (packed weights, GEMM panels) is a large part of either.',
    '', activations, ''] : []),
  ...(sections.some((s) => s.id.startsWith('algo-')) ? ['## Convolution algorithms', '', ...sections.filter((s) => s.id.startsWith('algo-')).map(sectionMarkdown)] : []),
  ...(sections.some((s) => s.training) ? ['## Training', '', ...sections.filter((s) => s.training).map(sectionMarkdown)] : []),
  ...(kernelMarkdown ? [kernelMarkdown, ''] : []),
  ...(peers ? [peers, ''] : []),
].join('\n');
writeFileSync(resultsUrl, md);
log(`\n${loadNote}`);
log(`\nwrote bench/results${suffix}.md${hasChart ? ` and bench/${chartName}` : ''} in ${total}`);
