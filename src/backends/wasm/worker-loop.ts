// The loop every worker thread runs, in Node (worker.ts) and in browsers (web-worker.ts): the
// kernel module instantiated on the backend's shared memory, running the items of each job it
// finds in the control block (control.ts) until told to shut down. A worker never allocates WASM
// memory: the main thread owns the allocator, workers only run kernels on the pointers they get.
import {
  ARGS_DOUBLES, ARGS_OFFSET, BASE, BUSY, DEAD, ERROR, ERROR_LEN, EXITED, EXITED_BUSY, FAULT, FAULT_EXIT, FAULT_HANG,
  FAULT_THROW, FN, HEART, IDLE, ITEMS, MODE, NARGS, READY, SEQ, SHUTDOWN, STATE, TEMPLATE, abandonJob, finishItems,
  takeItem, tagOf, writeMessage,
} from './control.js';
import { KERNEL_EXPORTS } from './exports.js';

/** What a worker is started with. */
export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** this worker's thread index, 1 .. threads - 1 (the main thread is 0) */
  thread: number;
  /** microseconds of polling for the next job before sleeping */
  spinMicros: number;
}

/** Records that worker `thread` exits, leaving unfinished the item it was running if any, and
 *  wakes the main thread, which would otherwise wait for that item. */
export function markExited(control: SharedArrayBuffer, thread: number): void {
  const ctl = new Int32Array(control);
  Atomics.store(ctl, STATE + thread, Atomics.load(ctl, STATE + thread) === BUSY ? EXITED_BUSY : EXITED);
  Atomics.add(ctl, DEAD, 1);
  finishItems(ctl, 0);
}

/** Instantiates the module and runs jobs until shutdown. `exit` ends the thread (a fault test). */
export function runWorker(data: WorkerData, exit: () => void): void {
  const { module, memory, control, thread: me, spinMicros } = data;
  const ctl = new Int32Array(control);
  const table = new Float64Array(control, ARGS_OFFSET, ARGS_DOUBLES);
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = Object.keys(KERNEL_EXPORTS).map((name) => exports[name] as (...args: number[]) => unknown);
  Atomics.add(ctl, READY, 1);
  Atomics.notify(ctl, READY);

  /** Faults the tests inject (pool.injectFault), acted on at this thread's next item. */
  const injectedFault = (): void => {
    const fault = Atomics.exchange(ctl, FAULT + me, 0);
    if (fault === FAULT_THROW) throw new Error(`fault injected into thread ${me}`);
    if (fault === FAULT_EXIT) exit();
    if (fault === FAULT_HANG) for (;;) { /* until terminated */ }
  };

  /** Runs the items of job `seq` this thread can take. */
  const runJob = (seq: number): void => {
    const tag = tagOf(seq);
    // The header is read before any item is taken; taking one succeeds only while this job is the
    // current one, and the header cannot change before all its items are done (control.ts).
    const fn = fns[Atomics.load(ctl, FN)];
    const nargs = Atomics.load(ctl, NARGS);
    const items = Atomics.load(ctl, ITEMS);
    const template = Atomics.load(ctl, MODE) === TEMPLATE;
    const base = Atomics.load(ctl, BASE);
    const args = template ? Array.from(table.subarray(0, nargs)) : [];
    if (template) args.push(me, 0, 0);
    for (let i = takeItem(ctl, tag, items); i >= 0; i = takeItem(ctl, tag, items)) {
      Atomics.store(ctl, STATE + me, BUSY);
      try {
        injectedFault();
        if (template) {
          args[nargs + 1] = base + i;
          args[nargs + 2] = base + i + 1;
          fn(...args);
        } else {
          fn(...table.subarray(i * nargs, (i + 1) * nargs));
        }
      } catch (e) {
        if (Atomics.compareExchange(ctl, ERROR, 0, me + 1) === 0) {
          Atomics.store(ctl, ERROR_LEN, writeMessage(control, e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
        }
        abandonJob(ctl, tag, items);
      }
      Atomics.store(ctl, STATE + me, IDLE);
      Atomics.add(ctl, HEART + me, 1);
      finishItems(ctl, 1);
    }
  };

  let seen = 0;
  for (;;) {
    // Jobs come in quick succession (layer after layer): poll a while before sleeping (the clock
    // read once per 1024 polls).
    const until = performance.now() + spinMicros / 1000;
    for (let i = 1; Atomics.load(ctl, SEQ) === seen && ((i & 1023) !== 0 || performance.now() < until); i++);
    while (Atomics.load(ctl, SEQ) === seen) Atomics.wait(ctl, SEQ, seen);
    seen = Atomics.load(ctl, SEQ);
    if (Atomics.load(ctl, SHUTDOWN)) return;
    runJob(seen);
  }
}
