// A model summary computed arithmetically from the block plan (nothing is allocated, so
// summarizing RepVGG-B3 costs microseconds): per stage the output shape, blocks, groups,
// parameters and multiply-accumulates in both forms; in total the parameters, MACs, weight bytes
// and activation bytes. Plain numbers and arrays only, so JSON.stringify(summary) is the JSON form.
//
// Counting conventions (the same in every field):
// - params: trainable values, as PyTorch's sum(p.numel() for p in model.parameters()) and
//   RepVGG.parameterCount(). BN running statistics are not parameters: they are `buffers`.
// - MACs: multiply-accumulates of the convolutions and the linear layer, for `batch` images.
//   A conv contributes k * (c / groups) * kh * kw * oh * ow per image. Deploy form: the fused 3x3
//   convs. Training form: the 3x3 and the 1x1 convs of every block; BatchNorm (also the identity
//   branch, which is a BN alone), the branch additions and ReLU are elementwise and not counted.
//   SE (D2se): its two 1x1 convs run on the pooled [c] vector, 2 * c * (c / 16) per image, in both
//   forms; its pooling and channel scaling are elementwise and not counted. Global average pool:
//   not counted. Linear: c * classes per image.
// - bytes: float32, 4 bytes a value.
import { formatBytes, formatCount, formatSI } from '../format.js';
import { variantOf } from './metadata.js';
import type { RepVGGConfig } from './repvgg.js';
import { REPVGG_VARIANTS, RepVGG, planBlocks, stageWidths, type BlockPlan } from './repvgg.js';

/** The smallest input side: stage0..stage4 each halve the size (stride 2), 2^5 = 32. */
export const MIN_INPUT_SIZE = 32;

export interface SummaryOptions {
  /** [h, w] of the input images, each >= 32 */
  inputSize: readonly [number, number] | readonly number[];
  /** images per batch: MACs and activation bytes are for this many (default 1) */
  batch?: number;
}

/** A value in the training (multi-branch) form and in the deploy (fused) form. */
export interface PerForm {
  train: number;
  deploy: number;
}

export interface SummaryRow {
  /** 'stage0' .. 'stage4', then 'gap' and 'linear' */
  name: string;
  /** output of one image: [c, h, w] for the stages, [c] for gap, [classes] for linear */
  outShape: number[];
  /** RepVGG blocks in the stage (0 for gap and linear) */
  blocks: number;
  /** the distinct groups of its convolutions, ascending ([1] for B1, [1, 2] for B1g2's stages) */
  groups: number[];
  params: PerForm;
  /** multiply-accumulates for `batch` images (see the conventions at the top of the file) */
  macs: PerForm;
}

export interface ActivationBytes {
  /**
   * The block outputs (every block's post-ReLU output, which is the next block's input and is
   * kept until the backward reaches it) plus the pooled [c] vector: what RepVGG.forward keeps
   * between a training forward and its backward, in either form.
   */
  blockOutputs: number;
  /**
   * Everything a training step of this library holds at the end of the forward for the backward:
   * the block outputs above plus, per block, each BN's input (in the training form the 3x3 and the
   * 1x1 conv outputs; the identity BN's input is the block input, counted already) and, with SE,
   * the branch sum. With RepVGG.gradientCheckpointing on, a step keeps only `blockOutputs` (plus
   * one block's internals at a time in the backward). Per-channel vectors (BN batch statistics,
   * SE's pooled/hidden vectors) are left out, and so are the network input and the logits (the
   * caller's); so are gradients and optimizer state (a copy of the parameters each: grad, momentum).
   */
  trainSaved: PerForm;
  /**
   * The largest total of activation tensors alive at once during an eval-mode forward
   * (RepVGG.forward frees each block's input as soon as the block's output exists): the network
   * input (held by the caller throughout), the block's input and the block's intermediates at
   * their worst moment: training form, the 3x3 branch (already summed into) plus the 1x1 conv and
   * its BN output, 3 block outputs' worth; deploy form, the conv output and the ReLU (or SE)
   * output, 2 (the SE frees its input before the ReLU runs). Backend scratch memory (im2col
   * panels) and per-channel vectors are left out.
   */
  inferencePeak: PerForm;
}

export interface ModelSummary {
  /** 'RepVGG-A0' when the configuration is an official variant, else null */
  arch: string | null;
  numClasses: number;
  inChannels: number;
  useSE: boolean;
  /** [batch, inChannels, h, w] */
  inputShape: [number, number, number, number];
  batch: number;
  rows: SummaryRow[];
  totals: {
    /** trainable values; equals RepVGG.parameterCount() of each form */
    params: PerForm;
    /** float buffers: BN running_mean and running_var, 2 values per BN channel (none in the
     *  deploy form); PyTorch's int64 num_batches_tracked (one per BN) is not counted */
    buffers: PerForm;
    /** number of BatchNorm layers (each also has a num_batches_tracked in a state dict) */
    batchNorms: PerForm;
    /** multiply-accumulates for `batch` images */
    macs: PerForm;
    /** 4 * (params + buffers): the float32 weights the model holds (and a state dict stores) */
    weightBytes: PerForm;
    /** for `batch` images, see ActivationBytes */
    activationBytes: ActivationBytes;
  };
}

/** The official name ('RepVGG-B1g2') of a configuration, or null for a custom one. */
export function archNameOf(cfg: Pick<RepVGGConfig, 'numBlocks' | 'widthMultiplier' | 'overrideGroupsMap' | 'useSE'>): string | null {
  const variant = variantOf(cfg);
  return variant === 'custom' ? null : `RepVGG-${variant}`;
}

/** Throws unless [h, w] are integers >= 32, naming the size and why. */
export function checkInputSize(inputSize: readonly number[], where = 'summarize'): [number, number] {
  if (!Array.isArray(inputSize) || inputSize.length !== 2 || !inputSize.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${where}: inputSize must be [h, w] (two positive integers), got ${JSON.stringify(inputSize)}`);
  }
  const [h, w] = inputSize;
  if (h < MIN_INPUT_SIZE || w < MIN_INPUT_SIZE) {
    throw new Error(`${where}: input size ${h}x${w} is too small: RepVGG has five stride-2 stages (stage0..stage4), ` +
      `which divide the size by 32, so each side must be at least ${MIN_INPUT_SIZE}` +
      ' (below that the last stages only see zero padding around a 1x1 map)');
  }
  return [h, w];
}

const conv = (h: number, stride: number) => Math.floor((h + 2 - 3) / stride) + 1; // 3x3, pad 1 (= 1x1, pad 0)

/**
 * Summarizes a RepVGG configuration (or a built model: its configuration is used, whichever form
 * it is in) for images of `inputSize`. Both forms are always described.
 */
export function summarize(cfgOrModel: RepVGGConfig | RepVGG, opts: SummaryOptions): ModelSummary {
  const cfg: RepVGGConfig = cfgOrModel instanceof RepVGG ? cfgOrModel.config : cfgOrModel;
  const [h0, w0] = checkInputSize(opts?.inputSize as number[]);
  const batch = opts.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`summarize: batch must be a positive integer, got ${batch}`);
  const plan: BlockPlan[] = planBlocks(cfg);
  const numClasses = cfg.numClasses ?? 1000;
  const inChannels = cfg.inChannels ?? 3;
  const useSE = cfg.useSE ?? false;

  const rows: SummaryRow[] = [];
  const params: PerForm = { train: 0, deploy: 0 };
  const buffers: PerForm = { train: 0, deploy: 0 };
  const batchNorms: PerForm = { train: 0, deploy: 0 };
  const macs: PerForm = { train: 0, deploy: 0 };
  let blockOutputs = 0;
  const trainSaved: PerForm = { train: 0, deploy: 0 };
  const inputSize = inChannels * h0 * w0;
  const inferencePeak: PerForm = { train: inputSize, deploy: inputSize };

  let h = h0;
  let w = w0;
  for (let s = 0; s <= 4; s++) {
    const blocks = plan.filter((p) => (s === 0 ? p.name === 'stage0' : p.name.startsWith(`stage${s}.`)));
    const row: SummaryRow = {
      name: `stage${s}`, outShape: [], blocks: blocks.length,
      groups: [...new Set(blocks.map((b) => b.groups))].sort((a, b) => a - b),
      params: { train: 0, deploy: 0 }, macs: { train: 0, deploy: 0 },
    };
    for (const b of blocks) {
      const { inChannels: c, outChannels: k, stride, groups: g } = b;
      const inVol = c * h * w;
      h = conv(h, stride);
      w = conv(w, stride);
      const hw = h * w;
      const out = k * hw;
      const identity = c === k && stride === 1;
      const se = useSE ? Math.floor(k / 16) : 0;
      const seParams = useSE ? 2 * k * se + se + k : 0;
      const seMacs = useSE ? 2 * k * se : 0;
      const w3 = k * (c / g) * 9;
      const w1 = k * (c / g);
      row.params.deploy += w3 + k + seParams;
      row.params.train += w3 + 2 * k + w1 + 2 * k + (identity ? 2 * c : 0) + seParams;
      buffers.train += 2 * k + 2 * k + (identity ? 2 * c : 0);
      batchNorms.train += 2 + (identity ? 1 : 0);
      row.macs.deploy += (w3 * hw + seMacs) * batch;
      row.macs.train += ((w3 + w1) * hw + seMacs) * batch;
      blockOutputs += out;
      trainSaved.train += 3 * out + (useSE ? out : 0);
      trainSaved.deploy += out + (useSE ? out : 0);
      // Peak inside the block: the network input (held by the caller), this block's input (unless
      // it is the network input), then the intermediates described in ActivationBytes.
      const held = inputSize + (b.name === 'stage0' ? 0 : inVol);
      inferencePeak.train = Math.max(inferencePeak.train, held + 3 * out);
      inferencePeak.deploy = Math.max(inferencePeak.deploy, held + 2 * out);
    }
    row.outShape = [stageWidths(cfg.widthMultiplier)[s], h, w];
    rows.push(row);
  }
  const lastC = plan[plan.length - 1].outChannels;
  blockOutputs += lastC;
  trainSaved.train += lastC;
  trainSaved.deploy += lastC;
  rows.push({ name: 'gap', outShape: [lastC], blocks: 0, groups: [], params: { train: 0, deploy: 0 }, macs: { train: 0, deploy: 0 } });
  const linParams = lastC * numClasses + numClasses;
  rows.push({
    name: 'linear', outShape: [numClasses], blocks: 0, groups: [],
    params: { train: linParams, deploy: linParams },
    macs: { train: lastC * numClasses * batch, deploy: lastC * numClasses * batch },
  });
  for (const r of rows) {
    params.train += r.params.train;
    params.deploy += r.params.deploy;
    macs.train += r.macs.train;
    macs.deploy += r.macs.deploy;
  }
  const bytes = (n: number) => 4 * n * batch;
  return {
    arch: archNameOf(cfg),
    numClasses, inChannels, useSE,
    inputShape: [batch, inChannels, h0, w0],
    batch,
    rows,
    totals: {
      params, buffers, batchNorms, macs,
      weightBytes: { train: 4 * (params.train + buffers.train), deploy: 4 * (params.deploy + buffers.deploy) },
      activationBytes: {
        blockOutputs: bytes(blockOutputs),
        trainSaved: { train: bytes(trainSaved.train), deploy: bytes(trainSaved.deploy) },
        inferencePeak: { train: bytes(inferencePeak.train), deploy: bytes(inferencePeak.deploy) },
      },
    },
  };
}




/** A readable table of a summary (what `repvgg info` prints). */
export function formatSummary(s: ModelSummary): string {
  const head = ['layer', 'output', 'blocks', 'groups', 'params train', 'params deploy', 'MACs train', 'MACs deploy'];
  const body = s.rows.map((r) => [
    r.name, r.outShape.join('x'), r.blocks ? String(r.blocks) : '', r.groups.join(','),
    formatCount(r.params.train), formatCount(r.params.deploy), formatSI(r.macs.train), formatSI(r.macs.deploy),
  ]);
  const t = s.totals;
  body.push(['total', '', String(s.rows.reduce((a, r) => a + r.blocks, 0)), '',
    formatCount(t.params.train), formatCount(t.params.deploy), formatSI(t.macs.train), formatSI(t.macs.deploy)]);
  const widths = head.map((_, i) => Math.max(head[i].length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const a = t.activationBytes;
  const name = s.arch ?? 'RepVGG (custom)';
  const [n, c, h, w] = s.inputShape;
  return [
    `${name}${s.useSE ? ' (SE)' : ''}, ${s.numClasses} classes, input ${n}x${c}x${h}x${w} (NCHW)`,
    '',
    line(head), rule, ...body.slice(0, -1).map(line), rule, line(body[body.length - 1]),
    '',
    `params     training form ${formatCount(t.params.train)} (+ ${formatCount(t.buffers.train)} BN running statistics), ` +
      `deploy form ${formatCount(t.params.deploy)}`,
    `MACs       training form ${formatSI(t.macs.train)} (3x3 + 1x1 convs; BN and identity not counted), ` +
      `deploy form ${formatSI(t.macs.deploy)}${n > 1 ? ` (for ${n} images)` : ''}`,
    `weights    training form ${formatBytes(t.weightBytes.train)}, deploy form ${formatBytes(t.weightBytes.deploy)} (float32)`,
    `activations${n > 1 ? ` (for ${n} images)` : ''}: block outputs ${formatBytes(a.blockOutputs)}; ` +
      `kept by a training step ${formatBytes(a.trainSaved.train)} (training form) / ${formatBytes(a.trainSaved.deploy)} (deploy form); ` +
      `inference peak ${formatBytes(a.inferencePeak.train)} / ${formatBytes(a.inferencePeak.deploy)}`,
  ].join('\n');
}
