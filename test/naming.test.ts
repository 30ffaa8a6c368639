// The naming rule: every kernel has one name and one file stem in every layer. For each export
// of the built module (dist/wasm/repvgg.wasm) but memory, heap_base, relaxed_simd (which build this
// is), zero_fill (the allocator's), the sizes (*_workspace, *_bytes: what the glue asks before a call, not ops) and the threads'
// forms of an op (*_items, *_range: its work items, run by the op's own glue):
// exactly one assembly/<stem>.ts defines it (`export function <name>`); its camelCase name is a
// method of both backends and a function of src/ops/index.ts; and src/ops/<stem>.ts,
// src/backends/reference/<stem>.ts, src/backends/wasm/<stem>.ts and test/<stem>.test.ts exist.
// The other way round, every op or backend file (but the shared infrastructure listed below) is
// named after an assembly/<stem>.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBackend } from '../src/index.js';
import * as ops from '../src/ops/index.js';

/** The repository (this file runs from dist/test/). */
const ROOT = new URL('../../', import.meta.url);
const WASM = new URL('../wasm/repvgg.wasm', import.meta.url);

/** Exports that are not kernels of an op. */
const NOT_OPS = new Set(['memory', 'heap_base', 'relaxed_simd', 'zero_fill']);
/** Files of src/ops and src/backends/* that serve every op and so are named for what they do. */
const INFRASTRUCTURE = new Set([
  'index', 'check', 'outputs', 'shape', 'context', 'exports', 'allocator', 'load', 'node-file',
  'control', 'pool', 'worker', 'worker-loop', 'web-worker', 'spawn-node', 'spawn-web', 'split',
]);
const LAYERS = ['src/ops', 'src/backends/reference', 'src/backends/wasm'];

const exists = (path: string): boolean => existsSync(new URL(path, ROOT));
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');
const stems = (dir: string): string[] =>
  readdirSync(new URL(`${dir}/`, ROOT)).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const camelCase = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

const kernels = WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(WASM)))
  .map((e) => e.name)
  .filter((name) => !NOT_OPS.has(name) && !/_(workspace|bytes|items|range)$/.test(name));
const assemblyStems = stems('assembly');
const sources = new Map(assemblyStems.map((s) => [s, read(`assembly/${s}.ts`)]));
const backends = [await createBackend('reference'), await createBackend('wasm-simd')];

test('the built module has kernel exports to check (conv2d among them)', () => {
  assert.ok(kernels.length > 10, `only ${kernels.length} kernel exports: ${kernels.join(', ')}`);
  assert.ok(kernels.includes('conv2d'));
});

for (const name of kernels) {
  test(`${name}: one assembly/<stem>.ts; ${camelCase(name)} on both backends and in src/ops; every layer's file`, () => {
    const definedIn = assemblyStems.filter((s) => new RegExp(`^export function ${name}\\(`, 'm').test(sources.get(s)!));
    assert.equal(definedIn.length, 1, `${name} is defined by export function in ${definedIn.length} assembly files ` +
      `(${definedIn.map((s) => `assembly/${s}.ts`).join(', ') || 'none'}); expected exactly one`);
    const stem = definedIn[0];
    const camel = camelCase(name);
    const problems: string[] = [];
    for (const b of backends) {
      if (typeof (b as unknown as Record<string, unknown>)[camel] !== 'function') problems.push(`the ${b.name} backend has no method ${camel}`);
    }
    if (typeof (ops as Record<string, unknown>)[camel] !== 'function') problems.push(`src/ops/index.ts exports no function ${camel}`);
    for (const path of [...LAYERS.map((d) => `${d}/${stem}.ts`), `test/${stem}.test.ts`]) {
      if (!exists(path)) problems.push(`${path} is missing (${name} is defined in assembly/${stem}.ts)`);
    }
    assert.equal(problems, [], `${name}:\n  ${problems.join('\n  ')}`);
  });
}

test('every op and backend file is named after an assembly/<stem>.ts (or is shared infrastructure)', () => {
  const strays = LAYERS.flatMap((dir) => stems(dir)
    .filter((s) => !INFRASTRUCTURE.has(s) && !sources.has(s))
    .map((s) => `${dir}/${s}.ts`));
  assert.equal(strays, [], `files with no assembly/<stem>.ts: ${strays.join(', ')}`);
});

test.run();
