// The architecture flags shared by `train`, `bench`, `predict`, `convert`, `info`, `export` and
// `features`: --arch (an official variant, or custom with --blocks, --widths, --groups, --se). One
// place, so every command builds the same network from the same words. Also --threads (THREADS_FLAG).
import { REPVGG_VARIANTS, type RepVGGConfig } from '../models/repvgg.js';
import { UsageError, archArg, getBool, getInt, getString, requireString, type FlagSpec, type ParsedArgs } from './args.js';

export type ArchPreset = Pick<RepVGGConfig, 'numBlocks' | 'widthMultiplier' | 'overrideGroupsMap' | 'useSE'>;

/** What the command line asks for: a variant or a custom network, or (preset null) "custom, as
 *  the weights file's metadata says" (`--arch custom` alone, on a file that has metadata). */
export interface ArchChoice {
  /** 'A0', ... or 'custom' */
  name: string;
  preset: ArchPreset | null;
}

/** --arch's description for a command reading a weights file. */
export const ARCH_FOR_WEIGHTS = 'architecture, for a file without repvgg-wasm metadata (default: read off its weights)';

/** --threads N of the commands that compute (predict, convert, export, features, train); bench takes a list. */
export const THREADS_FLAG: FlagSpec = {
  name: 'threads', type: 'int', min: 1, valueName: 'N', description: 'threads to compute on (default: the cores available; REPVGG_THREADS)',
};

export function archFlags(what: string): FlagSpec[] {
  return [
    { name: 'arch', type: 'string', valueName: 'ARCH', description: `${what}: ${Object.keys(REPVGG_VARIANTS).join(', ')} ` +
      '(or RepVGG-A0, ...), or "custom" with --blocks and --widths' },
    { name: 'blocks', type: 'string', valueName: 'a,b,c,d', description: 'custom: blocks in stages 1-4, e.g. 1,2,2,1' },
    { name: 'widths', type: 'string', valueName: 'a,b,c,d', description: 'custom: width multipliers of stages 1-4, e.g. 0.5,0.5,0.5,1' },
    { name: 'groups', type: 'int', min: 1, valueName: 'G', description: 'custom: groups on blocks 2, 4, 6, ... (as the gN variants; default 1)' },
    { name: 'se', type: 'boolean', description: 'custom: SE blocks (as D2se)' },
  ];
}

function listFlag(value: string, name: string, count: number, integer: boolean, command: string): number[] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))) {
    throw new UsageError(`--${name} expects ${count} comma-separated ${integer ? 'positive integers' : 'positive numbers'}, got "${value}"`, command);
  }
  return parts;
}

/**
 * The architecture the flags name, or null without --arch. `--arch custom` needs --blocks and
 * --widths unless `customFromFile` (the weights file's metadata may hold them); --blocks,
 * --widths, --groups and --se are refused with a variant.
 */
export function archFromArgs(args: ParsedArgs, command: string, customFromFile = false): ArchChoice | null {
  const arch = getString(args, 'arch');
  if (arch === undefined || arch === '') {
    for (const f of ['blocks', 'widths', 'groups', 'se']) {
      if (args.flags[f] !== undefined) throw new UsageError(`--${f} needs --arch custom`, command);
    }
    return null;
  }
  if (arch.toLowerCase() === 'custom') {
    const blocks = getString(args, 'blocks');
    const widths = getString(args, 'widths');
    if (!blocks && !widths && customFromFile && args.flags.groups === undefined && args.flags.se === undefined) {
      return { name: 'custom', preset: null };
    }
    if (!blocks || !widths) throw new UsageError('--arch custom needs --blocks and --widths', command);
    const groups = getInt(args, 'groups') ?? 1;
    const numBlocks = listFlag(blocks, 'blocks', 4, true, command);
    const total = numBlocks.reduce((a, b) => a + b, 0);
    const map: Record<number, number> = {};
    // The gN variants' rule: groups on every second block (2, 4, ..., 26), as far as there are blocks.
    if (groups > 1) for (let l = 2; l <= Math.min(26, total); l += 2) map[l] = groups;
    return {
      name: 'custom',
      preset: {
        numBlocks: numBlocks as RepVGGConfig['numBlocks'],
        widthMultiplier: listFlag(widths, 'widths', 4, false, command) as RepVGGConfig['widthMultiplier'],
        overrideGroupsMap: map, useSE: getBool(args, 'se'),
      },
    };
  }
  for (const f of ['blocks', 'widths', 'groups', 'se']) {
    if (args.flags[f] !== undefined) throw new UsageError(`--${f} only applies to --arch custom`, command);
  }
  const name = archArg(arch, command);
  return { name, preset: { ...REPVGG_VARIANTS[name] } };
}

/** The architecture the flags name, for a command that builds a network without a weights file
 *  (train, bench): --arch is required. */
export function modelConfig(args: ParsedArgs, command: string): { name: string; cfg: ArchPreset } {
  requireString(args, 'arch', command);
  const arch = archFromArgs(args, command)!;
  return { name: arch.name, cfg: { ...arch.preset! } };
}
