// `npm run bench`: the project's benchmark. For now the kernel benchmark; block- and model-level
// multi-branch vs fused runs join it as the model layer lands.
import { writeFileSync } from 'node:fs';
import { runKernelBench } from './kernels.js';

const argv = process.argv.slice(2);
for (const a of argv) {
  if (a === '--help' || a === '-h') {
    console.log('usage: npm run bench [-- --quick | --full]\n  --quick  a smoke run (under a minute)\n  --full   more samples');
    process.exit(0);
  }
  if (a !== '--quick' && a !== '--full') {
    console.error(`bench: unknown option ${a} (try --help)`);
    process.exit(2);
  }
}
const quick = argv.includes('--quick');
const full = argv.includes('--full');
const started = performance.now();
const { markdown } = await runKernelBench({ quick, full });
const out = new URL('../../bench/results.md', import.meta.url);
writeFileSync(out, `# Benchmark results\n\n${markdown}`);
console.log(`\nwrote bench/results.md in ${((performance.now() - started) / 1000).toFixed(0)} s`);
