// Optimizers over a model's named parameters: SGD (momentum, Nesterov) and AdamW, each step one
// fused kernel per parameter. Weight decay follows the official RepVGG recipe: none on biases and
// BN parameters of the conv branches ('bias' or 'bn' in the name), so conv and linear weights and
// rbr_identity.weight are decayed.
import type { FileTensor } from '../io/types.js';
import type { Parameter } from '../nn/module.js';
import { adamwStep, sgdStep } from '../ops/index.js';
import { Tensor } from '../tensor.js';

export type OptimizerKind = 'sgd' | 'adamw';

export interface OptimizerConfig {
  kind: OptimizerKind;
  /** weight decay coefficient (L2 for SGD, decoupled for AdamW) */
  weightDecay: number;
  /** SGD: default 0.9 */
  momentum?: number;
  /** SGD: default true (the official recipe) */
  nesterov?: boolean;
  /** AdamW: default 0.9, 0.999 */
  beta1?: number;
  beta2?: number;
  /** AdamW: default 1e-8 */
  eps?: number;
  /** names that get no weight decay; default: the official rule */
  noDecay?: (name: string) => boolean;
}

/** The official rule: no decay where the name contains 'bias' or 'bn'. */
export function officialNoDecay(name: string): boolean {
  return name.includes('bias') || name.includes('bn');
}

interface SlotState {
  momentum?: Tensor;
  m?: Tensor;
  v?: Tensor;
}

export class Optimizer {
  /** Updates taken so far (AdamW's bias correction counts from here). */
  steps = 0;
  private readonly state = new Map<string, SlotState>();
  private readonly noDecay: (name: string) => boolean;

  constructor(private readonly params: [string, Parameter][], readonly cfg: OptimizerConfig) {
    if (cfg.kind !== 'sgd' && cfg.kind !== 'adamw') {
      throw new Error(`optimizer: unknown kind "${String(cfg.kind)}" (expected "sgd" or "adamw")`);
    }
    if (!(cfg.weightDecay >= 0) || !Number.isFinite(cfg.weightDecay)) {
      throw new RangeError(`optimizer: weightDecay must be a finite number >= 0, got ${cfg.weightDecay}`);
    }
    this.noDecay = cfg.noDecay ?? officialNoDecay;
  }

  /** Whether the parameter of this name is decayed. */
  decays(name: string): boolean {
    return !this.noDecay(name);
  }

  /** One update of every parameter that has a gradient, at learning rate `lr`. */
  step(lr: number): void {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new RangeError(`optimizer.step: lr must be a finite number >= 0, got ${lr}`);
    this.steps++;
    for (const [name, p] of this.params) {
      if (!p.grad) continue;
      const wd = this.decays(name) ? this.cfg.weightDecay : 0;
      const s = this.slot(name, p);
      if (this.cfg.kind === 'sgd') {
        sgdStep(p.value, p.grad, s.momentum!, {
          lr, momentum: this.cfg.momentum ?? 0.9, weightDecay: wd, nesterov: this.cfg.nesterov ?? true,
        });
      } else {
        adamwStep(p.value, p.grad, s.m!, s.v!, {
          lr, beta1: this.cfg.beta1 ?? 0.9, beta2: this.cfg.beta2 ?? 0.999, eps: this.cfg.eps ?? 1e-8,
          weightDecay: wd, step: this.steps,
        });
      }
    }
  }

  private slot(name: string, p: Parameter): SlotState {
    let s = this.state.get(name);
    if (!s) {
      const b = p.value.backend;
      s = this.cfg.kind === 'sgd'
        ? { momentum: Tensor.zeros(b, p.value.shape) }
        : { m: Tensor.zeros(b, p.value.shape), v: Tensor.zeros(b, p.value.shape) };
      this.state.set(name, s);
    }
    return s;
  }

  /** The optimizer state as named tensors (`<param>.momentum_buffer`, `<param>.exp_avg`,
   *  `<param>.exp_avg_sq`, PyTorch's names), for checkpoints. */
  stateDict(): Map<string, FileTensor> {
    const out = new Map<string, FileTensor>();
    for (const [name, s] of this.state) {
      const put = (key: string, t: Tensor | undefined) => {
        if (t) out.set(`${name}.${key}`, { dtype: 'float32', sourceDtype: 'float32', shape: [...t.shape], data: t.toFloat32Array() });
      };
      put('momentum_buffer', s.momentum);
      put('exp_avg', s.m);
      put('exp_avg_sq', s.v);
    }
    return out;
  }

  /** Restores what stateDict() wrote (and the step count, kept by the caller in metadata). */
  loadStateDict(dict: ReadonlyMap<string, FileTensor>, steps: number): void {
    this.steps = steps;
    for (const [name, p] of this.params) {
      const keys = this.cfg.kind === 'sgd' ? ['momentum_buffer'] : ['exp_avg', 'exp_avg_sq'];
      const present = keys.filter((k) => dict.has(`${name}.${k}`));
      if (present.length === 0) continue; // no step had reached this parameter yet
      if (present.length !== keys.length) throw new Error(`optimizer state for ${name} is incomplete: found only ${present.join(', ')}`);
      const s = this.slot(name, p);
      for (const key of keys) {
        const t = dict.get(`${name}.${key}`)!;
        if (t.dtype !== 'float32' || t.data.length !== p.value.size) {
          throw new Error(`optimizer state ${name}.${key} has shape [${t.shape.join(',')}] but the parameter is [${p.value.shape.join(',')}]`);
        }
        const target = key === 'momentum_buffer' ? s.momentum! : key === 'exp_avg' ? s.m! : s.v!;
        target.data.set(t.data);
      }
    }
  }

  dispose(): void {
    for (const s of this.state.values()) {
      s.momentum?.dispose();
      s.m?.dispose();
      s.v?.dispose();
    }
    this.state.clear();
  }
}

/** Learning rate at `step` (0-based) of `total`: linear warm-up over `warmup` steps from
 *  base / warmup, then cosine decay to 0 at the last step (the official recipe's cosine). */
export function cosineWithWarmup(base: number, step: number, total: number, warmup: number): number {
  if (warmup > 0 && step < warmup) return base * (step + 1) / warmup;
  const span = Math.max(1, total - warmup);
  const t = Math.min(1, (step - warmup) / span);
  return base * 0.5 * (1 + Math.cos(Math.PI * t));
}
