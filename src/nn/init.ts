// Weight initialisation: PyTorch's default for conv and linear layers (kaiming_uniform with
// a = sqrt 5, whose bound is 1 / sqrt(fan_in)), drawn from the library's seeded generator.
import type { Backend } from '../backend.js';
import type { Rng, SeededRng } from '../random.js';
import { Tensor } from '../tensor.js';

/** Uniform values in [-bound, bound] from a seeded generator. A null generator gives zeros: for
 *  modules whose values are about to be overwritten (a fused conv, a model being loaded). */
export function uniform(backend: Backend, shape: number[], bound: number, rng: Rng | null): Tensor {
  const t = Tensor.zeros(backend, shape);
  if (rng === null) return t;
  const d = t.data;
  if ('fillUniform' in rng) (rng as SeededRng).fillUniform(d, bound);
  else for (let i = 0; i < d.length; i++) d[i] = (rng() * 2 - 1) * bound;
  return t;
}
