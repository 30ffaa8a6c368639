// batch norm 2d over NCHW: training forward (batch statistics), eval forward, training backward.
// Sums run in f32x4 within one (image, channel) plane and in f64 across planes (lane by lane, in
// two f64x2, so that small planes, such as the 2x2 maps of A0's last stage at 32x32, do not wait
// on one chain of scalar additions), so that a channel of a large batch keeps float32 accuracy.
// Each kernel runs channels [ch0, ch1): a channel's statistics are its own, so threads can take
// disjoint ranges and compute the same bits. On small planes the training forward's sums run four
// channels at a time (channelSums4): each channel's additions in the order one channel alone
// takes, but four channels' chains side by side, where one chain alone waits on the adder's
// latency at every plane. (The backward's sums, two chains per channel already, lost when
// interleaved.)

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

/** A channel's sum from its two f64x2 of lanes and its tails' scalar. */
// @ts-ignore: decorator
@inline function total(lo: v128, hi: v128, tail: f64): f64 {
  const v = f64x2.add(lo, hi);
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1) + tail;
}

// @ts-ignore: decorator
@inline function totalSum(): f64 {
  return total(sumLo, sumHi, sumTail);
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

// The four channels' sums of channelSums4: globals, which each thread's instance has its own of
// (a static memory area would be shared by the threads).
let sum0: f64 = 0;
let sum1: f64 = 0;
let sum2: f64 = 0;
let sum3: f64 = 0;

// Planes of at most this many values take their sums four channels at a time.
const FOUR_CHANNELS_MAX_HW: i32 = 64;

/** The sums of channels ch .. ch + 3 into sum0 .. sum3, as four passes of planeSum (sq false) or
 *  planeSqDev from means m0 .. m3 (sq true) would compute them: the same operations in the same
 *  order per channel, the four channels interleaved. */
// @ts-ignore: decorator
@inline function channelSums4(x: usize, n: i32, c: i32, hw: i32, ch: i32, sq: bool, m0: f32, m1: f32, m2: f32, m3: f32): void {
  const z = f64x2.splat(0);
  let l0 = z, h0 = z, l1 = z, h1 = z, l2 = z, h2 = z, l3 = z, h3 = z;
  let t0: f64 = 0, t1: f64 = 0, t2: f64 = 0, t3: f64 = 0;
  const v0 = f32x4.splat(m0), v1 = f32x4.splat(m1), v2 = f32x4.splat(m2), v3 = f32x4.splat(m3);
  const plane = <usize>hw << 2;
  for (let img = 0; img < n; img++) {
    const p0 = f32at(x, (img * c + ch) * hw);
    const p1 = p0 + plane, p2 = p1 + plane, p3 = p2 + plane;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let i = 0;
    for (; i + 4 <= hw; i += 4) {
      const o = <usize>i << 2;
      if (sq) {
        const d0 = f32x4.sub(v128.load(p0 + o), v0), d1 = f32x4.sub(v128.load(p1 + o), v1);
        const d2 = f32x4.sub(v128.load(p2 + o), v2), d3 = f32x4.sub(v128.load(p3 + o), v3);
        a0 = f32x4.add(a0, f32x4.mul(d0, d0));
        a1 = f32x4.add(a1, f32x4.mul(d1, d1));
        a2 = f32x4.add(a2, f32x4.mul(d2, d2));
        a3 = f32x4.add(a3, f32x4.mul(d3, d3));
      } else {
        a0 = f32x4.add(a0, v128.load(p0 + o));
        a1 = f32x4.add(a1, v128.load(p1 + o));
        a2 = f32x4.add(a2, v128.load(p2 + o));
        a3 = f32x4.add(a3, v128.load(p3 + o));
      }
    }
    l0 = f64x2.add(l0, f64x2.promote_low_f32x4(a0));
    h0 = f64x2.add(h0, f64x2.promote_low_f32x4(v128.shuffle<f32>(a0, a0, 2, 3, 2, 3)));
    l1 = f64x2.add(l1, f64x2.promote_low_f32x4(a1));
    h1 = f64x2.add(h1, f64x2.promote_low_f32x4(v128.shuffle<f32>(a1, a1, 2, 3, 2, 3)));
    l2 = f64x2.add(l2, f64x2.promote_low_f32x4(a2));
    h2 = f64x2.add(h2, f64x2.promote_low_f32x4(v128.shuffle<f32>(a2, a2, 2, 3, 2, 3)));
    l3 = f64x2.add(l3, f64x2.promote_low_f32x4(a3));
    h3 = f64x2.add(h3, f64x2.promote_low_f32x4(v128.shuffle<f32>(a3, a3, 2, 3, 2, 3)));
    for (; i < hw; i++) {
      const o = <usize>i << 2;
      if (sq) {
        const d0 = load<f32>(p0 + o) - m0, d1 = load<f32>(p1 + o) - m1;
        const d2 = load<f32>(p2 + o) - m2, d3 = load<f32>(p3 + o) - m3;
        t0 += <f64>(d0 * d0);
        t1 += <f64>(d1 * d1);
        t2 += <f64>(d2 * d2);
        t3 += <f64>(d3 * d3);
      } else {
        t0 += <f64>load<f32>(p0 + o);
        t1 += <f64>load<f32>(p1 + o);
        t2 += <f64>load<f32>(p2 + o);
        t3 += <f64>load<f32>(p3 + o);
      }
    }
  }
  sum0 = total(l0, h0, t0);
  sum1 = total(l1, h1, t1);
  sum2 = total(l2, h2, t2);
  sum3 = total(l3, h3, t3);
}

/** channelSums4 of the values (a function of its own: inlined into batch_norm_train, these loops
 *  made the one-channel path slower). */
function sums4(x: usize, n: i32, c: i32, hw: i32, ch: i32): void {
  channelSums4(x, n, c, hw, ch, false, 0, 0, 0, 0);
}

/** channelSums4 of the squared deviations from m0 .. m3. */
function sqDevs4(x: usize, n: i32, c: i32, hw: i32, ch: i32, m0: f32, m1: f32, m2: f32, m3: f32): void {
  channelSums4(x, n, c, hw, ch, true, m0, m1, m2, m3);
}

/** Channel ch's statistics from its sum of squared deviations q: saved mean and inverse std, the
 *  running statistics, then y = x * scale + shift over its planes. */
// @ts-ignore: decorator
@inline function normalizeChannel(x: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize, y: usize, saveMean: usize,
  saveInvStd: usize, n: i32, c: i32, hw: i32, momentum: f32, eps: f32, ch: i32, mean: f32, q: f64): void {
  const count = <f64>n * <f64>hw;
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

export function batch_norm_train(x: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize,
  y: usize, saveMean: usize, saveInvStd: usize, n: i32, c: i32, hw: i32, momentum: f32, eps: f32, ch0: i32, ch1: i32): void {
  const count = <f64>n * <f64>hw;
  let ch = ch0;
  // Small planes only: on large ones one channel's f32x4 chain already has a plane's worth of
  // loads beside it, and the four channels' streams cost more than they save (1.2 ms against 1.3
  // for 48 planes of 16x16, 128 images).
  for (; hw <= FOUR_CHANNELS_MAX_HW && ch + 4 <= ch1; ch += 4) {
    sums4(x, n, c, hw, ch);
    const m0 = <f32>(sum0 / count), m1 = <f32>(sum1 / count), m2 = <f32>(sum2 / count), m3 = <f32>(sum3 / count);
    sqDevs4(x, n, c, hw, ch, m0, m1, m2, m3);
    const q0 = sum0, q1 = sum1, q2 = sum2, q3 = sum3;
    normalizeChannel(x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd, n, c, hw, momentum, eps, ch, m0, q0);
    normalizeChannel(x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd, n, c, hw, momentum, eps, ch + 1, m1, q1);
    normalizeChannel(x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd, n, c, hw, momentum, eps, ch + 2, m2, q2);
    normalizeChannel(x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd, n, c, hw, momentum, eps, ch + 3, m3, q3);
  }
  for (; ch < ch1; ch++) {
    clearSum();
    for (let img = 0; img < n; img++) planeSum(f32at(x, (img * c + ch) * hw), hw);
    const mean = <f32>(totalSum() / count);
    clearSum();
    for (let img = 0; img < n; img++) planeSqDev(f32at(x, (img * c + ch) * hw), hw, mean);
    normalizeChannel(x, gamma, beta, runMean, runVar, y, saveMean, saveInvStd, n, c, hw, momentum, eps, ch, mean, totalSum());
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
