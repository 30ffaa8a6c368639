// Ranking logits (src/topk.ts): ties go to the lower index, and a row with NaN or an infinity
// ranks nothing, so a diverged model is never counted as right.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { countCorrect, rankOf, softmax, topK } from '../src/topk.js';

test('rankOf: how many classes beat the label; ties to the lower index', () => {
  assert.is(rankOf([0.1, 0.9, 0.3], 1), 0);
  assert.is(rankOf([0.1, 0.9, 0.3], 2), 1);
  assert.is(rankOf([0.1, 0.9, 0.3], 0), 2);
  assert.is(rankOf([0.5, 0.5], 0), 0);
  assert.is(rankOf([0.5, 0.5], 1), 1);
});

test('NaN or Inf anywhere in a row: the label ranks nowhere (NaN compares false both ways)', () => {
  assert.is(rankOf([NaN, NaN, NaN], 0), Infinity);
  assert.is(rankOf([0.1, NaN, 0.3], 2), Infinity);
  assert.is(rankOf([0.1, Infinity, 0.3], 1), Infinity);
  assert.equal(topK([1, NaN], 1), []);
  const nan = new Float32Array([NaN, NaN, NaN, NaN, 0, 1]);
  assert.is(countCorrect(nan, 3, 2, [0, 1, 1]), 1, 'only the finite row counts');
});

test('topK: best first, ties by index; softmax sums to one without overflow', () => {
  assert.equal(topK([0.2, 0.9, 0.2, 0.5], 3), [1, 3, 0]);
  assert.equal(topK([3, 1], 5), [0, 1]);
  const p = softmax([1000, 1000, -1000]);
  assert.ok(Math.abs(p[0] - 0.5) < 1e-12 && Math.abs(p[1] - 0.5) < 1e-12 && p[2] === 0);
});

test.run();
