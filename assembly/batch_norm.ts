// batch norm 2d over NCHW: training forward (batch statistics), eval forward, training backward.
// Sums run in f32x4 within one (image, channel) plane and in f64 across planes (lane by lane, in
// two f64x2, so that small planes, such as the 2x2 maps of A0's last stage at 32x32, do not wait
// on one chain of scalar additions), so that a channel of a large batch keeps float32 accuracy.
// Each kernel runs channels [ch0, ch1): a channel's statistics are its own, so threads can take
// disjoint ranges and compute the same bits.

import { f32at } from './util';

// The f64 sums of a channel: two f64x2 of lanes (0, 1) and (2, 3) of the planes' f32x4 sums, and
// the planes' tails (hw not a multiple of 4) in a scalar.
let sumLo: v128 = f64x2.splat(0);
let sumHi: v128 = f64x2.splat(0);
let sumTail: f64 = 0;

// @ts-ignore: decorator
@inline function clearSum(): void {
  sumLo = f64x2.splat(0);
  sumHi = f64x2.splat(0);
  sumTail = 0;
}

/** Adds a plane's f32x4 partial sum into the f64 lanes. */
// @ts-ignore: decorator
@inline function addLanes(acc: v128): void {
  sumLo = f64x2.add(sumLo, f64x2.promote_low_f32x4(acc));
  sumHi = f64x2.add(sumHi, f64x2.promote_low_f32x4(v128.shuffle<f32>(acc, acc, 2, 3, 2, 3)));
}

// @ts-ignore: decorator
@inline function totalSum(): f64 {
  const v = f64x2.add(sumLo, sumHi);
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1) + sumTail;
}

/** Adds a plane's values into the channel's sum. */
// @ts-ignore: decorator
@inline function planeSum(p: usize, hw: i32): void {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= hw; i += 4) acc = f32x4.add(acc, v128.load(f32at(p, i)));
  addLanes(acc);
  for (; i < hw; i++) sumTail += <f64>load<f32>(f32at(p, i));
}

/** Adds a plane's squared deviations from `mean` into the channel's sum. */
// @ts-ignore: decorator
@inline function planeSqDev(p: usize, hw: i32, mean: f32): void {
  const m = f32x4.splat(mean);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= hw; i += 4) {
    const d = f32x4.sub(v128.load(f32at(p, i)), m);
    acc = f32x4.add(acc, f32x4.mul(d, d));
  }
  addLanes(acc);
  for (; i < hw; i++) {
    const d = load<f32>(f32at(p, i)) - mean;
    sumTail += <f64>(d * d);
  }
}

/** y = x * scale + shift over one plane. */
function planeAffine(x: usize, y: usize, hw: i32, scale: f32, shift: f32): void {
  const a = f32x4.splat(scale);
  const b = f32x4.splat(shift);
  let i = 0;
  for (; i + 4 <= hw; i += 4) v128.store(f32at(y, i), f32x4.add(f32x4.mul(v128.load(f32at(x, i)), a), b));
  for (; i < hw; i++) store<f32>(f32at(y, i), load<f32>(f32at(x, i)) * scale + shift);
}

export function batch_norm_train(x: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize,
  y: usize, saveMean: usize, saveInvStd: usize, n: i32, c: i32, hw: i32, momentum: f32, eps: f32, ch0: i32, ch1: i32): void {
  const count = <f64>n * <f64>hw;
  for (let ch = ch0; ch < ch1; ch++) {
    clearSum();
    for (let img = 0; img < n; img++) planeSum(f32at(x, (img * c + ch) * hw), hw);
    const mean = <f32>(totalSum() / count);
    clearSum();
    for (let img = 0; img < n; img++) planeSqDev(f32at(x, (img * c + ch) * hw), hw, mean);
    const q = totalSum();
    const varBiased = q / count;
    const invStd = <f32>(1.0 / Math.sqrt(varBiased + <f64>eps));
    store<f32>(f32at(saveMean, ch), mean);
    store<f32>(f32at(saveInvStd, ch), invStd);
    const varUnbiased = count > 1 ? q / (count - 1) : varBiased;
    const rm = f32at(runMean, ch);
    const rv = f32at(runVar, ch);
    store<f32>(rm, (<f32>1.0 - momentum) * load<f32>(rm) + momentum * mean);
    store<f32>(rv, (<f32>1.0 - momentum) * load<f32>(rv) + momentum * <f32>varUnbiased);
    const scale = load<f32>(f32at(gamma, ch)) * invStd;
    const shift = load<f32>(f32at(beta, ch)) - mean * scale;
    for (let img = 0; img < n; img++) {
      const off = (img * c + ch) * hw;
      planeAffine(f32at(x, off), f32at(y, off), hw, scale, shift);
    }
  }
}

export function batch_norm_eval(x: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize,
  y: usize, n: i32, c: i32, hw: i32, eps: f32, ch0: i32, ch1: i32): void {
  for (let ch = ch0; ch < ch1; ch++) {
    const invStd = <f32>(1.0 / Math.sqrt(<f64>load<f32>(f32at(runVar, ch)) + <f64>eps));
    const scale = load<f32>(f32at(gamma, ch)) * invStd;
    const shift = load<f32>(f32at(beta, ch)) - load<f32>(f32at(runMean, ch)) * scale;
    for (let img = 0; img < n; img++) {
      const off = (img * c + ch) * hw;
      planeAffine(f32at(x, off), f32at(y, off), hw, scale, shift);
    }
  }
}

/** dx = gamma invstd / M (M dy - sum dy - xhat sum(dy xhat)), dgamma = sum(dy xhat), dbeta = sum dy. */
export function batch_norm_backward(x: usize, dy: usize, gamma: usize, saveMean: usize, saveInvStd: usize,
  dx: usize, dgamma: usize, dbeta: usize, n: i32, c: i32, hw: i32, ch0: i32, ch1: i32): void {
  const count = <f64>n * <f64>hw;
  for (let ch = ch0; ch < ch1; ch++) {
    const mean = load<f32>(f32at(saveMean, ch));
    const invStd = load<f32>(f32at(saveInvStd, ch));
    const mv = f32x4.splat(mean);
    // sum dy and sum dy (x - mean), each in two f64x2 of lanes and a scalar for the tails
    let dyLo = f64x2.splat(0), dyHi = f64x2.splat(0), dyxLo = f64x2.splat(0), dyxHi = f64x2.splat(0);
    let dyTail: f64 = 0, dyxTail: f64 = 0;
    for (let img = 0; img < n; img++) {
      const off = (img * c + ch) * hw;
      const xp = f32at(x, off);
      const gp = f32at(dy, off);
      let a = f32x4.splat(0);
      let b = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const g = v128.load(f32at(gp, i));
        a = f32x4.add(a, g);
        b = f32x4.add(b, f32x4.mul(g, f32x4.sub(v128.load(f32at(xp, i)), mv)));
      }
      dyLo = f64x2.add(dyLo, f64x2.promote_low_f32x4(a));
      dyHi = f64x2.add(dyHi, f64x2.promote_low_f32x4(v128.shuffle<f32>(a, a, 2, 3, 2, 3)));
      dyxLo = f64x2.add(dyxLo, f64x2.promote_low_f32x4(b));
      dyxHi = f64x2.add(dyxHi, f64x2.promote_low_f32x4(v128.shuffle<f32>(b, b, 2, 3, 2, 3)));
      for (; i < hw; i++) {
        const g = load<f32>(f32at(gp, i));
        dyTail += <f64>g;
        dyxTail += <f64>(g * (load<f32>(f32at(xp, i)) - mean));
      }
    }
    const dyv = f64x2.add(dyLo, dyHi);
    const dyxv = f64x2.add(dyxLo, dyxHi);
    const sdy = f64x2.extract_lane(dyv, 0) + f64x2.extract_lane(dyv, 1) + dyTail;
    const sdyx = f64x2.extract_lane(dyxv, 0) + f64x2.extract_lane(dyxv, 1) + dyxTail; // sum dy (x - mean)
    const dg = <f32>(sdyx * <f64>invStd);
    store<f32>(f32at(dgamma, ch), dg);
    store<f32>(f32at(dbeta, ch), <f32>sdy);
    // dx = k * (dy - mdy - (x - mean) * invstd^2 * mdyx), k = gamma * invstd
    const k = load<f32>(f32at(gamma, ch)) * invStd;
    const mdy = <f32>(sdy / count);
    const coef = <f32>(sdyx / count) * invStd * invStd;
    const kv = f32x4.splat(k);
    const mdyv = f32x4.splat(mdy);
    const cv = f32x4.splat(coef);
    for (let img = 0; img < n; img++) {
      const off = (img * c + ch) * hw;
      const xp = f32at(x, off);
      const gp = f32at(dy, off);
      const dp = f32at(dx, off);
      let i = 0;
      for (; i + 4 <= hw; i += 4) {
        const t = f32x4.sub(f32x4.sub(v128.load(f32at(gp, i)), mdyv), f32x4.mul(f32x4.sub(v128.load(f32at(xp, i)), mv), cv));
        v128.store(f32at(dp, i), f32x4.mul(t, kv));
      }
      for (; i < hw; i++) {
        store<f32>(f32at(dp, i), k * (load<f32>(f32at(gp, i)) - mdy - (load<f32>(f32at(xp, i)) - mean) * coef));
      }
    }
  }
}
