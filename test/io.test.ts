// Fuzz-lite: random truncations and byte flips of the fixtures. Every reader must either succeed
// or throw an Error of ours with a message: never hang, never a RangeError from a huge allocation,
// never a TypeError from reading what is not there; and a truncated file must never read as if it
// were whole. Seeded, so a failure reproduces. (The full harness with workers, time and memory
// limits is fuzz/, run by test/fuzz.test.ts and `npm run fuzz`.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readNpy, readSafetensors, readTorch } from '../src/io/index.js';
import { fixtureBytes, rng } from './helpers/io.js';

/** A corrupted copy of `b`: truncated at a random point, or 1-4 random bytes overwritten. */
function mutate(b: Uint8Array, r: () => number, i: number): { bytes: Uint8Array; how: string } {
  if (i % 2 === 0) {
    const cut = Math.floor(r() * b.length);
    return { bytes: b.slice(0, cut), how: `truncated to ${cut}` };
  }
  const out = b.slice();
  const edits: string[] = [];
  for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
    const at = Math.floor(r() * out.length);
    out[at] = Math.floor(r() * 256);
    edits.push(`[${at}]=${out[at]}`);
  }
  return { bytes: out, how: `bytes ${edits.join(' ')}` };
}

function fuzz(name: string, read: (b: Uint8Array) => unknown, runs: number, seed: number): void {
  const original = fixtureBytes(name);
  const r = rng(seed);
  const started = Date.now();
  for (let i = 0; i < runs; i++) {
    const { bytes, how } = mutate(original, r, i);
    const t0 = Date.now();
    try {
      read(bytes);
      // Every byte of these fixtures is needed (no trailing padding), so a cut file that reads
      // would be silent corruption.
      assert.ok(bytes.length === original.length, `${name}, ${how}: a truncated file read without an error`);
    } catch (e) {
      if (e instanceof assert.Assertion) throw e;
      const what = `${name}, ${how}`;
      assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
      const builtin = [RangeError, TypeError, SyntaxError, ReferenceError, EvalError, URIError].some((c) => e instanceof c);
      assert.not.ok(builtin, `${what}: threw ${(e as Error).name}: ${(e as Error).message}`);
      assert.ok((e as Error).message.length > 10, `${what}: empty message`);
    }
    assert.ok(Date.now() - t0 < 2000, `${name}, ${how}: took ${Date.now() - t0} ms`);
  }
  assert.ok(Date.now() - started < 20_000, `${name}: ${runs} runs took ${Date.now() - started} ms`);
}

test('torch zip checkpoint: 200 truncations and byte flips (CRC on)', () => {
  fuzz('torch_sd.pt', (b) => readTorch(b), 200, 1);
});

test('torch zip checkpoint with CRC checks off: corrupt pickles reach the unpickler', () => {
  fuzz('torch_wrapped.pt', (b) => readTorch(b, { verifyCrc: false }), 200, 2);
});

test('deflated and ZIP64 checkpoints', () => {
  fuzz('torch_deflate.pt', (b) => readTorch(b, { verifyCrc: false }), 100, 3);
  fuzz('torch_zip64.pt', (b) => readTorch(b), 100, 4);
});

test('legacy checkpoint (no checksums at all)', () => {
  fuzz('torch_legacy.pt', (b) => readTorch(b), 200, 5);
});

test('safetensors and npy', () => {
  fuzz('tiny.safetensors', (b) => readSafetensors(b), 200, 6);
  fuzz('f4.npy', (b) => readNpy(b), 100, 7);
  fuzz('i8.npy', (b) => readNpy(b), 100, 8);
});

test.run();
