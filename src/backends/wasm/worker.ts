// A worker thread of the pool in Node (worker_threads): worker-loop.ts on the data it was started
// with. Exiting while an item runs (process.exit in this thread, an uncaught error) is recorded by
// the exit hook, so the main thread stops waiting for that item.
import { workerData } from 'node:worker_threads';
import { markExited, runWorker, type WorkerData } from './worker-loop.js';

export type { WorkerData } from './worker-loop.js';

const data = workerData as WorkerData;
process.on('exit', () => markExited(data.control, data.thread));
runWorker(data, () => process.exit(70));
