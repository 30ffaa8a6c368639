// reshape and flatten (src/ops/shape.ts): sizes must match, one -1 is inferred, and the result is
// a copy that outlives its source.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flatten, reshape } from '../src/ops/index.js';
import { rand, same } from './helpers/ops.js';
import { throwsWith } from './helpers/throws.js';

test('reshape and flatten: sizes must match; one -1 is inferred; the result is an independent copy', () => {
  const x = rand([2, 3, 4]);
  throwsWith(() => reshape(x, [5, 5]), [/^reshape: cannot reshape x \[2,3,4\] \(24 elements\) to \[5,5\]/]);
  throwsWith(() => reshape(x, [5, -1]), [/cannot reshape x \[2,3,4\] \(24 elements\) to \[5,-1\]/]);
  throwsWith(() => reshape(x, [-1, -1]), [/reshape: shape \[-1,-1\] has more than one -1/], RangeError);
  throwsWith(() => reshape(x, [0, 24]), [/reshape: shape \[0,24\] has dimension 0 = 0/], RangeError);
  throwsWith(() => reshape(x, [-2, -12]), [/dimension 0 = -2/], RangeError);
  const y = reshape(x, [4, -1]);
  assert.equal(y.shape, [4, 6]);
  same(y, x.toFloat32Array(), 'reshape keeps the elements');
  throwsWith(() => flatten(rand([5])), [/flatten: x must have at least 2 dimensions \[n, \.\.\.\], got shape \[5\]/]);
  const f = flatten(x);
  assert.equal(f.shape, [2, 12]);
  x.dispose();
  assert.is(f.toFloat32Array().length, 24, 'the copy outlives its source');
});

test.run();
