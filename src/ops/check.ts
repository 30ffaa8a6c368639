// Validation shared by the ops. Every message starts with the op's name, then names the argument
// and shows the offending shape or value: the backends trust what they are given (a wrong length in
// WASM memory silently reads a neighbour's data), so this layer is where mistakes must surface.
//
// Kinds of error: TypeError for a value of the wrong type (not a Tensor, not a number), RangeError
// for a number outside its domain, Error for tensors whose shapes do not fit together.
import type { Backend } from '../backend.js';
import { describe, formatShape } from '../format.js';
import { Tensor } from '../tensor.js';

export { describe, formatShape };

/** Which gradients a backward computes beyond the weight's (conv2d and linear). */
export interface BackwardNeeds {
  /** gradient with respect to the input (default true; false for a network's first layer) */
  input?: boolean;
  /** gradient with respect to the bias (default false: RepVGG's convolutions have none) */
  bias?: boolean;
}

/** Checks a backward's `needs` and fills in the defaults (input yes, bias no). */
export function backwardNeeds(op: string, needs: BackwardNeeds): { input: boolean; bias: boolean } {
  checkKeys(op, 'needs', needs, ['input', 'bias']);
  return { input: boolOr(op, 'needs.input', needs.input, true), bias: boolOr(op, 'needs.bias', needs.bias, false) };
}

/**
 * Checks that every named argument is a live Tensor and that all of them live on one backend, which
 * it returns. Null and undefined entries are optional tensors left out (a bias) and are skipped
 * only when `optional` lists them; the first entry must be a tensor.
 */
export function backendOf(op: string, tensors: Record<string, Tensor | null | undefined>,
  optional: readonly string[] = []): Backend {
  let backend: Backend | null = null;
  let first = '';
  for (const [name, t] of Object.entries(tensors)) {
    if (t == null && optional.includes(name)) continue;
    if (!(t instanceof Tensor)) {
      throw new TypeError(`${op}: ${name} must be a Tensor, got ${describe(t)}`);
    }
    if (t.disposed) throw new Error(`${op}: ${name}: tensor ${formatShape(t.shape)} was disposed`);
    if (backend === null) {
      backend = t.backend;
      first = name;
    } else if (t.backend !== backend) {
      const which = t.backend.name === backend.name
        ? `${first} and ${name} are on two different ${backend.name} backend instances`
        : `${name} is on the ${t.backend.name} backend but ${first} is on the ${backend.name} backend`;
      throw new Error(`${op}: ${which}; the tensors of one op must share a backend`);
    }
  }
  if (backend === null) throw new TypeError(`${op}: no tensor given`);
  return backend;
}

/** Throws unless `t` has as many dimensions as `layout` names ("[n, c, h, w]"); returns its shape. */
export function expectRank(op: string, name: string, t: { readonly shape: readonly number[] }, rank: number, layout: string): readonly number[] {
  if (t.shape.length !== rank) {
    throw new Error(`${op}: ${name} must be ${rank}-D ${layout}, got shape ${formatShape(t.shape)}`);
  }
  return t.shape;
}

/** Throws unless `t` has exactly the shape `expected`; `because` says where that shape comes from. */
export function expectShape(op: string, name: string, t: Tensor, expected: readonly number[], because: string): void {
  if (!shapesEqual(t.shape, expected)) {
    throw new Error(`${op}: ${name} has shape ${formatShape(t.shape)} but ${because} (expected ${formatShape(expected)})`);
  }
}

/** Throws unless `b` has the same shape as `a`. */
export function expectSameShape(op: string, nameA: string, a: Tensor, nameB: string, b: Tensor): void {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new Error(`${op}: ${nameB} has shape ${formatShape(b.shape)} but ${nameA} has shape ${formatShape(a.shape)}; ` +
      'they must be equal');
  }
}

export function shapesEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * In-place updates write some arguments while reading others: the same tensor passed twice would
 * be both, and the result silently wrong.
 */
export function expectDistinct(op: string, tensors: Record<string, Tensor>): void {
  const entries = Object.entries(tensors);
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      if (entries[i][1] === entries[j][1]) {
        throw new Error(`${op}: ${entries[i][0]} and ${entries[j][0]} are the same tensor; ` +
          'an in-place update needs a separate tensor for each');
      }
    }
  }
}

/**
 * Throws on keys `allowed` does not list: a misspelt option ("pad" for "padding") would otherwise
 * be ignored without a word. `name` is the argument's name ("opts", "needs"); undefined passes.
 */
export function checkKeys(op: string, name: string, obj: unknown, allowed: readonly string[]): void {
  if (obj === undefined) return;
  if (obj === null || typeof obj !== 'object') {
    throw new TypeError(`${op}: ${name} must be an object, got ${describe(obj)}`);
  }
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new TypeError(`${op}: unknown key "${key}" in ${name} (known: ${allowed.join(', ')})`);
    }
  }
}

export function positiveInt(op: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${op}: ${name} must be a positive integer, got ${describe(v)}`);
  }
  return v;
}

/**
 * A size given as one number for both axes or as [height, width] (PyTorch's int or tuple), each
 * an integer >= `min`.
 */
export function intPair(op: string, name: string, v: unknown, min: 0 | 1): [number, number] {
  const pair = typeof v === 'number' ? [v, v] : v;
  const ok = Array.isArray(pair) && pair.length === 2 &&
    pair.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= min);
  if (!ok) {
    const kind = min === 1 ? 'a positive integer' : 'a non-negative integer';
    throw new RangeError(`${op}: ${name} must be ${kind} or a pair [h, w] of them, got ${describe(v)}`);
  }
  return pair as [number, number];
}

export function boolOr(op: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be true or false, got ${describe(v)}`);
  return v;
}

/** A finite number for which `ok` holds; `domain` describes it for the message ("in [0, 1]"). */
export function finiteNumber(op: string, name: string, v: unknown, ok: (v: number) => boolean, domain: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
    throw new RangeError(`${op}: ${name} must be a finite number ${domain}, got ${describe(v)}`);
  }
  return v;
}

export function nonNegative(op: string, name: string, v: unknown): number {
  return finiteNumber(op, name, v, (x) => x >= 0, '>= 0');
}

export function positive(op: string, name: string, v: unknown): number {
  return finiteNumber(op, name, v, (x) => x > 0, '> 0');
}

export function inUnitInterval(op: string, name: string, v: unknown): number {
  return finiteNumber(op, name, v, (x) => x >= 0 && x <= 1, 'in [0, 1]');
}


/** Checks that param, grad and every state tensor share one shape and are distinct tensors. */
export function checkState(op: string, tensors: Record<string, Tensor>): void {
  const entries = Object.entries(tensors);
  const [firstName, first] = entries[0];
  for (const [name, t] of entries.slice(1)) expectSameShape(op, firstName, first, name, t);
  expectDistinct(op, tensors);
}

/** An options object is required (its fields are checked by the caller). */
export function requireOpts(op: string, opts: unknown, required: string): void {
  if (opts == null || typeof opts !== 'object') {
    throw new TypeError(`${op}: opts must be an object with ${required}, got ${describe(opts)}`);
  }
}
