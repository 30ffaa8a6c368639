// Worker threads in Node: worker_threads running worker.ts. Workers are unref'd, so a process that
// never disposes its backend still exits when its own work is done.
import type { Spawner } from './pool.js';
import type { WorkerData } from './worker-loop.js';

/** The process's Node options for a worker, but those about a script given on the command line
 *  (--eval and its --input-type), which a worker running a file refuses. */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') i++;
    else if (!a.startsWith('--input-type') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}

export async function nodeSpawner(): Promise<Spawner> {
  const { Worker } = await import('node:worker_threads');
  const url = new URL('./worker.js', import.meta.url);
  return {
    blockingStart: true,
    spawn(data: WorkerData, onExit: () => void) {
      const worker = new Worker(url, { workerData: data, execArgv: workerExecArgv() });
      worker.on('exit', onExit);
      worker.on('error', () => { /* the exit hook or the 'exit' listener records it */ });
      worker.unref();
      return { terminate: () => void worker.terminate() };
    },
  };
}
