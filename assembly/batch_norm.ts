// batch norm 2d over NCHW: training forward (batch statistics), eval forward, training backward.
// Sums run in f32x4 within one (image, channel) plane and in f64 across planes, so that a channel
// of a large batch keeps float32 accuracy. Each kernel runs channels [ch0, ch1): a channel's
// statistics are its own, so threads can take disjoint ranges and compute the same bits.

import { f32at, hsum } from './util';

function planeSum(p: usize, hw: i32): f64 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= hw; i += 4) acc = f32x4.add(acc, v128.load(f32at(p, i)));
  let s = hsum(acc);
  for (; i < hw; i++) s += <f64>load<f32>(f32at(p, i));
  return s;
}

function planeSqDev(p: usize, hw: i32, mean: f32): f64 {
  const m = f32x4.splat(mean);
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= hw; i += 4) {
    const d = f32x4.sub(v128.load(f32at(p, i)), m);
    acc = f32x4.add(acc, f32x4.mul(d, d));
  }
  let s = hsum(acc);
  for (; i < hw; i++) {
    const d = load<f32>(f32at(p, i)) - mean;
    s += <f64>(d * d);
  }
  return s;
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
    let s: f64 = 0;
    for (let img = 0; img < n; img++) s += planeSum(f32at(x, (img * c + ch) * hw), hw);
    const mean = <f32>(s / count);
    let q: f64 = 0;
    for (let img = 0; img < n; img++) q += planeSqDev(f32at(x, (img * c + ch) * hw), hw, mean);
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
    let sdy: f64 = 0;
    let sdyx: f64 = 0; // sum dy (x - mean)
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
      sdy += hsum(a);
      sdyx += hsum(b);
      for (; i < hw; i++) {
        const g = load<f32>(f32at(gp, i));
        sdy += <f64>g;
        sdyx += <f64>(g * (load<f32>(f32at(xp, i)) - mean));
      }
    }
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
