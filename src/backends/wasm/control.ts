// The control block the main thread and the worker threads share (a SharedArrayBuffer beside the
// WASM memory): one job at a time, its header and arguments, an item counter the threads take
// items from, and each worker's state. Read by pool.ts (the main thread) and worker.ts.
//
// A job is one export called over items 0 .. items - 1: in TEMPLATE mode every call gets the
// job's arguments followed by (thread, base + i, base + i + 1); in TABLE mode call i gets row i of
// the argument table. Threads take items with a compare-and-swap on NEXT, which holds the job's
// tag (its sequence number, 15 bits) and the next item: a thread that read the header of one job
// can never take an item of another (the swap fails when the tag moved on), so the main thread
// waits only for the items, not for every worker to wake up.

/** Int32 indices in the control block. */
export const SEQ = 0;         // job sequence number: workers sleep on it
export const NEXT = 1;        // (tag << 16) | next item
export const FINISHED = 2;    // items of the current job finished (the main thread sleeps on it)
export const FN = 3;          // export index in KERNEL_EXPORTS' order
export const NARGS = 4;
export const ITEMS = 5;
export const MODE = 6;
export const BASE = 7;        // added to the item index the export receives (TEMPLATE mode)
export const ERROR = 8;       // 0, or the thread index + 1 of the first thread whose call threw
export const SHUTDOWN = 9;
export const READY = 10;      // workers started
export const DEAD = 11;       // workers that exited (their exit hook counts here)
export const ERROR_LEN = 12;  // bytes of the error message
/** Per worker w (1 .. MAX_WORKERS): STATE + w, HEART + w (items it finished), FAULT + w. */
export const STATE = 64;
export const HEART = 128;
export const FAULT = 192;
export const INTS = 256;

export const MAX_WORKERS = 63;
export const MAX_ITEMS = 0x8000;         // items per job: the item index has 15 bits of NEXT's 16
export const MAX_ARGS = 32;
export const TABLE_ROWS = 256;

export const TEMPLATE = 0;
export const TABLE = 1;

/** Worker states. A worker that exits while running an item leaves that item unfinished: the
 *  main thread must not wait for it. */
export const IDLE = 0;
export const BUSY = 1;
export const EXITED = 2;
export const EXITED_BUSY = 3;

/** Faults a test can inject into a worker (it acts on its next item). */
export const FAULT_NONE = 0;
export const FAULT_THROW = 1;
export const FAULT_EXIT = 2;
export const FAULT_HANG = 3;

/** Byte layout: [ints][f64 arguments / table][error message]. */
export const ARGS_OFFSET = INTS * 4;
export const ARGS_DOUBLES = TABLE_ROWS * MAX_ARGS;
export const MESSAGE_OFFSET = ARGS_OFFSET + ARGS_DOUBLES * 8;
export const MESSAGE_BYTES = 2048;
export const CONTROL_BYTES = MESSAGE_OFFSET + MESSAGE_BYTES;

/** The tag of a job's sequence number, as NEXT holds it. */
export function tagOf(seq: number): number {
  return seq & 0x7fff;
}

/** Writes `text` (UTF-8, cut to fit) as the error message; returns its bytes. TextEncoder may not
 *  write into shared memory, so the bytes go through a private array. */
export function writeMessage(control: SharedArrayBuffer, text: string): number {
  const bytes = new TextEncoder().encode(text).subarray(0, MESSAGE_BYTES);
  new Uint8Array(control, MESSAGE_OFFSET, bytes.length).set(bytes);
  return bytes.length;
}

export function readMessage(control: SharedArrayBuffer, length: number): string {
  const copy = new Uint8Array(Math.min(length, MESSAGE_BYTES));
  copy.set(new Uint8Array(control, MESSAGE_OFFSET, copy.length));
  return new TextDecoder().decode(copy);
}

/** Takes the next item of the job tagged `tag` (which has `items`): its index, or -1 when the job
 *  has none left or is no longer the current one. */
export function takeItem(ctl: Int32Array, tag: number, items: number): number {
  let w = Atomics.load(ctl, NEXT);
  for (;;) {
    if ((w >>> 16) !== tag || (w & 0xffff) >= items) return -1;
    const got = Atomics.compareExchange(ctl, NEXT, w, w + 1);
    if (got === w) return w & 0xffff;
    w = got;
  }
}

/** Counts an item finished and wakes the main thread if it waits for it. */
export function finishItems(ctl: Int32Array, count: number): void {
  Atomics.add(ctl, FINISHED, count);
  Atomics.notify(ctl, FINISHED);
}

/** Stops the job tagged `tag`: no thread takes another of its items, and the items nobody took
 *  count as finished (the main thread then waits only for those being run). */
export function abandonJob(ctl: Int32Array, tag: number, items: number): void {
  let w = Atomics.load(ctl, NEXT);
  for (;;) {
    if ((w >>> 16) !== tag || (w & 0xffff) >= items) return;
    const got = Atomics.compareExchange(ctl, NEXT, w, (tag << 16) | items);
    if (got === w) {
      finishItems(ctl, items - (w & 0xffff));
      return;
    }
    w = got;
  }
}
