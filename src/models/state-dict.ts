// State dicts: a model's parameters and buffers by their PyTorch names, in and out. Loading checks
// the dict against the architecture and reports every missing, unexpected and mis-shaped key by
// name, and says so when a training-form model is handed a deploy-form dict (or the reverse).
import { WRAPPER_PREFIXES } from '../io/prefixes.js';
import type { FileTensor } from '../io/types.js';
import { BatchNorm2d } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { formatShape } from '../tensor.js';

export type StateDict = Map<string, FileTensor>;

/** Copies of every parameter and buffer, plus BN's num_batches_tracked (int64), in model order. */
export function stateDict(model: Module): StateDict {
  const out: StateDict = new Map();
  const params = new Map(model.namedParameters());
  const buffers = new Map(model.namedBuffers());
  for (const [prefix, m] of model.namedModules()) {
    const p = prefix ? `${prefix}.` : '';
    for (const [name, param] of params) {
      if (name.startsWith(p) && !name.slice(p.length).includes('.')) {
        out.set(name, { dtype: 'float32', sourceDtype: 'float32', shape: [...param.value.shape], data: param.value.toFloat32Array() });
      }
    }
    for (const [name, t] of buffers) {
      if (name.startsWith(p) && !name.slice(p.length).includes('.')) {
        out.set(name, { dtype: 'float32', sourceDtype: 'float32', shape: [...t.shape], data: t.toFloat32Array() });
      }
    }
    if (m instanceof BatchNorm2d) {
      out.set(`${p}num_batches_tracked`, { dtype: 'int64', sourceDtype: 'int64', shape: [], data: BigInt64Array.of(BigInt(m.numBatchesTracked)) });
    }
  }
  return out;
}

export interface LoadReport {
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

export class StateDictError extends Error {
  constructor(message: string, readonly report: LoadReport) {
    super(message);
    this.name = 'StateDictError';
  }
}

/** 'deploy' when the keys hold fused convolutions, 'train' when they hold branches, else null. */
export function detectForm(keys: Iterable<string>): 'train' | 'deploy' | null {
  let deploy = false;
  let train = false;
  for (const k of keys) {
    if (k.includes('rbr_reparam.')) deploy = true;
    if (k.includes('rbr_dense.') || k.includes('rbr_1x1.')) train = true;
  }
  return deploy && !train ? 'deploy' : train && !deploy ? 'train' : null;
}

/**
 * Copies the dict's values into the model's parameters and buffers. With `strict` (the default)
 * any missing, unexpected or mis-shaped key is an error listing all of them; otherwise the
 * matching keys are loaded and the report returned. Values are converted to float32; an int64
 * num_batches_tracked sets the BN's counter.
 */
export function loadStateDict(model: Module, dict: ReadonlyMap<string, FileTensor>, opts: { strict?: boolean } = {}): LoadReport {
  const strict = opts.strict ?? true;
  const targets = new Map<string, { shape: readonly number[]; set: (d: Float32Array) => void }>();
  for (const [name, p] of model.namedParameters()) {
    targets.set(name, { shape: p.value.shape, set: (d) => p.value.data.set(d) });
  }
  for (const [name, t] of model.namedBuffers()) targets.set(name, { shape: t.shape, set: (d) => t.data.set(d) });
  const counters = new Map<string, BatchNorm2d>();
  for (const [prefix, m] of model.namedModules()) {
    if (m instanceof BatchNorm2d) counters.set(`${prefix ? `${prefix}.` : ''}num_batches_tracked`, m);
  }

  const report: LoadReport = { missing: [], unexpected: [], mismatched: [] };
  for (const key of targets.keys()) if (!dict.has(key)) report.missing.push(key);
  for (const [key, t] of dict) {
    if (counters.has(key)) continue;
    const target = targets.get(key);
    if (!target) { report.unexpected.push(key); continue; }
    const size = t.shape.reduce((a, d) => a * d, 1);
    const want = target.shape.reduce((a, d) => a * d, 1);
    if (t.shape.length !== target.shape.length || t.shape.some((d, i) => d !== target.shape[i]) || size !== want) {
      report.mismatched.push({ key, expected: [...target.shape], got: [...t.shape] });
    }
  }
  const problems = report.missing.length + report.unexpected.length + report.mismatched.length;
  if (strict && problems > 0) throw new StateDictError(describeReport(model, dict, report), report);

  const mismatched = new Set(report.mismatched.map((m) => m.key));
  // Checked before anything is copied, so a refused dict leaves the model as it was.
  const notFloat = [...dict].filter(([key, t]) => targets.has(key) && !mismatched.has(key) && t.dtype !== 'float32')
    .map(([key, t]) => `${key} (${t.dtype})`);
  if (notFloat.length > 0) {
    throw new Error(`loadStateDict: ${notFloat.length} tensor(s) hold integers where float values are expected: ${notFloat.slice(0, 10).join(', ')}`);
  }
  for (const [key, t] of dict) {
    const bn = counters.get(key);
    if (bn) {
      bn.numBatchesTracked = Number(t.data[0] ?? 0);
      continue;
    }
    const target = targets.get(key);
    if (!target || mismatched.has(key)) continue;
    target.set(t.data as Float32Array);
  }
  return report;
}

function describeReport(model: Module, dict: ReadonlyMap<string, FileTensor>, r: LoadReport): string {
  const lines = ['the state dict does not fit this model:'];
  const modelForm = detectForm(model.namedParameters().map(([n]) => n));
  const dictForm = detectForm(dict.keys());
  if (modelForm && dictForm && modelForm !== dictForm) {
    lines.push(dictForm === 'deploy'
      ? '  this is a deploy-form (re-parameterized) checkpoint, but the model is in training form: build it with deploy: true (or --deploy)'
      : '  this is a training-form checkpoint, but the model is in deploy form: load it into a training-form model, then convert');
  }
  // A wrapper's prefix on every key (DataParallel's 'module.', torch.compile's '_orig_mod.'): say so.
  for (const [prefix] of WRAPPER_PREFIXES) {
    const keys = [...dict.keys()];
    if (keys.length > 0 && keys.every((k) => k.startsWith(prefix)) && r.missing.some((k) => dict.has(prefix + k))) {
      lines.push(`  every key starts with '${prefix}' (saved from a wrapped model): strip the prefix ` +
        '(readTorch does so unless stripPrefixes is false)');
    }
  }
  const list = (title: string, items: string[]) => {
    if (items.length === 0) return;
    const shown = items.slice(0, 20);
    lines.push(`  ${title} (${items.length}): ${shown.join(', ')}${items.length > shown.length ? `, ... and ${items.length - shown.length} more` : ''}`);
  };
  list('missing keys', r.missing);
  list('unexpected keys', r.unexpected);
  if (r.mismatched.length > 0) {
    list('mis-shaped keys', r.mismatched.map((m) => `${m.key} (expected ${formatShape(m.expected)}, got ${formatShape(m.got)})`));
  }
  return lines.join('\n');
}
