// Modules in the manner of PyTorch's nn.Module: named parameters and buffers (so a state dict maps
// one to one), train() / eval(), and a forward with its backward beside it.
//
// Ownership, the one rule every module follows:
// - forward(x) never disposes x; it returns a new tensor the caller owns. In training mode it may
//   keep references to x and to its output for the backward, so the caller keeps both alive until
//   backward() has returned. In eval mode it keeps nothing.
// - backward(dy) never disposes dy; it adds parameter gradients into `param.grad`, and returns
//   d loss / d x (owned by the caller), or null when `inputGrad` is off.
// What a forward keeps for its backward is held by this base class (save / withSaved), released
// after the backward or by releaseSaved(): a layer's own code holds only its maths.
import type { Backend } from '../backend.js';
import { addInPlace } from '../ops/index.js';
import { formatShape, type Tensor } from '../tensor.js';

export class Parameter {
  /** Sum of the gradients of every backward since the last zeroGrad(); null before the first. */
  grad: Tensor | null = null;
  constructor(public value: Tensor) {}

  /** Adds g into grad and takes ownership of g. */
  accumulate(g: Tensor): void {
    if (g.shape.length !== this.value.shape.length || g.shape.some((d, i) => d !== this.value.shape[i])) {
      throw new Error(`gradient ${formatShape(g.shape)} does not match parameter ${formatShape(this.value.shape)}`);
    }
    if (this.grad === null) {
      this.grad = g;
    } else {
      addInPlace(this.grad, g);
      g.dispose();
    }
  }

  zeroGrad(): void {
    this.grad?.dispose();
    this.grad = null;
  }

  dispose(): void {
    this.zeroGrad();
    this.value.dispose();
  }
}

export abstract class Module {
  training = true;
  private readonly childList: [string, Module][] = [];
  private readonly paramList: [string, Parameter][] = [];
  private readonly bufferList: [string, () => Tensor][] = [];
  /** What the last training forward kept for the backward; `owned` tensors are disposed on release. */
  private saved: { value: unknown; owned: Tensor[] } | null = null;
  private wantsInputGrad = true;

  constructor(readonly backend: Backend) {}

  abstract forward(x: Tensor): Tensor;
  abstract backward(dy: Tensor): Tensor | null;

  /**
   * Whether backward() computes d loss / d input. Off for the first layer of a network: the image
   * needs no gradient, and skipping it saves a whole convolution pass. Containers pass it on to the
   * children that see their input.
   */
  get inputGrad(): boolean { return this.wantsInputGrad; }
  set inputGrad(on: boolean) {
    this.wantsInputGrad = on;
    this.propagateInputGrad(on);
  }
  /** Containers override this to set `inputGrad` on the children that receive their input. */
  protected propagateInputGrad(_on: boolean): void {}

  /** Keeps `value` for the backward (training mode only). `owned` tensors belong to this module
   *  from now on and are disposed when the saved state is released; anything else in `value` (the
   *  input, say) stays the caller's. In eval mode the owned tensors are disposed at once. */
  protected save(value: unknown, owned: Tensor[] = []): void {
    this.releaseOwnSaved();
    if (this.training) this.saved = { value, owned };
    else for (const t of owned) t.dispose();
  }

  /** Runs the backward's maths on what the forward saved, then releases it. */
  protected withSaved<T, R>(body: (saved: T) => R): R {
    if (this.saved === null) {
      throw new Error(`${this.constructor.name}.backward: nothing saved (call forward in training mode first)`);
    }
    try {
      return body(this.saved.value as T);
    } finally {
      this.releaseOwnSaved();
    }
  }

  private releaseOwnSaved(): void {
    if (this.saved === null) return;
    for (const t of this.saved.owned) t.dispose();
    this.saved = null;
  }

  /** Releases everything the last training forward kept, here and below, without a backward (an
   *  evaluation run in training mode, an aborted step, gradient checkpointing). */
  releaseSaved(): void {
    this.releaseOwnSaved();
    for (const [, m] of this.childList) m.releaseSaved();
  }

  /**
   * Forward again for a backward under gradient checkpointing: the same batch gives the same batch
   * statistics, so the outputs are identical; state a forward changes (BN's running statistics)
   * is put back as it was, so it is updated once per step, as without checkpointing.
   */
  recomputeForward(x: Tensor): Tensor {
    const restore = this.namedModules().map(([, m]) => m.captureState()).filter((r) => r !== null);
    const y = this.forward(x);
    for (const r of restore) r!();
    return y;
  }

  /** A function that puts back the state a training forward changes, or null (most modules). */
  protected captureState(): (() => void) | null { return null; }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.childList.push([name, m]);
    return m;
  }

  protected addParameter(name: string, t: Tensor): Parameter {
    const p = new Parameter(t);
    this.paramList.push([name, p]);
    return p;
  }

  /** Replaces the registered children (a block switching to its deploy form). */
  protected setModules(entries: [string, Module][]): void {
    this.childList.length = 0;
    this.childList.push(...entries);
  }

  /** Registers a buffer through a getter, so replacing the tensor (on load) keeps the name bound. */
  protected addBuffer(name: string, get: () => Tensor): void {
    this.bufferList.push([name, get]);
  }

  /** Child modules in registration order. */
  children(): [string, Module][] {
    return this.childList.slice();
  }

  /** Sets training mode here and in every child (BN uses batch statistics in training mode). */
  train(mode = true): this {
    this.training = mode;
    for (const [, m] of this.childList) m.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters with PyTorch's dotted names (`stage1.0.rbr_dense.conv.weight`). */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = this.paramList.map(([n, p]) => [prefix + n, p]);
    for (const [name, m] of this.childList) out.push(...m.namedParameters(`${prefix}${name}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.bufferList.map(([n, get]) => [prefix + n, get()]);
    for (const [name, m] of this.childList) out.push(...m.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** Every module below this one (depth first), with its dotted name. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [name, m] of this.childList) out.push(...m.namedModules(`${prefix}${name}.`));
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.parameters().reduce((s, p) => s + p.value.size, 0);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Frees parameters, buffers and anything saved. The module is unusable afterwards. */
  dispose(): void {
    this.releaseSaved();
    for (const [, p] of this.paramList) p.dispose();
    for (const [, get] of this.bufferList) get().dispose();
    for (const [, m] of this.childList) m.dispose();
  }
}
