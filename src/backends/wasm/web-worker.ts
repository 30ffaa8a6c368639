// A worker thread of the pool in a browser (a Web Worker started by a library that itself runs in
// a Web Worker): worker-loop.ts on the data of the first message. A browser worker has no exit
// hook; a worker that stops while an item runs is caught by the pool's hang timeout.
import { markExited, runWorker, type WorkerData } from './worker-loop.js';

const scope = globalThis as unknown as { onmessage: ((e: MessageEvent<WorkerData>) => void) | null; close(): void };
scope.onmessage = (e) => {
  scope.onmessage = null;
  const data = e.data;
  runWorker(data, () => {
    // The fault tests' "exit": recorded as an exit, then this thread stops for good.
    markExited(data.control, data.thread);
    scope.close();
    for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  });
};
