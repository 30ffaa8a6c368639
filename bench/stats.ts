// Small helpers shared by the benchmarks: robust statistics, a Markdown table, the machine line.
import { cpus, totalmem } from 'node:os';

export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('quantile of no values');
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** A GitHub-flavoured Markdown table; also readable as plain text on a terminal. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function machineLine(used = 1): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `Machine: ${cpu}, ${cpus().length} cores (${used === 1 ? '1' : `up to ${used}`} used), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ` +
    `Node ${process.version} (V8 ${process.versions.v8}); ${new Date().toISOString().slice(0, 10)}.`;
}
