// A tiny argument parser for the `repvgg` command: `--flag value`, `--flag=value`, boolean
// flags, flags taking several values (`--size H W`), repeatable flags, flags taking a list up to
// the next flag (`--image a.png b.jpg`), `--` to end the flags.
// Unknown flags, missing values, repeated single flags and bad numbers are UsageErrors.

import { resolveArch } from '../models/repvgg.js';

/** A mistake in the command line: the CLI prints it with a pointer to --help and exits with 2. */
export class UsageError extends Error {
  constructor(message: string, readonly command = 'repvgg') {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagType = 'string' | 'int' | 'boolean';

export interface FlagSpec {
  /** without the dashes: 'classes' for --classes */
  name: string;
  type: FlagType;
  /** values a use takes (default 1; booleans take none) */
  arity?: number;
  /** the flag may be given several times; its value is then the list of every use */
  repeatable?: boolean;
  /** the flag takes one or more values: every word up to the next --flag (`--image a.png b.jpg`);
   *  given again, it adds to the list. Its value is the list. */
  variadic?: boolean;
  /** placeholder(s) for the help text, e.g. 'N' or 'H W' */
  valueName?: string;
  /** smallest accepted value of an 'int' flag */
  min?: number;
  description: string;
}

export interface CommandSpec {
  /** 'repvgg info' */
  command: string;
  /** the positional part of the usage line, e.g. '<arch>' */
  positionals?: { name: string; description: string }[];
  flags: FlagSpec[];
  summary: string;
  /** extra paragraphs after the flag list */
  notes?: string[];
}

export type FlagValue = string | number | boolean | (string | number)[];

export interface ParsedArgs {
  /** by flag name; absent when not given. arity > 1 gives an array, repeatable a list of those. */
  flags: Record<string, FlagValue | FlagValue[]>;
  positionals: string[];
  help: boolean;
}

const HELP: FlagSpec = { name: 'help', type: 'boolean', description: 'show this help' };

function convert(spec: FlagSpec, raw: string, command: string): string | number {
  if (spec.type !== 'int') return raw;
  if (!/^[+-]?\d+$/.test(raw.trim())) throw new UsageError(`--${spec.name} expects an integer, got "${raw}"`, command);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${spec.name}: ${raw} is out of range`, command);
  if (spec.min !== undefined && n < spec.min) throw new UsageError(`--${spec.name} must be at least ${spec.min}, got ${n}`, command);
  return n;
}

/** Parses `argv` (the words after the subcommand) against `spec`. */
export function parseArgs(argv: readonly string[], spec: CommandSpec): ParsedArgs {
  const byName = new Map<string, FlagSpec>([...spec.flags, HELP].map((f) => [f.name, f]));
  const out: ParsedArgs = { flags: {}, positionals: [], help: false };
  let i = 0;
  while (i < argv.length) {
    const word = argv[i++];
    if (word === '--') {
      out.positionals.push(...argv.slice(i));
      break;
    }
    if (word === '-h') { out.help = true; continue; }
    if (!word.startsWith('--') || word === '-') {
      if (word.startsWith('-') && word !== '-' && !/^-\d/.test(word)) {
        throw new UsageError(`unknown option ${word}`, spec.command);
      }
      out.positionals.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : word.slice(eq + 1);
    const f = byName.get(name);
    if (!f) throw new UsageError(`unknown option --${name}`, spec.command);
    let value: FlagValue;
    if (f.type === 'boolean') {
      if (inline === undefined) value = true;
      else if (/^(true|1|yes)$/i.test(inline)) value = true;
      else if (/^(false|0|no)$/i.test(inline)) value = false;
      else throw new UsageError(`--${name} is a switch: it takes no value (got "${inline}")`, spec.command);
    } else if (f.variadic) {
      const raws: string[] = [];
      if (inline !== undefined) raws.push(inline);
      else while (i < argv.length && !argv[i].startsWith('--')) raws.push(argv[i++]);
      if (raws.length === 0 || raws.includes('')) {
        throw new UsageError(`--${name} needs at least one value${f.valueName ? ` (${f.valueName})` : ''}`, spec.command);
      }
      const prev = (out.flags[name] ?? []) as (string | number)[];
      out.flags[name] = [...prev, ...raws.map((r) => convert(f, r, spec.command))];
      continue;
    } else {
      const arity = f.arity ?? 1;
      let raws: string[];
      if (inline !== undefined) {
        // --size=224,224 or --size=224x224 for the two-value flags; --classes=10 for the others.
        raws = arity === 1 ? [inline] : inline.split(/[,x]/);
        if (raws.length !== arity) {
          throw new UsageError(`--${name} takes ${arity} values (${f.valueName ?? ''}), got "${inline}"`, spec.command);
        }
      } else {
        raws = argv.slice(i, i + arity);
        if (raws.length < arity || raws.some((r) => r.startsWith('--'))) {
          throw new UsageError(`--${name} needs ${arity === 1 ? 'a value' : `${arity} values`}` +
            (f.valueName ? ` (${f.valueName})` : ''), spec.command);
        }
        i += arity;
      }
      const values = raws.map((r) => convert(f, r, spec.command));
      value = arity === 1 ? values[0] : values;
    }
    if (name === 'help') { out.help = value === true; continue; }
    if (f.repeatable) {
      ((out.flags[name] ??= []) as FlagValue[]).push(value);
    } else if (name in out.flags) {
      throw new UsageError(`--${name} is given more than once`, spec.command);
    } else {
      out.flags[name] = value;
    }
  }
  return out;
}

/** The --help text of a command. */
export function formatHelp(spec: CommandSpec): string {
  const pos = (spec.positionals ?? []).map((p) => ` ${p.name}`).join('');
  const flagWord = (f: FlagSpec) => `--${f.name}${f.type === 'boolean' ? '' : ` ${f.valueName ?? 'VALUE'}`}`;
  const rows: [string, string][] = [
    ...(spec.positionals ?? []).map((p): [string, string] => [p.name, p.description]),
    ...[...spec.flags, HELP].map((f): [string, string] => [flagWord(f), f.description]),
  ];
  const width = Math.max(...rows.map(([a]) => a.length));
  return [
    `usage: ${spec.command}${pos}${spec.flags.length ? ' [options]' : ''}`,
    '',
    spec.summary,
    '',
    ...rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`),
    ...(spec.notes?.length ? ['', ...spec.notes] : []),
  ].join('\n');
}

/** Typed getters over ParsedArgs.flags. */
export function getString(a: ParsedArgs, name: string): string | undefined {
  const v = a.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function getInt(a: ParsedArgs, name: string): number | undefined {
  const v = a.flags[name];
  return typeof v === 'number' ? v : undefined;
}

export function getBool(a: ParsedArgs, name: string): boolean {
  return a.flags[name] === true;
}

/** The list of a variadic string flag (`--image a.png b.jpg`), or undefined. */
export function getStrings(a: ParsedArgs, name: string): string[] | undefined {
  const v = a.flags[name];
  return Array.isArray(v) ? (v as string[]) : undefined;
}

export function getInts(a: ParsedArgs, name: string): number[] | undefined {
  const v = a.flags[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

/** An architecture name from the command line, as resolveArch would, but a usage error if unknown. */
export function archArg(name: string, command: string): string {
  try {
    return resolveArch(name);
  } catch (e) {
    throw new UsageError((e as Error).message, command);
  }
}

/** The value of a flag the command cannot do without. */
export function requireString(a: ParsedArgs, name: string, command: string): string {
  const v = getString(a, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`, command);
  return v;
}
