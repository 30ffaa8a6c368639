// The readers' limits (src/io/limits.ts, docs/SECURITY.md) as command-line flags: --max-tensor-bytes
// 600M, --max-decompressed-bytes 2G, --max-view-expansion 8, --max-pickle-ops 5M, --max-image-pixels 200M. A ReadLimitError
// then advises the flag (with a value that would have been enough), not the library's option name,
// which a user of the command line has no way to pass.
import type { ReadLimitError, ReadLimits } from '../io/limits.js';
import { UsageError, getString, type CommandSpec, type FlagSpec, type ParsedArgs } from './args.js';

/** bytes: K/M/G/T are powers of 1024 (as the sizes in messages); count: K/M/G are thousands,
 *  millions, billions (opcodes are counted in decimal: the default is 2,000,000); ratio: a number. */
type LimitKind = 'bytes' | 'count' | 'ratio';

interface LimitFlag {
  option: keyof ReadLimits;
  flag: string;
  kind: LimitKind;
  valueName: string;
  description: string;
}

/** Every limit that has a flag. The others (pickle stack, memo, call arguments, header sizes) are
 *  far above any real checkpoint's needs and only matter for files built to break the reader. */
const LIMIT_FLAGS: readonly LimitFlag[] = [
  { option: 'maxTensorBytes', flag: 'max-tensor-bytes', kind: 'bytes', valueName: 'SIZE',
    description: 'reader limit: total bytes of the tensors a file may hold (default 4G; e.g. 600M for a file you do not trust)' },
  { option: 'maxDecompressedBytes', flag: 'max-decompressed-bytes', kind: 'bytes', valueName: 'SIZE',
    description: 'reader limit: bytes a compressed file may inflate to (default: 64M + its tensors for a zip checkpoint, 256M for a .gz data file)' },
  { option: 'maxViewExpansion', flag: 'max-view-expansion', kind: 'ratio', valueName: 'X',
    description: 'reader limit: how many times its stored data a checkpoint\'s tensors may hold through aliasing views (default 4)' },
  { option: 'maxPickleOps', flag: 'max-pickle-ops', kind: 'count', valueName: 'N',
    description: 'reader limit: opcodes a checkpoint\'s pickle may run (default 2M)' },
  { option: 'maxImagePixels', flag: 'max-image-pixels', kind: 'count', valueName: 'N',
    description: 'reader limit: pixels an image (PNG, JPEG) may have (default 89,478,485, as PIL)' },
];

const BY_FLAG = new Map(LIMIT_FLAGS.map((l) => [l.flag, l]));
const BY_OPTION = new Map(LIMIT_FLAGS.map((l) => [l.option, l]));

/** The limits a command reads checkpoints with (convert, predict). */
export const CHECKPOINT_LIMIT_FLAGS: readonly string[] = ['max-tensor-bytes', 'max-decompressed-bytes', 'max-view-expansion', 'max-pickle-ops'];

/** The flag specs for `flags` (names from LIMIT_FLAGS), to put in a CommandSpec. */
export function limitFlagSpecs(flags: readonly string[]): FlagSpec[] {
  return flags.map((name) => {
    const l = BY_FLAG.get(name);
    if (!l) throw new Error(`no reader limit has the flag --${name}`);
    return { name: l.flag, type: 'string', valueName: l.valueName, description: l.description };
  });
}

const BINARY: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
const DECIMAL: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/**
 * A limit's value from the command line: `64M`, `2G`, `1.5G`, `65536` (bytes; `64MiB`, `64MB` and
 * `64m` mean the same); `5M` (a count); `2.5` (a ratio). Throws a UsageError naming the flag.
 */
export function parseLimitValue(raw: string, flag: string, command = 'repvgg'): number {
  const l = BY_FLAG.get(flag);
  if (!l) throw new Error(`no reader limit has the flag --${flag}`);
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(i?b)?\s*$/i.exec(raw);
  const units = l.kind === 'bytes' ? BINARY : DECIMAL;
  const unit = m?.[2].toLowerCase() ?? '';
  const example = { bytes: '64M, 2G or 1048576', count: '5M or 3000000', ratio: '8 or 2.5' }[l.kind];
  if (!m || !(unit in units) || (m[3] && l.kind !== 'bytes') || (l.kind === 'ratio' && unit !== '')) {
    throw new UsageError(`--${flag} expects ${l.kind === 'ratio' ? 'a number' : `a ${l.kind === 'bytes' ? 'size' : 'count'}`} ` +
      `such as ${example}, got "${raw}"`, command);
  }
  const value = Number(m[1]) * units[unit];
  if (l.kind === 'ratio') return value;
  // Bytes and counts are whole: 1.5K is 1536 bytes, 0.1K of opcodes rounds up to 100.
  const whole = Math.ceil(value);
  if (!Number.isSafeInteger(whole)) throw new UsageError(`--${flag}: ${raw} is out of range`, command);
  return whole;
}

/** The ReadLimits given by the flags of `args` (those not given keep the readers' defaults). */
export function readLimitsOf(args: ParsedArgs, spec: CommandSpec): ReadLimits {
  const limits: ReadLimits = {};
  for (const f of spec.flags) {
    const l = BY_FLAG.get(f.name);
    const raw = l ? getString(args, f.name) : undefined;
    if (l && raw !== undefined) limits[l.option] = parseLimitValue(raw, l.flag, spec.command);
  }
  return limits;
}

/**
 * The message of a ReadLimitError for the command line: what was exceeded, then the flag of
 * `spec` that raises it with a value that would have been enough; or, when `spec` has no such
 * flag, that the command line cannot raise this limit.
 */
export function explainReadLimit(e: ReadLimitError, spec: CommandSpec | undefined): string {
  const l = BY_OPTION.get(e.limit);
  const has = l !== undefined && spec !== undefined && spec.flags.some((f) => f.name === l.flag);
  if (!has) return `${e.reason}; ${spec ? spec.command : 'the command line'} has no flag to raise it`;
  // In full, not rounded to a suffix: exact, and copied as it is it reads back the same.
  const value = e.enough !== undefined ? ` ${e.enough}` : e.max !== undefined ? ` (larger than ${e.max})` : '';
  return `${e.reason}; if you trust this file, raise it with --${l.flag}${value}`;
}
