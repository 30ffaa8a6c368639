// How many threads run the kernels, and why. The library runs every kernel on one thread today;
// multi-threaded kernels (workers sharing the WASM memory, each taking a range of images or
// output panels) are being added by another change. When a backend reports `threads`, this
// module shows it; until then it says why there is one.

/** { threads, reason, isolated }: what the page shows next to the backend and isa. */
export function threadInfo(backend, scope = globalThis) {
  const isolated = scope.crossOriginIsolated === true;
  const threads = typeof backend.threads === 'number' && backend.threads >= 1 ? backend.threads : 1;
  const shared = typeof SharedArrayBuffer === 'function' && isolated;
  let reason;
  if (threads > 1) reason = `${threads} workers share the WASM memory`;
  else if (!shared) reason = 'the library runs its kernels on one thread; this page is not cross-origin isolated, so shared WASM memory (which threads need) is unavailable here';
  else reason = 'the library runs its kernels on one thread for now (multi-threaded kernels are being added); this page is cross-origin isolated, so shared memory for them is available';
  return { threads, reason, isolated, cores: scope.navigator?.hardwareConcurrency ?? null };
}
