// Seeded randomness for the data pipeline: mulberry32 streams, one per (seed, epoch, purpose),
// so that shuffling and augmentation are reproducible and independent of each other (drawing
// more augmentation numbers never changes the shuffle order, and epoch 7 does not depend on
// whether epochs 0..6 were run).

import { Mulberry32 } from '../random.js';

export { Mulberry32 };

/** murmur3's 32-bit finalizer: a bijective mix. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Throws unless `v` is a safe integer (seeds, epochs). */
export function checkInteger(v: unknown, what: string, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    const bound = min === Number.MIN_SAFE_INTEGER ? '' : ` >= ${min}`;
    throw new Error(`${what} must be an integer${bound}, got ${String(v)}`);
  }
  return v;
}

/** Stream purposes: distinct constants so that the streams of one (seed, epoch) differ. */
export const STREAM = { shuffle: 0x5348, augment: 0x4147, order: 0x4f52, split: 0x5350, subset: 0x5355 } as const;

/**
 * The 32-bit seed of the stream for (seed, epoch, purpose). `seed` is any safe integer (all 53
 * bits count, negative ones too), `epoch` an integer >= 0.
 */
export function streamSeed(seed: number, epoch: number, purpose: number): number {
  checkInteger(seed, 'seed');
  checkInteger(epoch, 'epoch', 0);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  let h = fmix32(lo ^ 0x9e3779b9);
  h = fmix32(h ^ hi ^ 0x7f4a7c15);
  h = fmix32(h ^ (epoch >>> 0));
  h = fmix32(h ^ (Math.floor(epoch / 4294967296) >>> 0) ^ 0x2545f491);
  return fmix32(h ^ purpose);
}

/** The generator of stream (seed, epoch, purpose). */
export function streamRng(seed: number, epoch: number, purpose: number): Mulberry32 {
  return new Mulberry32(streamSeed(seed, epoch, purpose));
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates, drawing from `rng`). */
export function permutation(n: number, rng: Mulberry32): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}
