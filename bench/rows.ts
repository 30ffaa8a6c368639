// What every comparison row of `npm run bench` holds: one batch size, two forms (multi-branch and
// fused, or for training: the multi-branch network and the plain one of the same shape).
import type { Timing } from './timing.js';

export interface FormResult {
  /** null when the form was not run (see `skipped`) */
  time: Timing | null;
  /** multiply-accumulates per call (all images of the batch), as src/models/summary.ts counts them */
  macs: number;
  /** flops per call: 2 * macs (forward), 6 * macs (training step: forward + both backward passes) */
  flops: number;
  /** peak live bytes of one call above what was live before it (activations + conv scratch) */
  activationBytes: number;
  /** "does not fit: ..." when the form was not run */
  skipped?: string;
  /** a planned form (InferencePlan): its two activation buffers, included in activationBytes */
  plannedBytes?: number;
}

export interface CompareRow {
  batch: number;
  multi: FormResult;
  fused: FormResult;
  /** multi / fused time, null if either was skipped */
  ratio: number | null;
  method: 'benchmark.js' | 'manual' | '-';
  /** model rows: the WASM memory the row's backend had mapped at the end (both forms, free blocks included) */
  mappedBytes?: number;
}

export interface Section {
  /** 'block-s1', 'block-s2', 'A0', 'B0', 'train-A0' */
  id: string;
  title: string;
  /** one line under the title: what is measured, the weights of each form */
  description: string;
  /** images per call and row */
  rows: CompareRow[];
  weightBytes: { multi: number; fused: number };
  /** the column names of the two forms */
  formNames: [string, string];
  /** training rows: the flops factor and unit differ; true shows "step" wording */
  training?: boolean;
  /** what the two forms are, one sentence for the Markdown (default: multi-branch vs fused) */
  formsNote?: string;
  /** the headline's words for the ratio (default "multi-branch / fused time") */
  ratioName?: string;
  /** the chart's legend names of the two forms (default "multi-branch" and formNames[1]) */
  chartLabels?: [string, string];
}

export function imagesPerSecond(f: FormResult, batch: number): number | null {
  return f.time ? batch / (f.time.median / 1000) : null;
}

export function gflops(f: FormResult): number | null {
  return f.time ? f.flops / (f.time.median / 1000) / 1e9 : null;
}
