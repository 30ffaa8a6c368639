// The RepVGG network and its official variants (GUIDE.md section 1): stage0 (one block, stride 2,
// from 3 channels), stages 1-4 (first block stride 2), global average pool, linear classifier.
// Names as the official code: stage0, stage1.0, ..., gap, linear.
import type { Backend, ConvAlgorithm } from '../backend.js';
import { Conv2d, GlobalAvgPoolFlatten, Linear } from '../nn/layers.js';
import { Sequential } from '../nn/sequential.js';
import { mulberry32 } from '../random.js';
import type { Tensor } from '../tensor.js';
import { RepVGGBlock } from './block.js';

export interface RepVGGConfig {
  /** blocks in stages 1..4 */
  numBlocks: [number, number, number, number];
  /** width multipliers a, a, a, b */
  widthMultiplier: [number, number, number, number];
  /** block index (1-based, stage1's first block is 1) -> groups; others use 1 */
  overrideGroupsMap?: Record<number, number>;
  useSE?: boolean;
  numClasses?: number;
  /** input channels (3 for images; 1 works for digits) */
  inChannels?: number;
  deploy?: boolean;
  /** seed of the weight initialisation */
  seed?: number;
  /** how every convolution is computed: 'auto' (default: Winograd where the rule measured on this
   *  project's machine says it pays, else direct) or forced ('direct' is the plain GEMM path) */
  convAlgorithm?: 'auto' | ConvAlgorithm;
  /** false: skip the random initialisation (weights start at zero, BN at its defaults), for a
   *  model whose weights are loaded or copied next; default true. Not kept in `config`. */
  init?: boolean;
}

const OPTIONAL_GROUPWISE = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26];
const g2Map = Object.fromEntries(OPTIONAL_GROUPWISE.map((l) => [l, 2]));
const g4Map = Object.fromEntries(OPTIONAL_GROUPWISE.map((l) => [l, 4]));

type Preset = Pick<RepVGGConfig, 'numBlocks' | 'widthMultiplier' | 'overrideGroupsMap' | 'useSE'>;

/** The official variants, by their short names. */
export const REPVGG_VARIANTS: Readonly<Record<string, Preset>> = {
  A0: { numBlocks: [2, 4, 14, 1], widthMultiplier: [0.75, 0.75, 0.75, 2.5] },
  A1: { numBlocks: [2, 4, 14, 1], widthMultiplier: [1, 1, 1, 2.5] },
  A2: { numBlocks: [2, 4, 14, 1], widthMultiplier: [1.5, 1.5, 1.5, 2.75] },
  B0: { numBlocks: [4, 6, 16, 1], widthMultiplier: [1, 1, 1, 2.5] },
  B1: { numBlocks: [4, 6, 16, 1], widthMultiplier: [2, 2, 2, 4] },
  B1g2: { numBlocks: [4, 6, 16, 1], widthMultiplier: [2, 2, 2, 4], overrideGroupsMap: g2Map },
  B1g4: { numBlocks: [4, 6, 16, 1], widthMultiplier: [2, 2, 2, 4], overrideGroupsMap: g4Map },
  B2: { numBlocks: [4, 6, 16, 1], widthMultiplier: [2.5, 2.5, 2.5, 5] },
  B2g2: { numBlocks: [4, 6, 16, 1], widthMultiplier: [2.5, 2.5, 2.5, 5], overrideGroupsMap: g2Map },
  B2g4: { numBlocks: [4, 6, 16, 1], widthMultiplier: [2.5, 2.5, 2.5, 5], overrideGroupsMap: g4Map },
  B3: { numBlocks: [4, 6, 16, 1], widthMultiplier: [3, 3, 3, 5] },
  B3g2: { numBlocks: [4, 6, 16, 1], widthMultiplier: [3, 3, 3, 5], overrideGroupsMap: g2Map },
  B3g4: { numBlocks: [4, 6, 16, 1], widthMultiplier: [3, 3, 3, 5], overrideGroupsMap: g4Map },
  D2se: { numBlocks: [8, 14, 24, 1], widthMultiplier: [2.5, 2.5, 2.5, 5], useSE: true },
};

/** Accepts "RepVGG-A0", "repvgg_a0", "a0", "B1g2", ...; returns the canonical short name. */
export function resolveArch(name: string): string {
  const key = String(name).trim().replace(/^repvgg[-_ ]?/i, '').toLowerCase();
  const found = Object.keys(REPVGG_VARIANTS).find((k) => k.toLowerCase() === key);
  if (!found) {
    throw new Error(`unknown RepVGG architecture "${name}": expected one of ${Object.keys(REPVGG_VARIANTS).join(', ')} ` +
      '(optionally prefixed "RepVGG-")');
  }
  return found;
}

/** Stage widths: stage0 = min(64, 64a), then int(64a), int(128a), int(256a), int(512b). */
export function stageWidths(wm: readonly number[]): number[] {
  return [Math.min(64, Math.trunc(64 * wm[0])), Math.trunc(64 * wm[0]), Math.trunc(128 * wm[1]),
    Math.trunc(256 * wm[2]), Math.trunc(512 * wm[3])];
}

export interface BlockPlan {
  /** official dotted name: stage0, stage1.0, ... */
  name: string;
  /** 0 for stage0, 1-4 for the stages */
  stage: number;
  inChannels: number;
  outChannels: number;
  stride: number;
  groups: number;
}

/** Every block of the network, in order, with its name, channels, stride and groups. */
export function planBlocks(cfg: RepVGGConfig): BlockPlan[] {
  checkConfig(cfg);
  const widths = stageWidths(cfg.widthMultiplier);
  const groupsOf = (idx: number) => cfg.overrideGroupsMap?.[idx] ?? 1;
  const plan: BlockPlan[] = [{ name: 'stage0', stage: 0, inChannels: cfg.inChannels ?? 3, outChannels: widths[0], stride: 2, groups: 1 }];
  let inPlanes = widths[0];
  let idx = 1;
  for (let s = 0; s < 4; s++) {
    for (let b = 0; b < cfg.numBlocks[s]; b++) {
      plan.push({ name: `stage${s + 1}.${b}`, stage: s + 1, inChannels: inPlanes, outChannels: widths[s + 1], stride: b === 0 ? 2 : 1, groups: groupsOf(idx) });
      inPlanes = widths[s + 1];
      idx++;
    }
  }
  return plan;
}

function checkConfig(cfg: RepVGGConfig): void {
  if (!Array.isArray(cfg.numBlocks) || cfg.numBlocks.length !== 4 || !cfg.numBlocks.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new Error(`RepVGG: numBlocks must be 4 integers >= 1 (stages 1-4), got ${JSON.stringify(cfg.numBlocks)}`);
  }
  if (!Array.isArray(cfg.widthMultiplier) || cfg.widthMultiplier.length !== 4 ||
    !cfg.widthMultiplier.every((w) => typeof w === 'number' && w > 0 && Number.isFinite(w))) {
    throw new Error(`RepVGG: widthMultiplier must be 4 positive numbers, got ${JSON.stringify(cfg.widthMultiplier)}`);
  }
  const widths = stageWidths(cfg.widthMultiplier);
  if (widths.some((w) => w < 1)) throw new Error(`RepVGG: width multipliers ${JSON.stringify(cfg.widthMultiplier)} give a stage with 0 channels`);
  const narrow = widths.findIndex((w) => w < 16);
  if (cfg.useSE && narrow >= 0) {
    throw new Error(`RepVGG: useSE needs at least 16 channels in every stage (the SE block reduces them by 16), but ` +
      `width multipliers ${JSON.stringify(cfg.widthMultiplier)} give stage${narrow} ${widths[narrow]} channels`);
  }
  const classes = cfg.numClasses ?? 1000;
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`RepVGG: numClasses must be a positive integer, got ${classes}`);
  const inC = cfg.inChannels ?? 3;
  if (!Number.isInteger(inC) || inC < 1) throw new Error(`RepVGG: inChannels must be a positive integer, got ${inC}`);
}

/**
 * The network: a Sequential of stage0 (a block), stage1..stage4 (Sequentials of blocks), gap and
 * linear, so the dotted names are exactly the official ones and activations are kept the one way
 * Sequential keeps them. By default the backward does not compute the gradient of the input image
 * (set `inputGrad = true` for it).
 */
export class RepVGG extends Sequential {
  readonly config: Required<Omit<RepVGGConfig, 'overrideGroupsMap' | 'init'>> & { overrideGroupsMap: Record<number, number> };
  readonly blocks: RepVGGBlock[] = [];
  /** The official dotted name of each block (stage0, stage1.0, ...), in order. */
  readonly blockNames: string[] = [];
  readonly gap: GlobalAvgPoolFlatten;
  readonly linear: Linear;

  constructor(backend: Backend, cfg: RepVGGConfig) {
    super(backend);
    const plan = planBlocks(cfg);
    this.config = {
      numBlocks: cfg.numBlocks, widthMultiplier: cfg.widthMultiplier, overrideGroupsMap: cfg.overrideGroupsMap ?? {},
      useSE: cfg.useSE ?? false, numClasses: cfg.numClasses ?? 1000, inChannels: cfg.inChannels ?? 3,
      deploy: cfg.deploy ?? false, seed: cfg.seed ?? 0, convAlgorithm: cfg.convAlgorithm ?? 'auto',
    };
    const rng = cfg.init === false ? null : mulberry32(this.config.seed);
    // Blocks are made in plan order (the order the weights are drawn in), then grouped by stage.
    for (const p of plan) {
      this.blocks.push(new RepVGGBlock(backend, { ...p, useSE: this.config.useSE, deploy: this.config.deploy }, rng));
      this.blockNames.push(p.name);
    }
    this.append(this.blocks[0], 'stage0');
    for (let s = 1; s <= 4; s++) {
      const stage = new Sequential(backend);
      plan.forEach((p, i) => { if (p.stage === s) stage.append(this.blocks[i]); });
      this.append(stage, `stage${s}`);
    }
    this.gap = new GlobalAvgPoolFlatten(backend);
    this.append(this.gap, 'gap');
    this.linear = new Linear(backend, plan[plan.length - 1].outChannels, this.config.numClasses, rng);
    this.append(this.linear, 'linear');
    this.inputGrad = false;
    this.convAlgorithm = this.config.convAlgorithm;
  }

  /** The algorithm of every Conv2d in the network (see RepVGGConfig.convAlgorithm). */
  get convAlgorithm(): 'auto' | ConvAlgorithm { return this.config.convAlgorithm; }
  set convAlgorithm(a: 'auto' | ConvAlgorithm) {
    if (!['auto', 'direct', 'winograd2', 'winograd4'].includes(a)) {
      throw new TypeError(`RepVGG: convAlgorithm must be 'auto', 'direct', 'winograd2' or 'winograd4', got ${JSON.stringify(a)}`);
    }
    (this.config as { convAlgorithm: 'auto' | ConvAlgorithm }).convAlgorithm = a;
    for (const [, m] of this.namedModules()) if (m instanceof Conv2d) m.algorithm = a;
  }

  /** x [n, inChannels, h, w] (h, w >= 32 keeps every stage non-empty) -> logits [n, classes]. */
  override forward(x: Tensor): Tensor {
    if (x.shape.length !== 4 || x.shape[1] !== this.config.inChannels) {
      throw new Error(`RepVGG.forward: expected x [n, ${this.config.inChannels}, h, w], got [${x.shape.join(',')}]`);
    }
    return super.forward(x);
  }

  /**
   * Gradient checkpointing (the official use_checkpoint): a training forward keeps only each
   * block's output; the block's internals are recomputed in the backward.
   */
  get gradientCheckpointing(): boolean { return this.checkpoint; }
  set gradientCheckpointing(on: boolean) { this.checkpoint = on; }

  get deploy(): boolean {
    return this.blocks.every((b) => b.deploy);
  }

  /** Converts every block to its deploy form, in place (the official switch_to_deploy on each). */
  switchToDeploy(): this {
    for (const b of this.blocks) b.switchToDeploy();
    this.convAlgorithm = this.config.convAlgorithm;
    return this;
  }
}

export interface CreateOptions {
  numClasses?: number;
  inChannels?: number;
  deploy?: boolean;
  seed?: number;
  /** false: no random initialisation (see RepVGGConfig.init) */
  init?: boolean;
}

/** Builds an official variant by name ("A0", "RepVGG-B1g2", ...). */
export function createRepVGG(backend: Backend, arch: string, opts: CreateOptions = {}): RepVGG {
  const preset = REPVGG_VARIANTS[resolveArch(arch)];
  return new RepVGG(backend, { ...preset, ...opts });
}

/**
 * The deploy form of a trained model (the official repvgg_model_convert): a new model unless
 * `inPlace`, so the training model stays usable. Weights are copied, BN statistics folded.
 */
export function repvggModelConvert(model: RepVGG, opts: { inPlace?: boolean } = {}): RepVGG {
  if (opts.inPlace) return model.switchToDeploy();
  const copy = new RepVGG(model.backend, { ...model.config, deploy: true, init: false });
  model.blocks.forEach((b, i) => {
    const { kernel, bias } = b.getEquivalentKernelBias();
    const dst = copy.blocks[i];
    dst.rbrReparam!.weight.value.data.set(kernel);
    dst.rbrReparam!.bias!.value.data.set(bias);
    if (b.se && dst.se) {
      for (const [src, to] of [[b.se.down, dst.se.down], [b.se.up, dst.se.up]]) {
        to.weight.value.data.set(src.weight.value.data);
        to.bias!.value.data.set(src.bias!.value.data);
      }
    }
  });
  copy.linear.weight.value.data.set(model.linear.weight.value.data);
  copy.linear.bias.value.data.set(model.linear.bias.value.data);
  copy.train(model.training);
  copy.inputGrad = model.inputGrad;
  return copy;
}

