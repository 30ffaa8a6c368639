// The SVG chart of bench/results.md: time per image (ms, log scale) against the batch size (log
// scale), multi-branch and fused, one panel per block shape and one for the models. Hand-written
// SVG, no dependency; it renders on GitHub and in any browser.
import type { Section } from './rows.js';

interface Series { label: string; color: string; dash: string; marker: 'circle' | 'square'; points: [number, number][] }
interface Panel { title: string; series: Series[] }

const COLORS = { multi: '#d95f02', fused: '#1b6fb5' };
const W = 330;
const H = 300;
const M = { left: 58, right: 12, top: 34, bottom: 78 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v >= 1 ? String(+v.toFixed(2)) : String(+v.toPrecision(2)));

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
    }
  }
  return ticks;
}

function panelSvg(p: Panel, x0: number): string {
  const pts = p.series.flatMap((s) => s.points);
  if (pts.length === 0) return '';
  const xs = pts.map((q) => q[0]);
  const ys = pts.map((q) => q[1]);
  const xLo = Math.min(...xs), xHi = Math.max(...xs, xLo * 2);
  // Pad the y range to whole 1-2-5 steps so the lines never touch the frame.
  let yLo = Math.min(...ys) / 1.25, yHi = Math.max(...ys) * 1.25;
  if (yHi / yLo < 4) { const mid = Math.sqrt(yHi * yLo); yLo = mid / 2; yHi = mid * 2; }
  const pw = W - M.left - M.right, ph = H - M.top - M.bottom;
  const sx = (v: number) => x0 + M.left + (Math.log2(v) - Math.log2(xLo)) / (Math.log2(xHi) - Math.log2(xLo)) * pw;
  const sy = (v: number) => M.top + ph - (Math.log(v) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo)) * ph;
  const out: string[] = [];
  out.push(`<text x="${x0 + M.left + pw / 2}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  out.push(`<rect x="${x0 + M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (const v of logTicks(yLo, yHi)) {
    const y = sy(v).toFixed(1);
    out.push(`<line x1="${x0 + M.left}" x2="${x0 + M.left + pw}" y1="${y}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 + M.left - 5}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  const batches = [...new Set(xs)].sort((a, b) => a - b);
  for (const v of batches) {
    const x = sx(v).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + ph}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${x}" y="${M.top + ph + 15}" text-anchor="middle">${v}</text>`);
  }
  out.push(`<text x="${x0 + M.left + pw / 2}" y="${M.top + ph + 32}" text-anchor="middle">batch size</text>`);
  out.push(`<text transform="translate(${x0 + 14},${M.top + ph / 2}) rotate(-90)" text-anchor="middle">ms per image</text>`);
  for (const s of p.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([x, y], i) => `${i ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const [x, y] of s.points) {
      out.push(s.marker === 'circle'
        ? `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`
        : `<rect x="${(sx(x) - 3).toFixed(1)}" y="${(sy(y) - 3).toFixed(1)}" width="6" height="6" fill="${s.color}"/>`);
    }
  }
  // Legend under the axis label, two entries a line.
  p.series.forEach((s, i) => {
    const lx = x0 + M.left + (i % 2) * (pw / 2);
    const ly = M.top + ph + 50 + Math.floor(i / 2) * 15;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${lx + 27}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

function formSeries(sec: Section, prefix: string, dash: string, marker: 'circle' | 'square'): Series[] {
  return (['multi', 'fused'] as const).map((f, i) => ({
    label: `${prefix}${sec.chartLabels?.[i] ?? (i === 0 ? 'multi-branch' : sec.formNames[1])}`, color: COLORS[f], dash: f === 'multi' ? (dash || '6 3') : dash, marker,
    points: sec.rows.filter((r) => r[f].time).map((r) => [r.batch, r[f].time!.median / r.batch] as [number, number]),
  }));
}

/** The chart of the block and model sections (training is left out: another kind of step). */
export function chartSvg(sections: Section[], caption: string): string {
  const panels: Panel[] = [];
  for (const s of sections.filter((x) => x.id.startsWith('block'))) {
    panels.push({ title: s.id === 'block-s1' ? 'Block 64->64, 56x56, stride 1' : 'Block 64->128, 56x56, stride 2', series: formSeries(s, '', '', 'circle') });
  }
  const models = sections.filter((x) => x.id === 'A0' || x.id === 'B0');
  if (models.length > 0) {
    panels.push({
      title: 'RepVGG models, 224x224',
      series: models.flatMap((s, i) => formSeries(s, `${s.id} `, i === 0 ? '' : '2 3', i === 0 ? 'circle' : 'square')
        .map((q) => ({ ...q, dash: i === 0 ? (q.label.includes('multi') ? '6 3' : '') : (q.label.includes('multi') ? '2 3' : '10 2 2 2') }))),
    });
  }
  const width = W * panels.length;
  const height = H + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      'font-family="Helvetica, Arial, sans-serif" font-size="11">',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...panels.map((p, i) => panelSvg(p, i * W)),
    `<text x="${width / 2}" y="${height - 8}" text-anchor="middle" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
