// The model flags shared by `repvgg train` and `repvgg bench`: an official architecture, or
// "custom" with --blocks, --widths (and --groups, --se). One place, so both commands build the same
// network from the same words.
import { REPVGG_VARIANTS, type RepVGGConfig } from '../models/repvgg.js';
import { UsageError, archArg, getBool, getInt, getString, requireString, type FlagSpec, type ParsedArgs } from './args.js';

export const MODEL_FLAGS: FlagSpec[] = [
  { name: 'arch', type: 'string', valueName: 'ARCH', description: `official architecture (${Object.keys(REPVGG_VARIANTS).join(', ')}), or "custom" with --blocks and --widths` },
  { name: 'blocks', type: 'string', valueName: 'a,b,c,d', description: 'custom: blocks in stages 1-4, e.g. 1,2,2,1' },
  { name: 'widths', type: 'string', valueName: 'a,b,c,d', description: 'custom: width multipliers of stages 1-4, e.g. 0.5,0.5,0.5,1' },
  { name: 'groups', type: 'int', min: 1, valueName: 'G', description: 'custom: groups on blocks 2, 4, 6, ... (as the gN variants; default 1)' },
  { name: 'se', type: 'boolean', description: 'custom: SE blocks (as D2se)' },
];

function listFlag(value: string, name: string, count: number, integer: boolean, command: string): number[] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))) {
    throw new UsageError(`--${name} expects ${count} comma-separated ${integer ? 'positive integers' : 'positive numbers'}, got "${value}"`, command);
  }
  return parts;
}

/** The architecture the flags name: its short name ('A0', or 'custom') and its configuration
 *  (without numClasses and inChannels, which the command decides). */
export function modelConfig(args: ParsedArgs, command: string): { name: string; cfg: RepVGGConfig } {
  const arch = requireString(args, 'arch', command);
  if (arch.toLowerCase() === 'custom') {
    const blocks = getString(args, 'blocks');
    const widths = getString(args, 'widths');
    if (!blocks || !widths) throw new UsageError('--arch custom needs --blocks and --widths', command);
    const groups = getInt(args, 'groups') ?? 1;
    const map: Record<number, number> = {};
    if (groups > 1) for (let l = 2; l <= 26; l += 2) map[l] = groups;
    return {
      name: 'custom',
      cfg: {
        numBlocks: listFlag(blocks, 'blocks', 4, true, command) as RepVGGConfig['numBlocks'],
        widthMultiplier: listFlag(widths, 'widths', 4, false, command) as RepVGGConfig['widthMultiplier'],
        overrideGroupsMap: map, useSE: getBool(args, 'se'),
      },
    };
  }
  for (const f of ['blocks', 'widths', 'groups', 'se']) {
    if (args.flags[f] !== undefined) throw new UsageError(`--${f} only applies to --arch custom`, command);
  }
  const name = archArg(arch, command);
  return { name, cfg: { ...REPVGG_VARIANTS[name] } };
}
