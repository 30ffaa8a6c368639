// How many threads run the kernels, and why: `backend.threads` and, when it runs fewer than the
// cores, `backend.threadsReason` (threads need a cross-origin isolated page and a worker).

/** { threads, reason, isolated }: what the page shows next to the backend and isa. */
export function threadInfo(backend, scope = globalThis) {
  const isolated = scope.crossOriginIsolated === true;
  const threads = typeof backend.threads === 'number' && backend.threads >= 1 ? backend.threads : 1;
  const shared = typeof SharedArrayBuffer === 'function' && isolated;
  let reason;
  if (threads > 1) reason = `${threads} workers share the WASM memory`;
  else if (!shared) reason = 'the library runs its kernels on one thread; this page is not cross-origin isolated, so shared WASM memory (which threads need) is unavailable here';
  else reason = backend.threadsReason ?? 'the library runs its kernels on one thread here';
  return { threads, reason, isolated, cores: scope.navigator?.hardwareConcurrency ?? null };
}
