// mulberry32: the one seeded generator of the library (weight initialisation, shuffling, crops).
// A small 32-bit PRNG: plenty for these, and the same sequence everywhere for the same seed.

export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1), a multiple of 2^-32. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n), for 1 <= n <= 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * out[i] = (next() * 2 - 1) * bound for every i, exactly as that many calls would give, with
   * next() inlined: a B3 has 123M weights to draw, and a call per value costs about 3x.
   */
  fillUniform(out: Float32Array, bound: number): void {
    // The same arithmetic on int32 state: every operation below reads its operands modulo 2^32.
    let s = this.state | 0;
    for (let i = 0; i < out.length; i++) {
      s = (s + 0x6d2b79f5) | 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1) * bound;
    }
    this.state = s >>> 0;
  }
}

/** A seeded generator of uniform values in [0, 1). */
export type Rng = () => number;

/** A generator with a bulk fill that continues the same sequence (see Mulberry32.fillUniform). */
export interface SeededRng extends Rng {
  /** out[i] = (next() * 2 - 1) * bound for every i, exactly as that many calls would give. */
  fillUniform(out: Float32Array, bound: number): void;
}

/** The library's mulberry32 as a function, for weight initialisation. */
export function mulberry32(seed: number): SeededRng {
  const g = new Mulberry32(seed);
  const next = (() => g.next()) as SeededRng;
  next.fillUniform = (out, bound) => g.fillUniform(out, bound);
  return next;
}
