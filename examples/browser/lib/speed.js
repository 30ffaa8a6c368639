// Multi-branch vs fused on this device: the same network (random weights, random BN statistics
// so that fusing has something to fold) run three ways at a few batch sizes:
//   multi-branch  the training form in eval mode (3x3 + 1x1 + identity per block)
//   fused         repvggModelConvert's deploy form (one 3x3 conv + bias per block)
//   planned       InferencePlan over the same fused weights: packed once, conv + bias + ReLU in one pass
// and the fused outputs checked against the multi-branch ones (relative error, norm-wise).

export const SPEED_MODELS = {
  digits: { label: 'the digits network (tiny), 1x32x32', numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5], inChannels: 1, numClasses: 10, size: 32, batches: [1, 8, 32] },
  a0: { label: 'RepVGG-A0, 3x224x224 (1000 classes)', numBlocks: [2, 4, 14, 1], widthMultiplier: [0.75, 0.75, 0.75, 2.5], inChannels: 3, numClasses: 1000, size: 224, batches: [1, 2, 4] },
};

/** Norm-wise relative error ||a - b|| / ||b||. */
export function relErr(a, b) {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Milliseconds per call of `fn` (which returns a Tensor to dispose): after a warm-up call, calls
 * are grouped so one sample lasts at least `sampleMs` (a 32x32 network takes well under a
 * millisecond: single calls would measure the timer), then the median of `samples` samples (at
 * least 3 when `budgetMs` runs out first).
 */
async function timeIt(fn, pause, { samples = 5, sampleMs = 25, budgetMs = 1500 } = {}) {
  const calls = (n) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn().dispose();
    return performance.now() - t0;
  };
  let reps = 1;
  for (let dt = calls(1); dt < sampleMs && reps < 4096; dt = calls(reps)) {
    reps = Math.min(4096, reps * Math.max(2, Math.ceil(sampleMs / Math.max(dt, 0.05))));
    await pause();
  }
  const times = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < samples && performance.now() - start < budgetMs)) {
    times.push(calls(reps) / reps);
    await pause();
  }
  return median(times);
}

/**
 * Measures `spec` (a SPEED_MODELS entry) at each of its batch sizes; `onRow` gets each row as it
 * is done: { batch, multiMs, fusedMs, plannedMs, fusedErr, plannedErr }. `pause` is awaited between
 * calls (the worker answers messages there).
 */
export async function measureSpeed(lib, backend, spec, { onRow, pause = async () => {}, budgetMs } = {}) {
  const model = new lib.RepVGG(backend, { numBlocks: spec.numBlocks, widthMultiplier: spec.widthMultiplier,
    inChannels: spec.inChannels, numClasses: spec.numClasses, seed: 7 });
  const rng = new lib.Mulberry32(11);
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof lib.BatchNorm2d)) continue;
    for (let i = 0; i < m.numFeatures; i++) {
      m.runningMean.data[i] = 0.2 * (rng.next() - 0.5);
      m.runningVar.data[i] = 0.5 + rng.next();
      m.weight.value.data[i] = 0.5 + rng.next();
      m.bias.value.data[i] = 0.2 * (rng.next() - 0.5);
    }
  }
  model.eval();
  const fused = lib.repvggModelConvert(model);
  fused.eval();
  const rows = [];
  try {
    for (const batch of spec.batches) {
      const shape = [batch, spec.inChannels, spec.size, spec.size];
      const data = new Float32Array(shape.reduce((a, d) => a * d, 1));
      for (let i = 0; i < data.length; i++) data[i] = 2 * rng.next() - 1;
      const x = lib.Tensor.from(backend, data, shape);
      const plan = lib.InferencePlan.create(fused, { batch, inputSize: [spec.size, spec.size] });
      try {
        const out = (t) => { const a = t.toFloat32Array(); t.dispose(); return a; };
        const yMulti = out(model.forward(x));
        const fusedErr = relErr(out(fused.forward(x)), yMulti);
        const plannedErr = relErr(out(plan.run(x)), yMulti);
        const opts = budgetMs === undefined ? {} : { budgetMs };
        const multiMs = await timeIt(() => model.forward(x), pause, opts);
        const fusedMs = await timeIt(() => fused.forward(x), pause, opts);
        const plannedMs = await timeIt(() => plan.run(x), pause, opts);
        const row = { batch, multiMs, fusedMs, plannedMs, fusedErr, plannedErr };
        rows.push(row);
        onRow?.(row);
      } finally {
        plan.dispose();
        x.dispose();
      }
    }
  } finally {
    model.dispose();
    fused.dispose();
  }
  return rows;
}
