// Panel 3: draw a digit or drop an image; the trained network or a dropped model file gives its
// top-5 classes with the time it took.
import { centerDigit, digitTensor, drawPreview, imageTensor, inkOfCanvas, inkOfImage } from '../lib/image.js';

const $ = (id) => document.getElementById(id);
const MODEL_EXT = /\.(safetensors|pth|pt|bin|tar)$/i;

export function initPredictPanel(client, demo) {
  const pad = $('pad');
  const ctx = pad.getContext('2d');
  const status = $('predict-status');
  const models = { trained: null, file: null };
  demo.predict = { models, last: null, busy: false, error: null };
  let lastInput = null; // { kind: 'pad' } or { kind: 'image', bitmap }

  const source = () => document.querySelector('input[name=pmodel]:checked').value;
  const setSource = (v) => { document.querySelector(`input[name=pmodel][value=${v}]`).checked = true; };

  function clearPad() {
    ctx.fillStyle = '#111522';
    ctx.fillRect(0, 0, pad.width, pad.height);
  }
  clearPad();

  /** The network input for the current model from what was drawn or dropped, or null. */
  function prepare(info) {
    if (!lastInput) return null;
    if (info.inChannels === 1) {
      const { ink, w, h } = lastInput.kind === 'pad' ? { ink: inkOfCanvas(pad), w: pad.width, h: pad.height } : inkOfImage(lastInput.bitmap);
      const bytes = centerDigit(ink, w, h);
      if (!bytes) return null;
      // A digit network of another input size gets the 32x32 digit scaled.
      if (info.inputSize === 32) return { x: digitTensor(bytes, info.mean, info.std), shape: [1, 1, 32, 32], preview: { bytes, size: 32 } };
    }
    const src = lastInput.kind === 'pad' ? pad : lastInput.bitmap;
    return imageTensor(src, { size: info.inputSize, channels: info.inChannels, mean: info.mean, std: info.std });
  }

  let inFlight = false, again = false;
  async function predict() {
    const which = source();
    const info = models[which];
    if (!info) {
      status.textContent = which === 'file' ? 'Drop a model file first.' : 'Train a network above first (or drop a model file).';
      return;
    }
    if (inFlight) { again = true; return; }
    const t0 = performance.now();
    const input = prepare(info);
    if (!input) { status.textContent = 'Nothing to classify yet: draw a digit or drop an image.'; return; }
    const prepMs = performance.now() - t0;
    drawPreview($('preview'), input.preview);
    $('preview-cap').textContent = `network input ${input.shape.slice(1).join('x')}`;
    inFlight = true;
    demo.predict.busy = true;
    try {
      const t1 = performance.now();
      const r = await client.call('predict', { source: which, x: input.x, shape: input.shape });
      const trip = performance.now() - t1;
      for (const t of r.top) t.name = info.classNames?.[t.index] ?? `class ${t.index}`;
      showTop(r.top);
      $('predict-timing').innerHTML = `model: <b>${info.arch}</b> (${info.form} form)<br>` +
        `preprocessing <b>${prepMs.toFixed(1)} ms</b> (page)<br>forward <b>${r.ms.toFixed(1)} ms</b> (worker)<br>` +
        `round trip <b>${trip.toFixed(1)} ms</b>`;
      status.textContent = '';
      demo.predict.last = { source: which, x: input.x, shape: input.shape, logits: r.logits, top: r.top, ms: r.ms };
    } catch (e) {
      status.textContent = e.message;
      demo.predict.error = e.message;
    } finally {
      inFlight = false;
      demo.predict.busy = false;
      if (again) { again = false; predict(); }
    }
  }

  function showTop(top) {
    const list = $('top5');
    list.innerHTML = '';
    for (const t of top) {
      const li = document.createElement('li');
      li.innerHTML = '<span class="name"></span><span class="track"><span class="fill"></span></span><span class="p"></span>';
      li.querySelector('.name').textContent = t.name;
      li.querySelector('.name').title = t.name;
      li.querySelector('.fill').style.width = `${Math.max(0.5, 100 * t.prob)}%`;
      li.querySelector('.p').textContent = `${(100 * t.prob).toFixed(1)}%`;
      list.append(li);
    }
  }

  // Drawing: white strokes on the dark pad, as MNIST digits are white on black.
  let drawing = false, last = null, lastRun = 0;
  const pos = (e) => {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * (pad.width / r.width), (e.clientY - r.top) * (pad.height / r.height)];
  };
  pad.addEventListener('pointerdown', (e) => {
    if (lastInput?.kind !== 'pad') { clearPad(); lastInput = { kind: 'pad' }; }
    drawing = true;
    last = pos(e);
    pad.setPointerCapture(e.pointerId);
    stroke(last);
  });
  pad.addEventListener('pointermove', (e) => { if (drawing) stroke(pos(e)); });
  const end = () => { if (drawing) { drawing = false; predict(); } };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  function stroke(p) {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 20;
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
    // Live: at most every 120 ms while drawing.
    if (performance.now() - lastRun > 120) { lastRun = performance.now(); predict(); }
  }
  $('pad-clear').addEventListener('click', () => { clearPad(); lastInput = { kind: 'pad' }; $('top5').innerHTML = ''; });

  async function loadModelFile(file) {
    const info = $('model-info');
    info.classList.remove('error');
    info.textContent = `reading ${file.name}...`;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const m = await client.call('load-model', { bytes, name: file.name }, [bytes.buffer]);
      models.file = m;
      $('file-model-name').textContent = file.name;
      info.textContent = `${file.name}: ${m.arch}, ${m.form} form, ${m.classes} classes, ${m.inChannels}-channel ` +
        `${m.inputSize}x${m.inputSize} input, ${m.parameters.toLocaleString('en-US')} parameters` +
        (m.classNames ? '.' : '. Class names unknown: drop a labels .txt (one per line) to name them.');
      setSource('file');
      if (lastInput) predict();
      return m;
    } catch (e) {
      info.textContent = `${file.name}: ${e.message}`;
      info.classList.add('error');
      demo.predict.error = e.message;
      return null;
    }
  }

  async function useImage(file) {
    try {
      const bitmap = await createImageBitmap(file);
      lastInput = { kind: 'image', bitmap };
      // The pad shows what is being classified (drawing on it starts a new digit).
      clearPad();
      const k = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
      ctx.drawImage(bitmap, (pad.width - bitmap.width * k) / 2, (pad.height - bitmap.height * k) / 2, bitmap.width * k, bitmap.height * k);
      await predict();
    } catch (e) {
      status.textContent = `${file.name}: not an image this browser can decode (${e.message})`;
    }
  }

  // A labels file (one class name per line) names the classes of the model file.
  async function useLabels(file) {
    const names = (await file.text()).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
    const m = models.file;
    const info = $('model-info');
    if (!m || names.length !== m.classes) {
      info.textContent = `${file.name}: ${names.length} names, but ${m ? `the model has ${m.classes} classes` : 'no model file is loaded'}`;
      info.classList.add('error');
      return;
    }
    m.classNames = names;
    info.textContent += ` Class names from ${file.name}.`;
    if (lastInput) predict();
  }

  const take = (file) => (/\.txt$/i.test(file.name) ? useLabels(file)
    : file.type.startsWith('image/') && !MODEL_EXT.test(file.name) ? useImage(file) : loadModelFile(file));
  const drop = $('drop');
  for (const t of ['dragenter', 'dragover']) drop.addEventListener(t, (e) => { e.preventDefault(); drop.classList.add('over'); });
  for (const t of ['dragleave', 'drop']) drop.addEventListener(t, () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    for (const f of e.dataTransfer.files) take(f);
  });
  $('image-file').addEventListener('change', (e) => { if (e.target.files[0]) useImage(e.target.files[0]); });
  $('model-file').addEventListener('change', (e) => { if (e.target.files[0]) loadModelFile(e.target.files[0]); });
  for (const r of document.querySelectorAll('input[name=pmodel]')) r.addEventListener('change', () => predict());

  return {
    trained(info) {
      models.trained = info;
      setSource('trained');
      status.textContent = 'Draw a digit on the pad.';
      if (lastInput) predict();
    },
    predict,
  };
}
