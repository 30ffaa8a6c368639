// A planned inference model: the deploy form of a RepVGG, set up once for a batch size and an
// input size, then run many times (XNNPACK's create / reshape / run).
// - create: every block's fused 3x3 kernel is packed once (and Winograd-transformed where the
//   layer's algorithm says so), with its bias; a training-form model is fused on the way
//   (getEquivalentKernelBias), so the model itself is not changed.
// - reshape: every layer's shape and algorithm are worked out, and the activation arena is sized:
//   a plain VGG-style stack needs only two activation buffers at a time (each conv reads one and
//   writes the other), which is the memory claim of re-parameterization made concrete.
// - run: conv + bias + ReLU in one pass over each output, ping-ponging between the two buffers,
//   then global average pooling and the classifier.
import { outSize, type Backend, type ConvAlgorithm, type Conv2dShape } from '../backend.js';
import {
  channelScale, conv2d, conv2dAlgorithm, conv2dPackWeight, conv2dSupports, globalAvgPool, linear, relu, sigmoid,
  type PackedConv2dWeight,
} from '../ops/index.js';
import { Tensor, formatShape } from '../tensor.js';
import type { RepVGGBlock } from './block.js';
import type { RepVGG } from './repvgg.js';

export interface PlanOptions {
  /** the largest batch run() will be given */
  batch: number;
  /** [h, w] of the input images */
  inputSize: [number, number];
  /** the convolution algorithm of every 3x3 stride-1 layer: 'auto' (default) follows the rule
   *  measured on this project's machine (conv2dAlgorithm); any other value forces it where
   *  it applies (Winograd only applies to 3x3 stride 1; the other layers stay direct). */
  convAlgorithm?: 'auto' | ConvAlgorithm;
}

/** One fused block of the plan. */
export interface PlannedLayer {
  name: string;
  /** output [batch, k, oh, ow] at the planned batch */
  outShape: [number, number, number, number];
  algorithm: ConvAlgorithm;
  groups: number;
  stride: number;
}

interface Layer {
  block: RepVGGBlock;
  plan: PlannedLayer;
  weight: PackedConv2dWeight;
  bias: Tensor;
}

export class InferencePlan {
  readonly layers: PlannedLayer[];
  /** Bytes of the two activation buffers (float32). */
  readonly activationBytes: number;
  /** Bytes of the packed weights and biases. */
  readonly weightBytes: number;
  private readonly planned: Layer[];
  private readonly arena: [Tensor, Tensor];
  private disposed = false;

  private constructor(readonly model: RepVGG, readonly options: Required<PlanOptions>, planned: Layer[], arena: [Tensor, Tensor]) {
    this.planned = planned;
    this.layers = planned.map((l) => l.plan);
    this.arena = arena;
    this.activationBytes = 4 * (arena[0].size + arena[1].size);
    this.weightBytes = planned.reduce((s, l) => s + 4 * (l.weight.packed.size + l.bias.size), 0);
  }

  get backend(): Backend { return this.model.backend; }

  /** Plans `model` (deploy or training form; it is read, not changed) for batches of up to
   *  `opts.batch` images of `opts.inputSize`. Later changes to the model's weights are not seen:
   *  plan again after loading new weights. */
  static create(model: RepVGG, opts: PlanOptions): InferencePlan {
    const batch = opts.batch;
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`InferencePlan: batch must be a positive integer, got ${batch}`);
    const [h0, w0] = opts.inputSize ?? [];
    if (!Number.isInteger(h0) || !Number.isInteger(w0) || h0 < 1 || w0 < 1) {
      throw new RangeError(`InferencePlan: inputSize must be [h, w] of positive integers, got ${JSON.stringify(opts.inputSize)}`);
    }
    const choice = opts.convAlgorithm ?? 'auto';
    if (!['auto', 'direct', 'winograd2', 'winograd4'].includes(choice)) {
      throw new TypeError(`InferencePlan: convAlgorithm must be 'auto', 'direct', 'winograd2' or 'winograd4', got ${JSON.stringify(choice)}`);
    }
    const b = model.backend;
    const planned: Layer[] = [];
    let [c, h, w] = [model.config.inChannels, h0, w0];
    let largest = 0;
    try {
      for (const [i, block] of model.blocks.entries()) {
        const { inChannels, outChannels: k, stride, groups } = block.cfg;
        if (inChannels !== c) throw new Error(`InferencePlan: block ${i} takes ${inChannels} channels, the previous gives ${c}`);
        const oh = outSize(h, 3, stride, 1);
        const ow = outSize(w, 3, stride, 1);
        if (oh < 1 || ow < 1) throw new Error(`InferencePlan: input ${h0}x${w0} is too small: block ${i} would output ${oh}x${ow}`);
        const s: Conv2dShape = { n: batch, c, h, w, k, kh: 3, kw: 3, sh: stride, sw: stride, ph: 1, pw: 1, groups, oh, ow };
        const algorithm = choice === 'auto' ? conv2dAlgorithm(s) : (conv2dSupports(s, choice) ? choice : 'direct');
        const { kernel, bias } = block.getEquivalentKernelBias();
        const wt = Tensor.from(b, kernel, [k, c / groups, 3, 3]);
        let weight: PackedConv2dWeight;
        try {
          weight = conv2dPackWeight(wt, { stride, padding: 1, groups }, algorithm);
        } finally {
          wt.dispose();
        }
        planned.push({
          block, weight, bias: Tensor.from(b, bias, [k]),
          plan: { name: model.blockNames[i], outShape: [batch, k, oh, ow], algorithm, groups, stride },
        });
        largest = Math.max(largest, k * oh * ow);
        [c, h, w] = [k, oh, ow];
      }
      const arena: [Tensor, Tensor] = [Tensor.zeros(b, [batch * largest]), Tensor.zeros(b, [batch * largest])];
      return new InferencePlan(model, { batch, inputSize: [h0, w0], convAlgorithm: choice }, planned, arena);
    } catch (e) {
      for (const l of planned) { l.weight.dispose(); l.bias.dispose(); }
      throw e;
    }
  }

  /** x [n, inChannels, h, w] with n <= the planned batch and the planned size -> logits [n, classes]. */
  run(x: Tensor): Tensor {
    if (this.disposed) throw new Error('InferencePlan.run: the plan was disposed');
    const [h0, w0] = this.options.inputSize;
    const [n, c0, h, w] = x.shape;
    if (x.shape.length !== 4 || c0 !== this.model.config.inChannels || h !== h0 || w !== w0 || !(n >= 1 && n <= this.options.batch)) {
      throw new Error(`InferencePlan.run: expected x [n <= ${this.options.batch}, ${this.model.config.inChannels}, ${h0}, ${w0}], ` +
        `got ${formatShape(x.shape)}`);
    }
    const b = this.backend;
    let src = x.buf;
    let [c, hh, ww] = [c0, h, w];
    this.planned.forEach((l, i) => {
      const [, k, oh, ow] = l.plan.outShape;
      const dst = this.arena[i % 2];
      const s: Conv2dShape = { n, c, h: hh, w: ww, k, kh: 3, kw: 3, sh: l.plan.stride, sw: l.plan.stride, ph: 1, pw: 1,
        groups: l.plan.groups, oh, ow };
      const se = l.block.se;
      b.conv2dPacked(s, l.plan.algorithm, src, l.weight.packed.buf, l.bias.buf, dst.buf, se === null);
      if (se) this.squeezeExcite(dst, [n, k, oh, ow], se);
      src = dst.buf;
      [c, hh, ww] = [k, oh, ow];
    });
    // The head, with the same kernels as the model's own: the pooling reads the last activation
    // where it lies in the arena (its first n images), straight into the [n, c] the linear takes.
    const last = this.arena[(this.planned.length - 1) % 2];
    const flat = Tensor.empty(b, [n, c]);
    try {
      b.globalAvgPool(n, c, hh * ww, last.buf, flat.buf);
      return linear(flat, this.model.linear.weight.value, this.model.linear.bias.value);
    } finally {
      flat.dispose();
    }
  }

  /** The SE block on an activation in the arena, in place: y = relu(x * sigmoid(up(relu(down(gap(x)))))). */
  private squeezeExcite(act: Tensor, shape: [number, number, number, number], se: NonNullable<RepVGGBlock['se']>): void {
    const b = this.backend;
    const [n, k, oh, ow] = shape;
    const x = Tensor.zeros(b, shape);
    try {
      b.view(x.buf).set(b.view(act.buf).subarray(0, n * k * oh * ow));
      const pooled = globalAvgPool(x);
      const hdn = conv2d(pooled, se.down.weight.value, se.down.bias!.value);
      pooled.dispose();
      const hr = relu(hdn);
      hdn.dispose();
      const u = conv2d(hr, se.up.weight.value, se.up.bias!.value);
      hr.dispose();
      const s = sigmoid(u);
      u.dispose();
      const y = channelScale(x, s);
      s.dispose();
      const r = relu(y);
      y.dispose();
      b.view(act.buf).set(b.view(r.buf));
      r.dispose();
    } finally {
      x.dispose();
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const l of this.planned) { l.weight.dispose(); l.bias.dispose(); }
    for (const t of this.arena) t.dispose();
  }
}
