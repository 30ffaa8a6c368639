// A training run that can stop between any two batches and go on later: the library's train()
// loop (src/train/train.ts) taken apart into steps, so a worker can answer messages (stop, resume)
// between them. Every step does what train() does, in the same order, with the same defaults
// (model init from the seed, SGD with Nesterov, the cosine schedule with 5% warm-up, the official
// weight-decay rule, dropped last batch); the browser test holds the two bit for bit equal.
// Runs anywhere the library does: the demo's worker, and Node in the test.

/** The networks the panel offers: small custom RepVGGs for 1x32x32 digits. */
export const NETWORKS = {
  tiny: { label: 'tiny: blocks 1,1,1,1, widths 0.25,0.25,0.25,0.5', numBlocks: [1, 1, 1, 1], widthMultiplier: [0.25, 0.25, 0.25, 0.5] },
  small: { label: 'small: blocks 1,2,2,1, widths 0.5,0.5,0.5,0.5', numBlocks: [1, 2, 2, 1], widthMultiplier: [0.5, 0.5, 0.5, 0.5] },
};

export const DEFAULTS = Object.freeze({
  network: 'tiny', digits: 4000, epochs: 4, batchSize: 64, lr: 0.1, optimizer: 'sgd', weightDecay: 1e-4,
  momentum: 0.9, nesterov: true, labelSmoothing: 0, seed: 1, augment: true,
});

export class TrainingSession {
  /**
   * lib: the library's module; data: { train, test } ImageDatasets; opts: DEFAULTS' fields
   * (network: a NETWORKS key or { numBlocks, widthMultiplier }).
   */
  constructor(lib, backend, data, opts = {}) {
    this.lib = lib;
    this.backend = backend;
    this.opts = { ...DEFAULTS, ...opts };
    const o = this.opts;
    const net = typeof o.network === 'string' ? NETWORKS[o.network] : o.network;
    if (!net) throw new Error(`unknown network ${JSON.stringify(o.network)} (one of ${Object.keys(NETWORKS).join(', ')})`);
    this.data = data;
    this.config = { numBlocks: net.numBlocks, widthMultiplier: net.widthMultiplier, numClasses: data.train.classes, inChannels: data.train.c };
    // As `repvgg train` builds them: shuffled, augmented, the last smaller batch dropped (a batch
    // of one image gives BN a single value per channel at the last stage); evaluation unaugmented.
    this.trainLoader = new lib.BatchLoader(data.train, { batchSize: o.batchSize, shuffle: true, seed: o.seed, dropLast: true, augment: o.augment ? undefined : false });
    this.testLoader = new lib.BatchLoader(data.test, { batchSize: Math.max(o.batchSize, 128), shuffle: false, augment: false });
    if (this.trainLoader.batchesPerEpoch === 0) throw new Error(`batch size ${o.batchSize} is larger than the ${data.train.n} training digits`);
    this.model = new lib.RepVGG(backend, { ...this.config, seed: o.seed, deploy: false });
    this.optimizer = new lib.Optimizer(this.model.namedParameters(), {
      kind: o.optimizer, weightDecay: o.weightDecay, momentum: o.momentum, nesterov: o.nesterov, noDecay: lib.officialNoDecay,
    });
    this.batchesPerEpoch = this.trainLoader.batchesPerEpoch;
    this.totalSteps = o.epochs * this.batchesPerEpoch;
    this.warmupSteps = Math.max(1, Math.round((o.warmupEpochs ?? o.epochs * 0.05) * this.batchesPerEpoch));
    this.steps = 0;
    this.epoch = 0;
    /** the loss of every batch, in order */
    this.losses = [];
    /** per epoch: { epoch, trainLoss, trainAccuracy, test, seconds, imagesPerSecond } */
    this.history = [];
    /** seconds spent computing (pauses excluded) */
    this.seconds = 0;
    this.batches = null;
  }

  get finished() { return this.epoch >= this.opts.epochs; }

  /** One optimizer step on one batch, as train() takes it; returns the batch's loss and correct count. */
  step(batch) {
    const { lib, model, backend } = this;
    const ds = this.trainLoader.dataset;
    const lr = lib.cosineWithWarmup(this.opts.lr, this.steps, this.totalSteps, this.warmupSteps);
    const x = lib.Tensor.from(backend, batch.x, [batch.size, ds.c, ds.h, ds.w]);
    const logits = model.forward(x);
    const { loss, dlogits } = lib.softmaxCrossEntropy(logits, batch.labels, { labelSmoothing: this.opts.labelSmoothing });
    const classes = logits.shape[1];
    const l = logits.data;
    let correct = 0;
    for (let i = 0; i < batch.size; i++) if (lib.rankOf(l.subarray(i * classes, (i + 1) * classes), batch.labels[i]) === 0) correct++;
    logits.dispose();
    if (!Number.isFinite(loss)) {
      dlogits.dispose();
      model.releaseSaved();
      x.dispose();
      throw new Error(`the loss became ${loss} at epoch ${this.epoch + 1}, batch ${batch.index + 1} (learning rate too high?)`);
    }
    model.backward(dlogits)?.dispose();
    dlogits.dispose();
    x.dispose();
    this.optimizer.step(lr);
    model.zeroGrad();
    this.steps++;
    return { loss, correct, lr };
  }

  /**
   * Trains until the run is finished (returns true) or `control.shouldStop()` says stop after a
   * batch (returns false; call run again to go on exactly where it stopped). `control.yield()`
   * is awaited after every batch: the worker answers its messages there.
   */
  async run(events = {}, control = {}) {
    const ds = this.trainLoader.dataset;
    while (!this.finished) {
      if (this.batches === null) {
        this.model.train();
        this.batches = this.trainLoader.batches(this.epoch);
        this.current = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      }
      const t0 = performance.now();
      const next = this.batches.next();
      const cur = this.current;
      if (next.done) {
        const test = this.lib.evaluate(this.model, this.testLoader);
        cur.seconds += (performance.now() - t0) / 1000;
        const record = {
          epoch: this.epoch, trainLoss: cur.lossSum / cur.seen, trainAccuracy: cur.correct / cur.seen, test,
          seconds: cur.seconds, imagesPerSecond: cur.seen / cur.seconds,
        };
        this.history.push(record);
        this.epoch++;
        this.batches = null;
        events.onEpoch?.(record);
      } else {
        const batch = next.value;
        const { loss, correct, lr } = this.step(batch);
        const dt = (performance.now() - t0) / 1000;
        cur.seconds += dt;
        this.seconds += dt;
        this.losses.push(loss);
        cur.lossSum += loss * batch.size;
        cur.correct += correct;
        cur.seen += batch.size;
        events.onBatch?.({
          epoch: this.epoch, batch: batch.index, batches: this.batchesPerEpoch, step: this.steps, totalSteps: this.totalSteps,
          loss, accuracy: correct / batch.size, lr, imagesPerSecond: cur.seen / cur.seconds, images: ds.n,
        });
      }
      if (control.yield) await control.yield();
      if (!this.finished && control.shouldStop?.()) return false;
    }
    return true;
  }

  /**
   * The deploy form (a fused copy) and the test accuracy of both forms, as train() ends. The
   * training form was evaluated after the last epoch and has not changed since.
   */
  finish() {
    if (!this.finished) throw new Error('finish: the run has epochs left');
    const deployModel = this.lib.repvggModelConvert(this.model);
    const trainForm = this.history.at(-1).test;
    const deployForm = this.lib.evaluate(deployModel, this.testLoader);
    return { deployModel, trainForm, deployForm };
  }

  dispose() {
    this.model.dispose();
    this.optimizer.dispose();
  }
}
