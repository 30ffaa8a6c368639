// A tiny seeded PRNG (mulberry32) for reproducible test data. Values destined for float32 buffers
// are rounded to float32 here, so a float64 reference computes on exactly the same numbers.

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** `length` float32 values, normal with the given standard deviation and mean. */
  normals(length: number, std = 1, mean = 0): Float32Array {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** `length` float32 values, uniform in [lo, hi). */
  uniforms(length: number, lo: number, hi: number): Float32Array {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = this.uniform(lo, hi);
    return out;
  }

  /** `length` integers, uniform in [0, hi). */
  ints(length: number, hi: number): Int32Array {
    const out = new Int32Array(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * hi);
    return out;
  }

  /** A random permutation of 0 .. length-1 (Fisher-Yates). */
  permutation(length: number): Int32Array {
    const out = new Int32Array(length);
    for (let i = 0; i < length; i++) out[i] = i;
    for (let i = length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}
