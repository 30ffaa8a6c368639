// The prefixes a wrapped model puts on every name of its state dict: stripped in one place, for
// every file format (the torch reader, safetensors files read by the CLI), and named in the
// state-dict loader's error when a dict still has them.

/** Prefix, and the wrapper that adds it. */
export const WRAPPER_PREFIXES = [
  ['module.', 'DataParallel / DistributedDataParallel'],
  ['_orig_mod.', 'torch.compile'],
] as const;

/** The entries with every prefix that all of them share removed (a prefix repeated by nested
 *  wrappers in one go); a note per prefix stripped is pushed to `notes`. */
export function stripWrapperPrefixes<T>(entries: [string, T][], notes: string[]): [string, T][] {
  let names = entries;
  if (names.length === 0) return names;
  for (let changed = true; changed;) {
    changed = false;
    for (const [prefix, by] of WRAPPER_PREFIXES) {
      let times = 0;
      while (names.every(([n]) => n.startsWith(prefix))) {
        names = names.map(([n, t]) => [n.slice(prefix.length), t]);
        times++;
      }
      if (times > 0) {
        notes.push(`stripped the '${prefix}' prefix (added by ${by}) from all ${names.length} names` +
          (times > 1 ? ` (${times} times)` : ''));
        changed = true;
      }
    }
  }
  return names;
}
