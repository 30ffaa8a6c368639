// The network a state dict was saved from, read off its keys and shapes: blocks per stage (the
// stageN.i names), widths (each stage's output channels), groups (a 3x3 weight holds in/groups
// input channels), SE, input channels and classes. A file then loads without the user naming its
// architecture: a custom network trained in a browser page, or an official variant.
import type { FileTensor } from '../io/types.js';
import { variantOf } from './metadata.js';
import { REPVGG_VARIANTS, planBlocks, stageWidths, type RepVGGConfig } from './repvgg.js';
import { detectForm } from './state-dict.js';

export interface ConfigFromWeights {
  config: RepVGGConfig & { numClasses: number; inChannels: number; deploy: boolean };
  /** the official variant with exactly these shapes (e.g. 'A0'), or null for a custom network */
  variant: string | null;
}

/** Base channels of stages 1-4 (times the width multipliers). */
const BASE = [64, 128, 256, 512];

/** The 3x3 weight of a block in either form. */
function kernelOf(tensors: ReadonlyMap<string, FileTensor>, block: string): FileTensor | undefined {
  return tensors.get(`${block}.rbr_dense.conv.weight`) ?? tensors.get(`${block}.rbr_reparam.weight`);
}

/**
 * The RepVGG configuration a state dict (either form, wrapper prefixes already stripped) fits.
 * Throws, saying what is missing or inconsistent, when the keys are not a RepVGG's.
 */
export function configFromWeights(tensors: ReadonlyMap<string, FileTensor>): ConfigFromWeights {
  const form = detectForm(tensors.keys());
  if (form === null) {
    throw new Error('configFromWeights: no RepVGG blocks in this state dict (no rbr_dense, rbr_1x1 or rbr_reparam keys), ' +
      'or a mix of training- and deploy-form blocks');
  }
  const shape4 = (name: string): number[] => {
    const w = kernelOf(tensors, name);
    if (!w || w.shape.length !== 4 || w.shape[2] !== 3 || w.shape[3] !== 3) {
      throw new Error(`configFromWeights: ${name} has no 3x3 convolution weight [out, in/groups, 3, 3]`);
    }
    return w.shape;
  };
  const numBlocks = [1, 2, 3, 4].map((s) => {
    let n = 0;
    while (kernelOf(tensors, `stage${s}.${n}`)) n++;
    if (n === 0) throw new Error(`configFromWeights: stage${s} has no blocks (no stage${s}.0.* keys)`);
    return n;
  }) as RepVGGConfig['numBlocks'];
  const [stem, inChannels] = shape4('stage0');
  const outs = [1, 2, 3, 4].map((s) => shape4(`stage${s}.0`)[0]);
  // int(base * (out / base)) = out exactly: base is a power of two.
  const widthMultiplier = outs.map((c, i) => c / BASE[i]) as RepVGGConfig['widthMultiplier'];
  if (stageWidths(widthMultiplier)[0] !== stem) {
    throw new Error(`configFromWeights: stage0 has ${stem} output channels, but a RepVGG whose stage1 has ${outs[0]} ` +
      `has min(64, ${outs[0]}) = ${Math.min(64, outs[0])}`);
  }
  const linear = tensors.get('linear.weight');
  if (!linear || linear.shape.length !== 2) throw new Error('configFromWeights: no 2-d linear.weight to take the classes from');
  const numClasses = linear.shape[0];
  const useSE = tensors.has('stage0.se.down.weight');
  const overrideGroupsMap: Record<number, number> = {};
  const base: RepVGGConfig = { numBlocks, widthMultiplier, useSE, inChannels, numClasses };
  // Groups: block i (1-based over stages 1-4) reads in/groups channels per output.
  for (const [i, b] of planBlocks(base).entries()) {
    if (i === 0) continue;
    const perGroup = shape4(b.name)[1];
    const groups = b.inChannels / perGroup;
    if (!Number.isInteger(groups)) {
      throw new Error(`configFromWeights: ${b.name} reads ${perGroup} channels per group of its ${b.inChannels} inputs`);
    }
    if (groups !== 1) overrideGroupsMap[i] = groups;
  }
  const config = { ...base, overrideGroupsMap, numClasses, inChannels, deploy: form === 'deploy' };
  // Every block's shape must now match the plan (a stage whose blocks change width is not a RepVGG).
  for (const b of planBlocks(config)) {
    const [o, i] = shape4(b.name);
    if (o !== b.outChannels || i !== b.inChannels / b.groups) {
      throw new Error(`configFromWeights: ${b.name} is [${o}, ${i}, 3, 3]; a RepVGG with these stages has ` +
        `[${b.outChannels}, ${b.inChannels / b.groups}, 3, 3] there`);
    }
  }
  const variant = variantOf(config);
  return { config, variant: variant === 'custom' ? null : variant };
}
