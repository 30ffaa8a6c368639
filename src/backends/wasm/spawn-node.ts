// Worker threads in Node: worker_threads running worker.ts. Workers are unref'd, so a process that
// never disposes its backend still exits when its own work is done.
import type { Spawner } from './pool.js';
import type { WorkerData } from './worker-loop.js';

export async function nodeSpawner(): Promise<Spawner> {
  const { Worker } = await import('node:worker_threads');
  const url = new URL('./worker.js', import.meta.url);
  return {
    blockingStart: true,
    spawn(data: WorkerData, onExit: () => void) {
      // No Node options: a worker refuses V8 flags (--experimental-wasm-relaxed-simd, which are
      // process-wide anyway) and --eval's, and needs none to run worker.js.
      const worker = new Worker(url, { workerData: data, execArgv: [] });
      worker.on('exit', onExit);
      worker.on('error', () => { /* the exit hook or the 'exit' listener records it */ });
      worker.unref();
      return { terminate: () => void worker.terminate() };
    },
  };
}
