// How the library writes things in messages and reports: shapes, byte sizes, counts, and a bad
// argument. One place, so every message says a shape or a size the same way.

/** `[2,3]`: how every message in the library writes a shape. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d) => String(d)).join(',')}]`;
}

/** 29358888 -> '28.0 MiB'; sizes of 1 GiB and more with two decimals ('3.91 GiB'), so a limit
 *  close to 4 GiB still reads differently from 4 GiB. */
export function formatBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

/** 7041194 -> '7,041,194' */
export function formatCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1.46e9 -> '1.46 G' (SI, for MACs) */
export function formatSI(n: number): string {
  const units = ['', ' K', ' M', ' G', ' T'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return i === 0 ? String(n) : `${n.toFixed(n >= 100 ? 1 : 2)}${units[i]}`;
}

/** How a bad argument appears in a message: shapes for tensors, the value for the rest. */
export function describe(v: unknown): string {
  if (isTensor(v)) return String(v);
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<number>).length})`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v !== null && typeof v === 'object') return v.constructor?.name ?? 'object';
  return String(v);
}

/** A Tensor, recognised without importing the class (format.ts sits below tensor.ts). */
function isTensor(v: unknown): boolean {
  return v !== null && typeof v === 'object' && 'shape' in v && 'backend' in v && 'dispose' in v;
}

/**
 * A value read from a file (a pickle, a header) for an error message. Never the bare words a bug would print
 * (undefined, NaN, [object ...]): a missing value is 'missing', and every text is cut short.
 */
export function describeFileValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return quote(v, 60);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Number.isNaN(v) ? 'not a number (nan)' : String(v);
  if (typeof v === 'function') return 'a callable';
  if (Array.isArray(v)) return `a ${Object.isFrozen(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v instanceof Map) return `a dict of ${v.size}`;
  if (v instanceof Set) return `a set of ${v.size}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (v === null || typeof v !== 'object') return String(v);
  // Classes with a meaningful toString (the unpickler's PyGlobal / PyObject) describe themselves.
  if (v.toString !== Object.prototype.toString && typeof v.toString === 'function') {
    const s = String(v);
    return s.length > 120 ? `${s.slice(0, 120)}...` : s;
  }
  const name: unknown = v.constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object';
}

/** Longest text an error message quotes from a file. */
const QUOTE_MAX = 80;

/** `text` quoted for an error message, cut to its first 80 characters (a file's text can be huge). */
export function quote(text: string, max = QUOTE_MAX): string {
  return JSON.stringify(text.length > max ? text.slice(0, max) : text) +
    (text.length > max ? `... (${text.length} characters)` : '');
}

/** At most `max` items of a list for a message, then how many more there are. */
export function listShort(items: readonly string[], max = 20): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')}, ... (${items.length - max} more)`;
}
