// Panel 2: multi-branch vs fused vs planned on this device, as a chart and a table.
import { barChart } from '../lib/chart.js';

const $ = (id) => document.getElementById(id);
const SERIES = [
  { key: 'multiMs', label: 'multi-branch', color: '#f28e2b' },
  { key: 'fusedMs', label: 'fused', color: '#4e79a7' },
  { key: 'plannedMs', label: 'planned (InferencePlan)', color: '#2e9e6b' },
];
const LABELS = { digits: 'digits network, 1x32x32', a0: 'RepVGG-A0, 3x224x224' };

export function initSpeedPanel(client, demo) {
  const buttons = [$('speed-digits'), $('speed-a0')];
  const status = $('speed-status');
  demo.speed = { status: 'idle', results: {} };
  const results = demo.speed.results;

  function render(model) {
    const rows = results[model] ?? [];
    $('speed-caption').textContent = `images per second, ${LABELS[model]} (higher is better)`;
    barChart($('chart-speed'), {
      series: SERIES, empty: 'press a button above',
      groups: rows.map((r) => ({ label: `batch ${r.batch}`, values: SERIES.map((s) => (1000 * r.batch) / r[s.key]) })),
      yFormat: (v) => (v === 0 ? '0' : v >= 100 ? v.toFixed(0) : v.toPrecision(2)),
    });
    const body = $('speed-table').tBodies[0];
    body.innerHTML = '';
    for (const [m, list] of Object.entries(results)) {
      const head = body.insertRow();
      head.className = 'model';
      Object.assign(head.insertCell(), { colSpan: 6, textContent: LABELS[m] });
      for (const r of list) {
        const tr = body.insertRow();
        const cells = [String(r.batch), ...SERIES.map((s) => `${r[s.key].toFixed(r[s.key] < 10 ? 2 : 1)} ms`),
          `x${(r.multiMs / r.plannedMs).toFixed(2)}`, Math.max(r.fusedErr, r.plannedErr).toExponential(1)];
        for (const c of cells) tr.insertCell().textContent = c;
      }
    }
  }
  render('digits');

  client.on('speed-row', ({ model, row }) => {
    results[model].push(row);
    render(model);
    status.textContent = `batch ${row.batch} done...`;
  });

  async function run(model) {
    for (const b of buttons) b.disabled = true;
    demo.speed.status = 'running';
    results[model] = [];
    render(model);
    status.classList.remove('error');
    status.textContent = model === 'a0' ? 'Timing A0 (about half a minute; the page stays responsive)...' : 'Timing...';
    try {
      const r = await client.call('speed', { model });
      const ups = r.rows.map((row) => `x${(row.multiMs / row.plannedMs).toFixed(2)} at batch ${row.batch}`).join(', ');
      status.textContent = `Planned fused vs multi-branch: ${ups}. Milliseconds per call, median of several samples ` +
        '(another busy tab or process moves them).';
      demo.speed.status = 'done';
    } catch (e) {
      status.textContent = e.message;
      status.classList.add('error');
      demo.speed.status = 'error';
    }
    for (const b of buttons) b.disabled = false;
  }
  buttons[0].addEventListener('click', () => run('digits'));
  buttons[1].addEventListener('click', () => run('a0'));
  return { ready() { for (const b of buttons) b.disabled = false; } };
}
