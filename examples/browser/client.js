// The page's side of the worker protocol (see worker.js): call(type, args) resolves with the
// reply; on(event, fn) listens to the events long requests send on the way.

export function createClient(workerUrl) {
  const worker = new Worker(workerUrl, { type: 'module' });
  const pending = new Map();
  const listeners = new Map();
  let next = 1;
  let broken = null;
  worker.onmessage = ({ data }) => {
    if (data.event) {
      for (const fn of listeners.get(data.event) ?? []) fn(data);
      return;
    }
    const p = pending.get(data.id);
    if (!p) return;
    pending.delete(data.id);
    if (data.ok) p.resolve(data.result);
    else p.reject(new Error(data.error));
  };
  // A worker that fails to load (a missing module, no module-worker support) fails every call.
  worker.onerror = (e) => {
    broken = new Error(`the worker failed: ${e.message || 'could not load worker.js'}`);
    for (const p of pending.values()) p.reject(broken);
    pending.clear();
  };
  return {
    call(type, args = {}, transfer = []) {
      if (broken) return Promise.reject(broken);
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, type, ...args }, transfer);
      });
    },
    on(event, fn) {
      if (!listeners.has(event)) listeners.set(event, []);
      listeners.get(event).push(fn);
    },
  };
}
