// Two small SVG charts, redrawn whole on every update (a few hundred points: cheaper than
// keeping DOM nodes in sync). Sizes are in viewBox units; the SVG scales with its box.

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo, hi, count = 4) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

const W = 480, H = 220, M = { left: 44, right: 12, top: 26, bottom: 30 };

function frame(svg, { yTicks, y, yFormat, xTicks, x, xFormat, xLabel }) {
  const parts = [];
  for (const t of yTicks) {
    parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y(t)}" y2="${y(t)}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${y(t) + 4}" text-anchor="end">${esc(yFormat(t))}</text>`);
  }
  for (const t of xTicks ?? []) {
    parts.push(`<text class="tick" x="${x(t)}" y="${H - M.bottom + 15}" text-anchor="middle">${esc(xFormat(t))}</text>`);
  }
  parts.push(`<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}"/>`);
  if (xLabel) parts.push(`<text class="label" x="${W - M.right}" y="${H - 4}" text-anchor="end">${esc(xLabel)}</text>`);
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  return parts;
}

function legend(series) {
  let at = M.left;
  return series.map((s) => {
    const item = `<g transform="translate(${at},8)"><rect width="10" height="10" rx="2" fill="${s.color}"/>` +
      `<text class="legend" x="14" y="9">${esc(s.label)}</text></g>`;
    at += 24 + 6.2 * s.label.length;
    return item;
  });
}

/**
 * Lines over x in [0, xMax]: series [{ label, color, points: [[x, y], ...], dots, faint }].
 * y spans [yMin, yMax] (yMax defaults to the data's largest value).
 */
export function lineChart(svg, { series, xMax, yMin = 0, yMax, xLabel = '', yFormat = (v) => v, xFormat = (v) => v, empty = '' }) {
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const top = yMax ?? (all.length ? Math.max(yMin + 1e-6, ...all) * 1.05 : yMin + 1);
  const x = (v) => M.left + (v / Math.max(xMax, 1e-9)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - ((Math.min(Math.max(v, yMin), top) - yMin) / (top - yMin)) * (H - M.top - M.bottom);
  const parts = frame(svg, { yTicks: ticks(yMin, top), y, yFormat, xTicks: ticks(0, xMax, 5), x, xFormat, xLabel });
  for (const s of series) {
    if (s.points.length === 0) continue;
    const d = s.points.map(([a, b], i) => `${i ? 'L' : 'M'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
    if (!s.dotsOnly) parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.faint ? 1 : 2}" opacity="${s.faint ? 0.35 : 1}" stroke-linejoin="round"/>`);
    if (s.dots) for (const [a, b] of s.points) parts.push(`<circle cx="${x(a)}" cy="${y(b)}" r="3.5" fill="${s.color}"/>`);
  }
  if (all.length === 0 && empty) parts.push(`<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">${esc(empty)}</text>`);
  svg.innerHTML = [...parts, ...legend(series.filter((s) => !s.hideLegend))].join('');
}

/**
 * Grouped bars: groups [{ label, values: [one per series] }], series [{ label, color }]; each bar
 * labelled with format(value).
 */
export function barChart(svg, { groups, series, yFormat = (v) => v, format = yFormat, xLabel = '', empty = '' }) {
  const all = groups.flatMap((g) => g.values).filter(Number.isFinite);
  const top = all.length ? Math.max(1e-9, ...all) * 1.15 : 1;
  const y = (v) => H - M.bottom - (v / top) * (H - M.top - M.bottom);
  const parts = frame(svg, { yTicks: ticks(0, top), y, yFormat, xLabel });
  const span = (W - M.left - M.right) / Math.max(groups.length, 1);
  const bar = Math.min(36, (span * 0.8) / series.length);
  groups.forEach((g, gi) => {
    const x0 = M.left + gi * span + (span - bar * series.length) / 2;
    g.values.forEach((v, si) => {
      if (!Number.isFinite(v)) return;
      const bx = x0 + si * bar;
      parts.push(`<rect x="${bx + 1}" y="${y(v)}" width="${bar - 2}" height="${H - M.bottom - y(v)}" rx="2" fill="${series[si].color}"/>`,
        `<text class="value" x="${bx + bar / 2}" y="${y(v) - 3}" text-anchor="middle">${esc(format(v))}</text>`);
    });
    parts.push(`<text class="tick" x="${M.left + gi * span + span / 2}" y="${H - M.bottom + 15}" text-anchor="middle">${esc(g.label)}</text>`);
  });
  if (groups.length === 0 && empty) parts.push(`<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">${esc(empty)}</text>`);
  svg.innerHTML = [...parts, ...legend(series)].join('');
}
