// The branch sum (y = a + b) and in-place accumulation of gradients (dst += src), over `len` floats.

import { f32at } from './util';

export function add(a: usize, b: usize, y: usize, len: i32): void {
  let i = 0;
  for (; i + 4 <= len; i += 4) v128.store(f32at(y, i), f32x4.add(v128.load(f32at(a, i)), v128.load(f32at(b, i))));
  for (; i < len; i++) store<f32>(f32at(y, i), load<f32>(f32at(a, i)) + load<f32>(f32at(b, i)));
}

/** dst += src: a tensor that feeds several consumers sums their gradients. */
export function add_in_place(dst: usize, src: usize, len: i32): void {
  add(dst, src, dst, len);
}
