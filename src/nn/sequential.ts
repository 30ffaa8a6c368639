// Sequential: runs its children in order, keeping each intermediate output of a training forward
// until the backward has passed both its producer and its consumer. With `checkpoint` on it keeps
// only those outputs and recomputes each child's internals in the backward (the official
// use_checkpoint): the same results, less memory, about one more forward of compute.
import type { Backend } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { Module } from './module.js';

interface Saved { input: Tensor; outputs: Tensor[] }

export class Sequential extends Module {
  private readonly mods: Module[] = [];
  private checkpointing = false;

  constructor(backend: Backend, modules: Module[] = [], names?: string[]) {
    super(backend);
    modules.forEach((m, i) => this.append(m, names?.[i] ?? String(i)));
  }

  append(m: Module, name = String(this.mods.length)): this {
    this.addModule(name, m);
    this.mods.push(m);
    if (this.mods.length === 1) m.inputGrad = this.inputGrad;
    return this;
  }

  get length(): number { return this.mods.length; }
  at(i: number): Module { return this.mods[i]; }

  /** Gradient checkpointing, here and in the Sequentials below (which then checkpoint their own
   *  children rather than being recomputed whole). */
  get checkpoint(): boolean { return this.checkpointing; }
  set checkpoint(on: boolean) {
    this.checkpointing = on;
    for (const m of this.mods) if (m instanceof Sequential) m.checkpoint = on;
  }

  protected override propagateInputGrad(on: boolean): void {
    if (this.mods.length > 0) this.mods[0].inputGrad = on;
  }

  /** Whether child m is released after its forward and recomputed in the backward. */
  private recomputes(m: Module): boolean {
    return this.checkpointing && !(m instanceof Sequential);
  }

  forward(x: Tensor): Tensor {
    if (this.mods.length === 0) throw new Error('Sequential.forward: no modules');
    this.releaseSaved();
    // outputs[i] is child i's output and child i + 1's input (the last child's belongs to the caller).
    const outputs: Tensor[] = [];
    let cur = x;
    try {
      for (const m of this.mods) {
        const next = m.forward(cur);
        if (this.training && this.recomputes(m)) m.releaseSaved();
        if (cur !== x) {
          if (this.training) outputs.push(cur);
          else cur.dispose();
        }
        cur = next;
      }
    } catch (e) {
      for (const t of outputs) t.dispose();
      if (cur !== x) cur.dispose();
      throw e;
    }
    this.save({ input: x, outputs }, outputs);
    return cur;
  }

  backward(dy: Tensor): Tensor | null {
    return this.withSaved(({ input, outputs }: Saved) => {
      let g: Tensor | null = dy;
      for (let i = this.mods.length - 1; i >= 0; i--) {
        const m = this.mods[i];
        let recomputed: Tensor | null = null;
        if (this.recomputes(m)) {
          recomputed = m.recomputeForward(i === 0 ? input : outputs[i - 1]);
          // The kept output equals the recomputed one (which the child now holds for its backward),
          // and the next child is done with it: free it now, or the largest tensor is held twice.
          if (i < outputs.length) outputs[i].dispose();
        }
        const next: Tensor | null = m.backward(g!);
        recomputed?.dispose();
        if (g !== dy) g!.dispose();
        g = next;
        if (g === null && i > 0) throw new Error(`Sequential.backward: child ${i} returned no input gradient`);
        // Child i and child i + 1 are both done with outputs[i] (disposing twice is harmless).
        if (i < outputs.length) outputs[i].dispose();
      }
      return g;
    });
  }
}
