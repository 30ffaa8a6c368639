// The worker threads of a threaded WASM backend: each runs worker-loop.ts, an instance of the
// kernel module on the backend's shared memory, started by a Spawner (spawn-node.ts: Node's
// worker_threads; spawn-web.ts: Web Workers). The backend's API stays synchronous: a call posts
// a job into the control block (control.ts), wakes the workers with Atomics.notify, runs items
// itself, then sleeps in Atomics.wait (allowed on Node's main thread and in Web Workers) until
// every item is done. No worker starts per call.
//
// Faults: a call whose item throws on a worker rethrows the worker's error; a worker that exits
// while it runs an item, or that finishes nothing for hangTimeoutMs, makes the call fail and the
// pool restart its workers before the next call. Either way the call returns only when no thread
// still runs one of its items, so its scratch memory can be reused at once.
import {
  ARGS_DOUBLES, ARGS_OFFSET, BASE, BUSY, CONTROL_BYTES, DEAD, ERROR, ERROR_LEN, EXITED, EXITED_BUSY, FAULT, FINISHED,
  FN, ITEMS, MAX_ARGS, MAX_ITEMS, MODE, NARGS, NEXT, READY, SEQ, SHUTDOWN, STATE, TABLE, TABLE_ROWS, TEMPLATE,
  abandonJob, finishItems, readMessage, tagOf, takeItem,
} from './control.js';
import { KERNEL_EXPORTS, type KernelExportName, type KernelExports } from './exports.js';
import type { WorkerData } from './worker-loop.js';

/** Starts worker threads: Node's worker_threads or Web Workers. */
export interface Spawner {
  /** Starts a thread running worker-loop.ts on `data`; `onExit` is called (later, on this thread's
   *  event loop) if the runtime tells when a thread ends. */
  spawn(data: WorkerData, onExit: () => void): { terminate(): void };
  /** Whether this thread may block until restarted workers have started (Node: yes; a browser's
   *  workers may need this thread's event loop, so there calls run here until they are up). */
  readonly blockingStart: boolean;
}

export interface PoolOptions {
  /** A call fails when no thread finishes one of its items for this long (default 120 s; an item
   *  is a fraction of one layer, so only a stuck thread gets near it). */
  hangTimeoutMs?: number;
  /** Microseconds a thread polls the control block before it sleeps (default 2000; 0 when there
   *  are more threads than cores, where a polling thread would take a core from one with work):
   *  between the layers of a forward the next job usually comes sooner, and a sleeping thread
   *  takes tens to hundreds of microseconds to wake (A0 at batch 1 runs some 60 jobs). */
  spinMicros?: number;
}

const FAULTS = { throw: 1, exit: 2, hang: 3 } as const;
const EXPORT_INDEX = new Map(Object.keys(KERNEL_EXPORTS).map((name, i) => [name, i]));
/** How long a restart waits for the new workers. */
const START_TIMEOUT_MS = 30_000;

export class WorkerPool {
  private control!: SharedArrayBuffer;
  private ctl!: Int32Array;
  private table!: Float64Array;
  private handles: { terminate(): void }[] = [];
  private seq = 0;
  /** Why the workers must be restarted before the next job (null: they are fine). */
  private broken: string | null = null;
  /** Restarted workers not all started yet (browsers): calls run on this thread meanwhile. */
  private starting = false;
  private disposed = false;
  private readonly hangTimeoutMs: number;
  private readonly spinMicros: number;

  private constructor(private readonly spawner: Spawner, private readonly module: WebAssembly.Module,
    private readonly memory: WebAssembly.Memory, private readonly kernels: KernelExports,
    /** worker threads (the main thread is one more) */
    readonly workers: number, opts: PoolOptions) {
    this.hangTimeoutMs = opts.hangTimeoutMs ?? 120_000;
    this.spinMicros = opts.spinMicros ?? 2000;
  }

  /** Starts `workers` threads on `module` (a threads build) sharing `memory`, for the main
   *  thread's instance `kernels`. Resolves once every worker has instantiated the module. */
  static async start(spawner: Spawner, module: WebAssembly.Module, memory: WebAssembly.Memory, kernels: KernelExports,
    workers: number, opts: PoolOptions = {}): Promise<WorkerPool> {
    const pool = new WorkerPool(spawner, module, memory, kernels, workers, opts);
    pool.spawn();
    await pool.ready();
    return pool;
  }

  /** Runs export `name` over items [0, items) of a job: each call gets `args`, then the thread's
   *  index and its item range (i, i + 1). */
  runItems(name: KernelExportName, args: readonly number[], items: number): void {
    if (args.length + 3 > MAX_ARGS) throw new Error(`WorkerPool: ${name} takes more than ${MAX_ARGS} arguments`);
    for (let base = 0; base < items; base += MAX_ITEMS) {
      this.run(name, TEMPLATE, args, Math.min(MAX_ITEMS, items - base), base);
    }
  }

  /** Runs export `name` once per row of `rows` (its arguments), on every thread. */
  runCalls(name: KernelExportName, rows: readonly (readonly number[])[]): void {
    for (let r0 = 0; r0 < rows.length; r0 += TABLE_ROWS) this.run(name, TABLE, rows.slice(r0, r0 + TABLE_ROWS), 0, 0);
  }

  /** Makes worker `thread` (1 .. workers) fail at its next item: throw, exit, or hang. For the
   *  fault tests only. */
  injectFault(thread: number, fault: keyof typeof FAULTS): void {
    if (!(thread >= 1 && thread <= this.workers)) throw new RangeError(`injectFault: no worker thread ${thread}`);
    Atomics.store(this.ctl, FAULT + thread, FAULTS[fault]);
  }

  /** Ends the workers (they finish nothing more). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.stopWorkers();
  }

  // ---- jobs ----

  private run(name: KernelExportName, mode: number, payload: readonly number[] | readonly (readonly number[])[],
    templateItems: number, base: number): void {
    if (this.disposed) throw new Error('the worker pool was disposed');
    if (this.broken !== null || Atomics.load(this.ctl, DEAD) > 0) this.restart();
    if (this.starting) {
      if (Atomics.load(this.ctl, READY) < this.workers) {
        this.runHere(name, mode, payload, templateItems, base);
        return;
      }
      this.starting = false;
    }
    const ctl = this.ctl;
    const fn = this.kernels[name] as unknown as (...a: number[]) => unknown;
    const template = mode === TEMPLATE;
    const rows = payload as readonly (readonly number[])[];
    const nargs = template ? payload.length : (rows[0]?.length ?? 0);
    const items = template ? templateItems : rows.length;
    if (items === 0) return;
    // The header and arguments, then the item counter, then the sequence number the workers wake on.
    if (template) this.table.set(payload as readonly number[]);
    else rows.forEach((row, i) => this.table.set(row, i * nargs));
    const seq = ++this.seq;
    const tag = tagOf(seq);
    Atomics.store(ctl, FN, EXPORT_INDEX.get(name)!);
    Atomics.store(ctl, NARGS, nargs);
    Atomics.store(ctl, ITEMS, items);
    Atomics.store(ctl, MODE, mode);
    Atomics.store(ctl, BASE, base);
    Atomics.store(ctl, ERROR, 0);
    Atomics.store(ctl, FINISHED, 0);
    Atomics.store(ctl, NEXT, tag << 16);
    Atomics.store(ctl, SEQ, seq);
    Atomics.notify(ctl, SEQ);

    // The main thread's share: thread 0.
    let ownError: unknown = null;
    const args = template ? [...(payload as readonly number[]), 0, 0, 0] : [];
    for (let i = takeItem(ctl, tag, items); i >= 0; i = takeItem(ctl, tag, items)) {
      try {
        if (template) {
          args[nargs + 1] = base + i;
          args[nargs + 2] = base + i + 1;
          fn(...args);
        } else {
          fn(...rows[i]);
        }
      } catch (e) {
        ownError = e;
        abandonJob(ctl, tag, items);
      }
      finishItems(ctl, 1);
    }
    const failure = this.waitForItems(name, tag, items);
    if (ownError !== null) throw ownError;
    if (failure !== null) throw new Error(failure);
  }

  /** Runs every item of a job on this thread (thread 0), while restarted workers start. */
  private runHere(name: KernelExportName, mode: number, payload: readonly number[] | readonly (readonly number[])[],
    templateItems: number, base: number): void {
    const fn = this.kernels[name] as unknown as (...a: number[]) => unknown;
    if (mode === TABLE) {
      for (const row of payload as readonly (readonly number[])[]) fn(...row);
      return;
    }
    for (let i = 0; i < templateItems; i++) fn(...(payload as readonly number[]), 0, base + i, base + i + 1);
  }

  /** Sleeps until every item of the job is finished; returns why the job failed, or null. */
  private waitForItems(name: string, tag: number, items: number): string | null {
    const ctl = this.ctl;
    let last = -1;
    let since = performance.now();
    const spinUntil = since + this.spinMicros / 1000;
    for (;;) {
      const done = Atomics.load(ctl, FINISHED);
      if (done >= items) break;
      const lost = this.exitedWhileBusy();
      if (lost.length > 0) {
        abandonJob(ctl, tag, items);
        this.waitUntilIdle();
        this.broken = `worker thread ${lost.join(', ')} exited`;
        return `${name}: worker thread ${lost.join(', ')} exited while running one of the call's items ` +
          '(the workers are restarted before the next call)';
      }
      const now = performance.now();
      if (done !== last) {
        last = done;
        since = now;
      } else if (now - since > this.hangTimeoutMs) {
        abandonJob(ctl, tag, items);
        const stuck = this.busyWorkers();
        this.broken = `worker thread ${stuck.join(', ')} did not respond`;
        this.stopWorkers();
        return `${name}: no thread finished an item for ${(this.hangTimeoutMs / 1000).toFixed(1)} s ` +
          `(worker thread ${stuck.join(', ') || '?'} still busy); the workers are restarted before the next call`;
      }
      if (now >= spinUntil) Atomics.wait(ctl, FINISHED, done, Math.min(1000, this.hangTimeoutMs));
    }
    const failed = Atomics.load(ctl, ERROR);
    if (failed === 0) return null;
    return `${name}: worker thread ${failed - 1} failed: ${readMessage(this.control, Atomics.load(ctl, ERROR_LEN))}`;
  }

  private exitedWhileBusy(): number[] {
    if (Atomics.load(this.ctl, DEAD) === 0) return [];
    return this.threadsIn(EXITED_BUSY);
  }

  private busyWorkers(): number[] { return this.threadsIn(BUSY); }

  private threadsIn(state: number): number[] {
    const out: number[] = [];
    for (let w = 1; w <= this.workers; w++) if (Atomics.load(this.ctl, STATE + w) === state) out.push(w);
    return out;
  }

  /** After a job was abandoned: waits (bounded) until no live worker runs one of its items. */
  private waitUntilIdle(): void {
    const end = performance.now() + this.hangTimeoutMs;
    while (this.busyWorkers().length > 0 && performance.now() < end) {
      Atomics.wait(this.ctl, FINISHED, Atomics.load(this.ctl, FINISHED), 10);
    }
  }

  // ---- workers ----

  private spawn(): void {
    // A fresh control block for every generation of workers: a stuck worker of the last one can
    // never take an item of a new job.
    this.control = new SharedArrayBuffer(CONTROL_BYTES);
    this.ctl = new Int32Array(this.control);
    this.table = new Float64Array(this.control, ARGS_OFFSET, ARGS_DOUBLES);
    this.seq = 0;
    const ctl = this.ctl;
    this.handles = [];
    for (let thread = 1; thread <= this.workers; thread++) {
      const data: WorkerData = { module: this.module, memory: this.memory, control: this.control, thread, spinMicros: this.spinMicros };
      // Ended from outside (no exit hook runs then): seen between calls.
      this.handles.push(this.spawner.spawn(data, () => {
        const s = Atomics.load(ctl, STATE + thread);
        if (s !== EXITED && s !== EXITED_BUSY) {
          Atomics.store(ctl, STATE + thread, s === BUSY ? EXITED_BUSY : EXITED);
          Atomics.add(ctl, DEAD, 1);
        }
      }));
    }
  }

  /** Resolves when every worker of this generation has started (or rejects with why not). */
  private async ready(): Promise<void> {
    const ctl = this.ctl;
    const end = performance.now() + START_TIMEOUT_MS;
    while (Atomics.load(ctl, READY) < this.workers) {
      if (Atomics.load(ctl, DEAD) > 0) throw new Error('a worker thread exited while starting');
      if (performance.now() > end) throw new Error(`worker threads did not start within ${START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Ends this generation's workers and starts new ones, waiting for them where this thread may
   *  block (Node); elsewhere calls run here until they are up. */
  private restart(): void {
    this.stopWorkers();
    this.spawn();
    this.broken = null;
    if (!this.spawner.blockingStart) {
      this.starting = true;
      return;
    }
    const ctl = this.ctl;
    const end = performance.now() + START_TIMEOUT_MS;
    for (let ready = Atomics.load(ctl, READY); ready < this.workers; ready = Atomics.load(ctl, READY)) {
      if (Atomics.load(ctl, DEAD) > 0 || performance.now() > end) {
        this.broken = 'the restarted workers did not start';
        throw new Error(`the worker threads could not be restarted (${this.broken})`);
      }
      Atomics.wait(ctl, READY, ready, 50);
    }
  }

  private stopWorkers(): void {
    Atomics.store(this.ctl, SHUTDOWN, 1);
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
    for (const w of this.handles) w.terminate();
    this.handles = [];
  }
}
