// The SE block's excitation: each (image, channel) plane times its own scale, and its backward.
import type { Tensor } from '../tensor.js';
import { backendOf, expectRank, expectSameShape, formatShape } from './check.js';
import { withOutputs } from './outputs.js';

/** Checks x [n, c, h, w] against s [n, c] or [n, c, 1, 1]; returns n, c and h * w. */
function channelScaleSizes(op: string, x: Tensor, s: Tensor): { n: number; c: number; hw: number } {
  const [n, c, h, w] = expectRank(op, 'x', x, 4, '[n, c, h, w]');
  const flat = s.shape.length === 2 && s.shape[0] === n && s.shape[1] === c;
  const keepdim = s.shape.length === 4 && s.shape[0] === n && s.shape[1] === c && s.shape[2] === 1 && s.shape[3] === 1;
  if (!flat && !keepdim) {
    throw new Error(`${op}: s has shape ${formatShape(s.shape)} but x ${formatShape(x.shape)} needs one scale per ` +
      `sample and channel (expected ${formatShape([n, c])} or ${formatShape([n, c, 1, 1])})`);
  }
  return { n, c, hw: h * w };
}

/** y[n, c, :, :] = x[n, c, :, :] * s[n, c]: the SE block's excitation. s is [n, c] or [n, c, 1, 1]. */
export function channelScale(x: Tensor, s: Tensor): Tensor {
  const op = 'channelScale';
  const b = backendOf(op, { x, s });
  const { n, c, hw } = channelScaleSizes(op, x, s);
  return withOutputs(b, (_zeros, empty) => {
    const y = empty(x.shape);
    b.channelScale(n, c, hw, x.buf, s.buf, y.buf);
    return y;
  });
}

/** dx = dy * s and ds[n, c] = sum over h, w of dy * x; ds has s's shape. */
export function channelScaleBackward(x: Tensor, s: Tensor, dy: Tensor): { dx: Tensor; ds: Tensor } {
  const op = 'channelScaleBackward';
  const b = backendOf(op, { x, s, dy });
  const { n, c, hw } = channelScaleSizes(op, x, s);
  expectSameShape(op, 'x', x, 'dy', dy);
  return withOutputs(b, (_zeros, empty) => {
    const dx = empty(x.shape);
    const ds = empty(s.shape);
    b.channelScaleBackward(n, c, hw, x.buf, s.buf, dy.buf, dx.buf, ds.buf);
    return { dx, ds };
  });
}
