// Runs a kernel's PyTorch fixture cases (fixtures.ts) on every backend, one test per case and
// backend: the op's test file gives the body that calls the kernels and compares, this file the
// buffers. Output buffers are filled with garbage before each call: the Backend interface says
// outputs are overwritten, so a kernel that accumulates into (or skips part of) its output fails.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Backend, Buf } from '../../src/backend.js';
import { download, testBackends, upload } from './backends.js';
import { assertClose } from './compare.js';
import { casesOf, loadFixtures, tensor, type FixtureCase, type FixtureOp } from './fixtures.js';
import { TOL_BACKWARD } from './tolerances.js';

/** What output buffers hold before a kernel writes them. */
const GARBAGE = 1234.5;

/** One case on one backend: uploads fixture tensors, allocates outputs, frees everything at the end. */
export class FixtureRun {
  private readonly bufs: Buf[] = [];
  constructor(readonly b: Backend, readonly c: FixtureCase) {}

  /** A buffer holding the fixture tensor `name`. */
  input(name: string): Buf {
    return this.track(upload(this.b, tensor(this.c, name).data));
  }
  data(name: string): Float32Array {
    return tensor(this.c, name).data;
  }
  /** An output buffer of `length`, pre-filled with garbage. */
  out(length: number): Buf {
    const buf = this.track(this.b.alloc(length));
    this.b.view(buf).fill(GARBAGE);
    return buf;
  }
  /** An output buffer as large as the fixture tensor `name`. */
  outLike(name: string): Buf {
    return this.out(this.data(name).length);
  }
  /** A zero-filled state buffer (optimizer moments). */
  zeros(length: number): Buf {
    return this.track(this.b.alloc(length));
  }
  read(buf: Buf): Float32Array {
    return download(this.b, buf);
  }
  /** Compares the buffer with the fixture tensor `ref`. */
  check(buf: Buf, ref: string, tol: number, what: string = ref): void {
    assertClose(this.read(buf), this.data(ref), tol, what);
  }

  /** Optimizer cases: the stored gradient of each step, [steps, len]. */
  stepGrads(steps: number, len: number): Float32Array[] {
    const g = tensor(this.c, 'grads');
    assert.equal(g.shape, [steps, len], 'grads shape [steps, len]');
    return Array.from({ length: steps }, (_, i) => g.data.subarray(i * len, (i + 1) * len));
  }

  /** Optimizer cases: checks paramOut, and the update alone (paramOut - param), which a wrong small
   *  term (weight decay, bias correction) cannot hide behind the size of the parameters. */
  checkParam(param: Buf): void {
    const p0 = this.data('param');
    const ours = this.read(param);
    assertClose(ours, this.data('paramOut'), TOL_BACKWARD, 'paramOut');
    const ref = this.data('paramOut');
    const dOurs = new Float64Array(p0.length);
    const dRef = new Float64Array(p0.length);
    for (let i = 0; i < p0.length; i++) {
      dOurs[i] = ours[i] - p0[i];
      dRef[i] = ref[i] - p0[i];
    }
    assertClose(dOurs, dRef, TOL_BACKWARD, 'update (paramOut - param)');
  }

  freeAll(): void {
    for (const buf of this.bufs.splice(0)) this.b.free(buf);
  }
  private track(buf: Buf): Buf {
    this.bufs.push(buf);
    return buf;
  }
}

/** Registers a test that the fixtures have cases of `op`, then one test per case and backend,
 *  named `${op} ${case} [${backend}]`, running `body`. */
export async function fixtureTests<O extends FixtureOp>(op: O, body: (r: FixtureRun, c: FixtureCase<O>) => void): Promise<void> {
  const fixtures = loadFixtures();
  const cases = casesOf(fixtures, op);
  test(`fixtures (${fixtures.generator}) have cases of ${op}`, () => {
    assert.ok(cases.length > 0, `no fixture case for ${op}`);
  });
  const backends = await testBackends();
  for (const c of cases) {
    for (const b of backends) {
      test(`${c.op} ${c.name} [${b.name}]`, () => {
        const r = new FixtureRun(b, c);
        try {
          body(r, c);
        } finally {
          r.freeAll();
        }
      });
    }
  }
}
