// Tables and headlines of `npm run bench`: one Markdown table per section (also what the terminal
// shows), the headline ratios, and bench/results.md around them.
import { mib } from './memory.js';
import { gflops, imagesPerSecond, type CompareRow, type FormResult, type Section } from './rows.js';
import { formatTable } from './stats.js';

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

function timeCell(f: FormResult): string {
  if (!f.time) return f.skipped ?? 'not run';
  return `${ms(f.time.median)} (${ms(f.time.p10)}-${ms(f.time.p90)})`;
}

const num = (v: number | null, digits = 1) => (v === null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(digits));

export function sectionTable(s: Section): string {
  const [a, b] = s.formNames;
  const unit = s.training ? 'ms/step' : 'ms';
  const header = ['batch', `${a} ${unit} (p10-p90)`, `${b} ${unit} (p10-p90)`, `${a}/${b}`, `img/s ${a}`, `img/s ${b}`,
    `GFLOP/s ${a}`, `GFLOP/s ${b}`, `${s.training ? 'step' : 'act'} MiB ${a}`, `${s.training ? 'step' : 'act'} MiB ${b}`, 'timing'];
  const rows = s.rows.map((r: CompareRow) => [
    String(r.batch), timeCell(r.multi), timeCell(r.fused), r.ratio === null ? '-' : `x${r.ratio.toFixed(2)}`,
    num(imagesPerSecond(r.multi, r.batch)), num(imagesPerSecond(r.fused, r.batch)),
    num(gflops(r.multi)), num(gflops(r.fused)),
    r.multi.time ? mib(r.multi.activationBytes) : '-', r.fused.time ? mib(r.fused.activationBytes) : '-',
    r.multi.time ? `${r.method === 'benchmark.js' ? 'Benchmark.js' : 'manual'}, ${r.multi.time.samples.length}` : '-',
  ]);
  if (s.rows.some((r) => r.mappedBytes !== undefined)) {
    header.push('wasm memory MiB');
    rows.forEach((cells, i) => cells.push(s.rows[i].mappedBytes === undefined ? '-' : mib(s.rows[i].mappedBytes!)));
  }
  return formatTable(header, rows);
}

export function sectionMarkdown(s: Section): string {
  const [a, b] = s.formNames;
  return [
    `### ${s.title}`,
    '',
    s.description,
    (s.formsNote ? `${s.formsNote} ` : `"${a}" is the multi-branch form${s.training ? ', "plain" the deploy structure trained as it is' : ', "fused" the deploy form'}. `) +
      `Weights${s.training ? ' (+ momentum buffers)' : ''}: ${a} ${mib(s.weightBytes.multi)} MiB, ${b} ${mib(s.weightBytes.fused)} MiB. ` +
      `"${s.training ? 'step' : 'act'} MiB": peak live bytes of one ${s.training ? 'step' : 'forward'} above its weights and input.`,
    '',
    sectionTable(s),
    '',
  ].join('\n');
}

/** "A0 224: x1.21 at batch 1, x1.12 at batch 128; activations 1.43x" lines. */
export function headlines(sections: Section[]): string[] {
  const lines: string[] = [];
  for (const s of sections) {
    const done = s.rows.filter((r) => r.ratio !== null);
    if (done.length === 0) continue;
    const first = done[0];
    const last = done[done.length - 1];
    const at = (r: CompareRow) => `x${r.ratio!.toFixed(2)} at batch ${r.batch}`;
    const act = last.multi.activationBytes / Math.max(1, last.fused.activationBytes);
    const name = `${s.title}: ${s.ratioName ?? (s.training ? 'multi-branch step / plain step' : 'multi-branch / fused time')}`;
    lines.push(`${name} ${at(first)}${last !== first ? `, ${at(last)}` : ''}; ` +
      `${s.training ? 'step memory' : 'activation memory'} ${act.toFixed(2)}x at batch ${last.batch} ` +
      `(${mib(last.multi.activationBytes)} vs ${mib(last.fused.activationBytes)} MiB)`);
  }
  return lines;
}

/**
 * The memory claim of re-parameterization, from the model rows: per model and batch, the peak live
 * activation bytes of one multi-branch forward against the planned fused one (which holds its
 * two activation buffers throughout, plus conv scratch).
 */
export function activationTable(sections: Section[]): string | null {
  const rows = sections.filter((s) => !s.training && s.rows.some((r) => r.fused.plannedBytes !== undefined) && s.formNames[0] === 'multi')
    .flatMap((s) => s.rows.filter((r) => r.multi.time && r.fused.time).map((r) => [
      s.title.split(',')[0], String(r.batch), mib(r.multi.activationBytes), mib(r.fused.activationBytes),
      r.fused.plannedBytes === undefined ? '-' : mib(r.fused.plannedBytes),
      `${(r.multi.activationBytes / Math.max(1, r.fused.activationBytes)).toFixed(2)}x`,
    ]));
  if (rows.length === 0) return null;
  return formatTable(['model', 'batch', 'multi-branch act MiB', 'fused (planned) act MiB', 'of which the plan\'s two buffers', 'multi / fused'], rows);
}

/** `npm run bench` leaves the peers section (written by `npm run bench:peers`) as it was. */
export const PEERS_BEGIN = '<!-- peers:begin (written by npm run bench:peers) -->';
export const PEERS_END = '<!-- peers:end -->';

export function extractPeers(markdown: string): string | null {
  const i = markdown.indexOf(PEERS_BEGIN);
  const j = markdown.indexOf(PEERS_END);
  return i >= 0 && j > i ? markdown.slice(i, j + PEERS_END.length) : null;
}

/** Puts `peers` (already wrapped in the markers) in place of the old peers section, or at the end. */
export function replacePeers(markdown: string, peers: string): string {
  const old = extractPeers(markdown);
  if (old) return markdown.replace(old, peers);
  return `${markdown.trimEnd()}\n\n${peers}\n`;
}
