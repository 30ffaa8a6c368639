// The worker that runs fuzz cases: one reader call per message, answered with the outcome, the
// time the call took and the memory it left allocated. It runs with resourceLimits set by the
// runner (./runner.ts), so a heap that outgrows the limit kills this worker, not the process.
import { parentPort } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { classifyError } from './classify.js';
import { targetByName } from './targets.js';

export interface CaseMessage { id: number; target: string; bytes: Uint8Array }
export interface CaseReply {
  id: number;
  outcome: 'ok' | 'clean-error' | 'internal-error';
  ms: number;
  /** Bytes of the tensors or arrays the reader returned. */
  returnedBytes: number;
  /** Growth of heap + ArrayBuffer memory from before the call to just after it (before any GC). */
  memoryBytes: number;
  errorName?: string;
  message?: string;
}

// A full GC between cases when a case left much behind, so the next case is measured alone.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function used(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

parentPort!.on('message', async (msg: CaseMessage) => {
  const target = targetByName(msg.target);
  const before = used();
  const t0 = performance.now();
  let reply: CaseReply;
  try {
    const returnedBytes = await target.run(msg.bytes);
    reply = { id: msg.id, outcome: 'ok', ms: performance.now() - t0, returnedBytes, memoryBytes: 0 };
  } catch (e) {
    const c = classifyError(e);
    reply = {
      id: msg.id, outcome: c.outcome, ms: performance.now() - t0, returnedBytes: 0, memoryBytes: 0,
      errorName: c.name, message: c.message.length > 2000 ? `${c.message.slice(0, 2000)}...` : c.message,
    };
  }
  reply.memoryBytes = Math.max(0, used() - before);
  parentPort!.postMessage(reply);
  if (used() > 256 * 2 ** 20) gc();
});
