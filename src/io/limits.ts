// The limits every file reader works within, in one place.
//
// A checkpoint or a dataset is a file from the internet. A reader's time and memory must be
// bounded by its input and by what the caller asked for: a small file must not inflate, expand or
// allocate without limit (zip bombs, pickle opcode floods, storage views that alias one buffer
// many times). Each limit below has a default generous enough for any real RepVGG checkpoint or
// dataset and is an option of the readers; exceeding one throws a ReadLimitError that names the
// option to raise. docs/SECURITY.md states the resulting guarantees.

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export interface ReadLimits {
  /** Total bytes of the tensors a reader returns (in memory: float32, int64 or int32).
   * Default 4 GiB: everything wasm32 can address; the largest official RepVGG (B3) is 0.5 GB. */
  maxTensorBytes?: number;
  /** Aliasing: the tensors returned may hold at most this many times the bytes of the storages
   * they view (each storage counted once), plus 16 MiB. Tied weights and expanded views alias
   * legitimately; 2,000 views of one 8 MiB storage do not. Default 4. */
  maxViewExpansion?: number;
  /** Total bytes inflated from compressed (deflate or gzip) data. Default, for a zip checkpoint:
   * 64 MiB (the pickle and small entries) + the stored bytes of the tensors it returns; for a
   * gzipped data file: 256 MiB, or less when the file's header says how big it is. */
  maxDecompressedBytes?: number;
  /** Opcodes one pickle may execute (a call counts also the lengths of its arguments).
   * Default 2,000,000: a RepVGG state dict needs about 20 per tensor, a whole pickled model a
   * few hundred per module. Bounds the unpickler's time and memory (at most ~250 bytes/opcode). */
  maxPickleOps?: number;
  /** Values on the pickle's stack plus open MARKs. Default 1,000,000 (Python's pickler batches
   * items by 1,000, so a real pickle stays below a few thousand). */
  maxPickleStack?: number;
  /** Entries in the pickle's memo. Default 1,000,000. */
  maxPickleMemo?: number;
  /** Arguments of one call (REDUCE, NEWOBJ). Default 1,024; at most 65,536, since a call spreads
   * its arguments on the JavaScript stack. The functions a checkpoint calls take at most 7. */
  maxPickleCallArgs?: number;
  /** Bytes of a safetensors or .npy header. Default: 100,000,000 for safetensors (the reference
   * implementation's limit), 10,000 for .npy (NumPy's own default `max_header_size`). */
  maxHeaderBytes?: number;
  /** Pixels (width x height) of a decoded PNG or JPEG image. Default 89,478,485: PIL's
   * Image.MAX_IMAGE_PIXELS (above it PIL warns of a decompression bomb). The decoders hold at most
   * about 12 bytes per pixel (a progressive JPEG's coefficients, planes and output), so the
   * default bounds an image at about 1 GiB; lower it for images from sources you do not trust. */
  maxImagePixels?: number;
}

export const DEFAULT_LIMITS = Object.freeze({
  maxTensorBytes: 4 * GiB,
  maxViewExpansion: 4,
  /** What aliasing may add beyond maxViewExpansion x the stored bytes (small expanded views). */
  viewExpansionSlack: 16 * MiB,
  /** The fixed part of a zip checkpoint's decompression budget. */
  decompressedSlack: 64 * MiB,
  /** A gzipped data file (mnist:<dir>) whose header does not say its size. */
  maxDecompressedDataBytes: 256 * MiB,
  maxPickleOps: 2_000_000,
  maxPickleStack: 1_000_000,
  maxPickleMemo: 1_000_000,
  maxPickleCallArgs: 1024,
  safetensorsHeaderBytes: 100_000_000,
  npyHeaderBytes: 10_000,
  maxImagePixels: 89_478_485,
});

/** Above this, spreading a call's arguments overflows the JavaScript stack. */
const CALL_ARGS_CEILING = 65_536;

/** The limits that count things (opcodes, values, a ratio); the others count bytes. */
const COUNT_LIMITS = new Set<keyof ReadLimits>([
  'maxViewExpansion', 'maxPickleOps', 'maxPickleStack', 'maxPickleMemo', 'maxPickleCallArgs', 'maxImagePixels',
]);

/** A limit was exceeded. `limit` is the option that raises it. */
export class ReadLimitError extends Error {
  /**
   * `reason`: the message without its advice (what was read, what it needed, the limit), so that
   * a caller with other names for the options (the command line's --max-* flags) can give its own;
   * `max`: the limit in force; `enough`: a value that would have been enough, when known.
   */
  readonly reason: string;
  readonly max?: number;
  readonly enough?: number;

  constructor(readonly limit: keyof ReadLimits, message: string, detail: { reason?: string; max?: number; enough?: number } = {}) {
    super(message);
    this.name = 'ReadLimitError';
    this.reason = detail.reason ?? message;
    this.max = detail.max;
    this.enough = detail.enough;
  }
}

/** `n` bytes for a message: exact below 1 KiB, else rounded with the exact count. */
export function formatBytes(n: number): string {
  if (n < KiB) return `${n} bytes`;
  const [v, unit] = n >= GiB ? [n / GiB, 'GiB'] : n >= MiB ? [n / MiB, 'MiB'] : [n / KiB, 'KiB'];
  return `${+v.toFixed(1)} ${unit} (${n} bytes)`;
}

/**
 * Throws the ReadLimitError for `limit`: `what` says what was being read, `detail` what it
 * needed; the message ends with the option and a value that would have been enough.
 */
export function exceeded(limit: keyof ReadLimits, what: string, detail: string, max: number, needed?: number): never {
  const shown = COUNT_LIMITS.has(limit) ? String(max) : formatBytes(max);
  const enough = needed !== undefined && Number.isFinite(needed) ? Math.ceil(needed) : undefined;
  const raise = enough !== undefined ? `{ ${limit}: ${enough} }` : `${limit} (larger than ${max})`;
  const reason = `${what}: ${detail}, over the ${limit} limit of ${shown}`;
  throw new ReadLimitError(limit, `${reason}; if you trust this file, pass the option ${raise} to raise it`,
    { reason, max, enough });
}

function checkOption(v: unknown, name: keyof ReadLimits, max = Infinity): void {
  if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= max && !Number.isNaN(v))) {
    throw new RangeError(`option ${name} must be a number from 0 to ${max}, got ${String(v)}`);
  }
}

/** The pickle limits in force: the caller's options over the defaults (validated). */
export function pickleLimits(o: ReadLimits = {}): Required<Pick<ReadLimits,
  'maxPickleOps' | 'maxPickleStack' | 'maxPickleMemo' | 'maxPickleCallArgs'>> {
  checkOption(o.maxPickleOps, 'maxPickleOps');
  checkOption(o.maxPickleStack, 'maxPickleStack');
  checkOption(o.maxPickleMemo, 'maxPickleMemo');
  checkOption(o.maxPickleCallArgs, 'maxPickleCallArgs', CALL_ARGS_CEILING);
  return {
    maxPickleOps: o.maxPickleOps ?? DEFAULT_LIMITS.maxPickleOps,
    maxPickleStack: o.maxPickleStack ?? DEFAULT_LIMITS.maxPickleStack,
    maxPickleMemo: o.maxPickleMemo ?? DEFAULT_LIMITS.maxPickleMemo,
    maxPickleCallArgs: o.maxPickleCallArgs ?? DEFAULT_LIMITS.maxPickleCallArgs,
  };
}

/** Validates the size options (a typo such as a string must not silently disable a limit). */
export function checkLimitOptions(o: ReadLimits = {}): void {
  checkOption(o.maxTensorBytes, 'maxTensorBytes');
  checkOption(o.maxViewExpansion, 'maxViewExpansion');
  checkOption(o.maxDecompressedBytes, 'maxDecompressedBytes');
  checkOption(o.maxHeaderBytes, 'maxHeaderBytes');
  checkOption(o.maxImagePixels, 'maxImagePixels');
  pickleLimits(o);
}

/** Checks the total bytes of the tensors about to be returned against maxTensorBytes. */
export function checkTensorBytes(total: number, what: string, o: ReadLimits = {}): void {
  const max = o.maxTensorBytes ?? DEFAULT_LIMITS.maxTensorBytes;
  if (total > max) exceeded('maxTensorBytes', what, `the tensors need ${formatBytes(total)}`, max, total);
}

/**
 * A running total of bytes inflated from compressed data. `spend` is called with an entry's
 * declared size before inflating it, so nothing over the budget is ever allocated.
 */
export class DecompressionBudget {
  used = 0;
  constructor(public max: number, public readonly how: string) {}

  spend(n: number, what: string): void {
    if (this.used + n > this.max) {
      const detail = this.used === 0 ? `it inflates to ${formatBytes(n)}`
        : `inflating ${formatBytes(n)} more would bring the total inflated to ${formatBytes(this.used + n)}`;
      exceeded('maxDecompressedBytes', what, `${detail} (limit: ${this.how})`, this.max, this.used + n);
    }
    this.used += n;
  }
}
