// `repvgg bench` (src/cli/bench.ts) through the executable: a small run on 1 and 2 threads prints a
// row per forward batch and one for the training step, with the ratio to one thread; bad lists are
// usage errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, fails, ok } from './helpers/cli.js';

test('repvgg bench: a row per batch and for the training step, per thread count, with the ratio', () => {
  const r = ok(cli('bench', '--size', '32', '--batch', '1,2', '--threads', '1,2', '--samples', '1', '--train',
    '--train-batch', '4'), 'bench');
  const rows = r.stdout.trim().split('\n');
  assert.is(rows.length, 5, r.stdout);
  assert.match(rows[0], /^A0 fused forward 32x32, batch 1: 1 thread [\d.]+ ms .*img\/s; 2 threads [\d.]+ ms .*, x[\d.]+$/);
  assert.match(rows[1], /^A0 planned fused forward 32x32, batch 1: /);
  assert.match(rows[2], /batch 2: /);
  assert.match(rows[4], /^A0 training step 32x32, batch 4: 1 thread .*; 2 threads .*x[\d.]+$/);
});

test('repvgg bench: thread and batch lists must be whole numbers >= 1', () => {
  fails(cli('bench', '--threads', '1,0'), '--threads 1,0', '--threads expects whole numbers >= 1');
  fails(cli('bench', '--batch', 'two'), '--batch two', '--batch expects whole numbers >= 1');
});

test.run();
