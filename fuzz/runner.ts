// Runs fuzz cases one at a time in a worker thread with a heap limit (resourceLimits) and a time
// limit, and classifies what happened: the worker's own answer (ok, clean-error, internal-error),
// or what the runner saw: the worker died (crash; over-memory when V8 stopped it for its heap),
// no answer in time (hang), more than the memory limit used (over-memory) or more than the slow
// limit taken (slow). Memory is the larger of what the worker measured (heap + ArrayBuffers left
// after the call) and the process's RSS growth sampled every 10 ms while the case ran.
import { Worker } from 'node:worker_threads';
import type { Outcome } from './classify.js';
import type { CaseMessage, CaseReply } from './worker.js';

export interface RunnerOptions {
  /** The worker's V8 heap limit (resourceLimits.maxOldGenerationSizeMb); default 1024. */
  heapMb?: number;
  /** Memory above which a case is 'over-memory'; default 1 GiB. */
  memoryLimitBytes?: number;
  /** A case taking longer is 'slow'; default 10 s. */
  slowMs?: number;
  /** No answer after this long is a 'hang' (the worker is terminated); default 30 s. */
  timeoutMs?: number;
}

export interface CaseResult {
  outcome: Outcome;
  ms: number;
  memoryBytes: number;
  returnedBytes: number;
  errorName?: string;
  message?: string;
}

const GiB = 2 ** 30;

export class FuzzRunner {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly opts: Required<RunnerOptions>;

  constructor(options: RunnerOptions = {}) {
    this.opts = {
      heapMb: options.heapMb ?? 1024,
      memoryLimitBytes: options.memoryLimitBytes ?? GiB,
      slowMs: options.slowMs ?? 10_000,
      timeoutMs: options.timeoutMs ?? 30_000,
    };
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./worker.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb, maxYoungGenerationSizeMb: 64, stackSizeMb: 4 },
    });
    w.unref();
    return w;
  }

  /** Runs `bytes` through target `target` in the worker. */
  run(target: string, bytes: Uint8Array): Promise<CaseResult> {
    const w = this.worker ??= this.spawn();
    const id = this.nextId++;
    const started = performance.now();
    const baseRss = process.memoryUsage.rss();
    let peakRss = baseRss;
    return new Promise<CaseResult>((resolve) => {
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      }, 10);
      const timer = setTimeout(() => finish({ outcome: 'hang', message: `no answer in ${this.opts.timeoutMs} ms` }, true), this.opts.timeoutMs);
      const onMessage = (r: CaseReply): void => {
        if (r.id === id) finish(r, false);
      };
      const onError = (e: Error & { code?: string }): void => {
        const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
        finish({ outcome: oom ? 'over-memory' : 'crash', errorName: e.name, message: e.message }, true);
      };
      const onExit = (code: number): void => finish({ outcome: 'crash', message: `the worker exited with code ${code}` }, true);
      const finish = (r: Partial<Omit<CaseReply, 'outcome'>> & { outcome: Outcome }, dead: boolean): void => {
        clearInterval(sampler);
        clearTimeout(timer);
        w.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (dead) {
          void w.terminate();
          this.worker = null;
        }
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        const ms = r.ms ?? performance.now() - started;
        const memoryBytes = Math.max(r.memoryBytes ?? 0, peakRss - baseRss, r.returnedBytes ?? 0);
        let outcome: Outcome = r.outcome;
        if (outcome === 'ok' || outcome === 'clean-error') {
          if (memoryBytes > this.opts.memoryLimitBytes) outcome = 'over-memory';
          else if (ms > this.opts.slowMs) outcome = 'slow';
        }
        resolve({ outcome, ms, memoryBytes, returnedBytes: r.returnedBytes ?? 0, errorName: r.errorName, message: r.message });
      };
      w.on('message', onMessage).on('error', onError).on('exit', onExit);
      // A copy is transferred: the caller keeps its bytes (to save the case if it fails).
      const copy = bytes.slice();
      const msg: CaseMessage = { id, target, bytes: copy };
      w.postMessage(msg, [copy.buffer]);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
