// Worker threads in a browser: module Web Workers running web-worker.ts, started from a library
// that itself runs in a Web Worker (a page's main thread may not block in Atomics.wait). A browser
// does not tell when a worker ends: a worker that stops in the middle of a call is caught by the
// pool's hang timeout.
import type { Spawner } from './pool.js';
import type { WorkerData } from './worker-loop.js';

export function webSpawner(): Spawner {
  const url = new URL('./web-worker.js', import.meta.url);
  return {
    blockingStart: false,
    spawn(data: WorkerData) {
      const worker = new Worker(url, { type: 'module' });
      worker.postMessage(data);
      return { terminate: () => worker.terminate() };
    },
  };
}
