// Panel 1: train a small RepVGG on digits in the worker, with live curves, stop/resume, then the
// deploy form's accuracy beside the training form's and the weights to download.
import { lineChart } from '../lib/chart.js';

const $ = (id) => document.getElementById(id);
const pct = (v) => `${(100 * v).toFixed(1)}%`;

export function initTrainPanel(client, demo, { onTrained }) {
  const form = $('train-form');
  const go = $('train-go'), stop = $('train-stop'), resume = $('train-resume');
  const status = $('train-status'), bar = $('train-bar');
  const view = { losses: [], smooth: [], batchAcc: [], test: [], perEpoch: 1, totalSteps: 1 };
  demo.train = { status: 'idle', losses: view.losses, result: null };
  let urls = [];

  let queued = false;
  function render() {
    if (queued) return;
    queued = true;
    setTimeout(() => {
      queued = false;
      const xMax = view.totalSteps / view.perEpoch;
      const at = (i) => (i + 1) / view.perEpoch;
      lineChart($('chart-loss'), {
        xMax, xLabel: 'epoch', yFormat: (v) => v.toFixed(1), empty: 'press Train',
        series: [
          { label: 'batch', color: '#4e79a7', faint: true, points: view.losses.map((l, i) => [at(i), l]) },
          { label: 'smoothed', color: '#3d5afe', points: view.smooth.map((l, i) => [at(i), l]) },
        ],
      });
      lineChart($('chart-acc'), {
        xMax, yMin: 0, yMax: 1, xLabel: 'epoch', yFormat: (v) => `${Math.round(100 * v)}%`, empty: 'press Train',
        series: [
          { label: 'training batches (smoothed)', color: '#f28e2b', points: view.batchAcc.map((a, i) => [at(i), a]) },
          { label: 'test set', color: '#2e9e6b', dots: true, points: view.test },
        ],
      });
    }, 80);
  }
  render();

  const setRunning = (running, canResume = false) => {
    go.disabled = running;
    stop.disabled = !running;
    resume.disabled = running || !canResume;
    for (const el of form.elements) if (el.tagName !== 'BUTTON') el.disabled = running;
  };

  client.on('train-start', (e) => {
    Object.assign(view, { perEpoch: e.batchesPerEpoch, totalSteps: e.totalSteps });
    status.textContent = `${e.images} digits, ${e.parameters.toLocaleString('en-US')} parameters, ${e.totalSteps} steps`;
  });
  client.on('train-batch', (b) => {
    view.losses.push(b.loss);
    const k = 0.9;
    view.smooth.push(view.smooth.length ? k * view.smooth.at(-1) + (1 - k) * b.loss : b.loss);
    view.batchAcc.push(view.batchAcc.length ? k * view.batchAcc.at(-1) + (1 - k) * b.accuracy : b.accuracy);
    bar.style.width = `${(100 * b.step) / b.totalSteps}%`;
    status.textContent = `epoch ${b.epoch + 1}, batch ${b.batch + 1}/${b.batches} | loss ${b.loss.toFixed(4)} | ` +
      `${Math.round(b.imagesPerSecond)} images/s | lr ${b.lr.toPrecision(3)}`;
    render();
  });
  client.on('train-epoch', (r) => {
    view.test.push([r.epoch + 1, r.test.top1]);
    status.textContent = `epoch ${r.epoch + 1}: training loss ${r.trainLoss.toFixed(4)}, test accuracy ${pct(r.test.top1)} ` +
      `(${r.test.correct}/${r.test.count}), ${r.seconds.toFixed(1)} s`;
    render();
  });

  async function run(request) {
    setRunning(true);
    demo.train.status = 'running';
    try {
      const r = await request();
      if (r.status === 'stopped') {
        demo.train.status = 'stopped';
        status.textContent = `Stopped after step ${r.step} of ${r.totalSteps}. Resume goes on exactly where it stopped.`;
        setRunning(false, true);
        return;
      }
      demo.train.status = 'done';
      demo.train.result = r;
      bar.style.width = '100%';
      status.textContent = `Done: ${r.totalSteps} steps in ${r.seconds.toFixed(1)} s of compute; WASM memory ${(r.memoryBytes / 2 ** 20).toFixed(0)} MiB.`;
      await showResult(r);
      setRunning(false, false);
      onTrained(r.info);
    } catch (e) {
      demo.train.status = 'error';
      demo.train.error = e.message;
      status.textContent = e.message;
      status.classList.add('error');
      setRunning(false, false);
    }
  }

  async function showResult(r) {
    const { trainForm: t, deployForm: d } = r;
    $('acc-train').textContent = pct(t.top1);
    $('acc-train-n').textContent = `${t.correct} / ${t.count} digits, ${r.parameters.train.toLocaleString('en-US')} parameters`;
    $('acc-deploy').textContent = pct(d.top1);
    $('acc-deploy-n').textContent = `${d.correct} / ${d.count} digits, ${r.parameters.deploy.toLocaleString('en-US')} parameters`;
    const v = $('acc-verdict');
    const same = t.correct === d.correct;
    v.textContent = same ? `Equal: the fused network classifies the test digits as the three-branch one did (${d.correct} = ${t.correct}).`
      : `Different: ${d.correct} vs ${t.correct} correct.`;
    v.classList.toggle('bad', !same);
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
    for (const [form, id] of [['deploy', 'dl-deploy'], ['train', 'dl-train']]) {
      const { bytes, name } = await client.call('train-download', { form });
      const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
      urls.push(url);
      Object.assign($(id), { href: url, download: name });
      $(id).textContent = `${form === 'deploy' ? 'Download the deploy form' : 'training form'} (${(bytes.length / 1024).toFixed(0)} KB)`;
      $(id).title = name;
    }
    $('train-result').hidden = false;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const opts = {
      network: f.get('network'), digits: Number(f.get('digits')), epochs: Number(f.get('epochs')),
      batchSize: Number(f.get('batchSize')), lr: Number(f.get('lr')), seed: Number(f.get('seed')), augment: f.get('augment') === 'on',
    };
    Object.assign(view, { losses: [], smooth: [], batchAcc: [], test: [] });
    demo.train.losses = view.losses;
    demo.train.result = null;
    status.classList.remove('error');
    bar.style.width = '0';
    render();
    run(() => client.call('train-start', opts));
  });
  stop.addEventListener('click', () => { stop.disabled = true; client.call('train-stop'); });
  resume.addEventListener('click', () => run(() => client.call('train-resume')));

  return {
    ready() {
      go.disabled = false;
      status.textContent = 'Ready: press Train (the defaults take a few seconds).';
    },
  };
}
