// Pixels -> the network's input, in the page (canvas work; the worker gets a Float32Array).
// Digits are prepared as MNIST's were: the ink's bounding box scaled to fit 20x20 (aspect kept),
// placed so its centre of mass sits at the centre of 28x28, then padded to 32x32 as the library's
// mnist source pads; light-background images are inverted (MNIST digits are white on black).
// Other images: the shorter side scaled to the input size (x256/224 for 224 inputs, as ImageNet
// evaluation does), centre-cropped, normalized per channel.

function canvas(w, h) {
  const c = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(w, h) : Object.assign(document.createElement('canvas'), { width: w, height: h });
  return [c, c.getContext('2d', { willReadFrequently: true })];
}

/** Luminance 0..255 of RGBA pixels. */
function luminance(rgba) {
  const out = new Float32Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = 0.299 * rgba[4 * i] + 0.587 * rgba[4 * i + 1] + 0.114 * rgba[4 * i + 2];
  return out;
}

/**
 * 32x32 digit bytes (0..255, white on black) from ink intensities `ink` (w x h, 0..255), or null
 * when there is no ink.
 */
export function centerDigit(ink, w, h) {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  let peak = 0;
  for (const v of ink) if (v > peak) peak = v;
  const threshold = Math.max(24, peak * 0.2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null;
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  // The crop as a grey image, scaled (smoothly) into a 20x20 box.
  const [src, sctx] = canvas(bw, bh);
  const img = sctx.createImageData(bw, bh);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const v = Math.min(255, ink[(y + y0) * w + x + x0] * (255 / Math.max(peak, 1)));
      const o = 4 * (y * bw + x);
      img.data[o] = img.data[o + 1] = img.data[o + 2] = v;
      img.data[o + 3] = 255;
    }
  }
  sctx.putImageData(img, 0, 0);
  const scale = 20 / Math.max(bw, bh);
  const sw = Math.max(1, Math.round(bw * scale)), sh = Math.max(1, Math.round(bh * scale));
  const [box, bctx] = canvas(sw, sh);
  bctx.imageSmoothingEnabled = true;
  bctx.imageSmoothingQuality = 'high';
  bctx.drawImage(src, 0, 0, sw, sh);
  const small = luminance(bctx.getImageData(0, 0, sw, sh).data);
  // Centre of mass -> the centre of the 28x28 frame.
  let m = 0, mx = 0, my = 0;
  for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) { const v = small[y * sw + x]; m += v; mx += v * x; my += v * y; }
  const cx = m > 0 ? mx / m : sw / 2, cy = m > 0 ? my / m : sh / 2;
  const ox = Math.round(14 - cx - 0.5) + 2, oy = Math.round(14 - cy - 0.5) + 2; // +2: the 32x32 padding
  const out = new Uint8Array(32 * 32);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const tx = x + ox, ty = y + oy;
      if (tx >= 0 && tx < 32 && ty >= 0 && ty < 32) out[ty * 32 + tx] = Math.round(small[y * sw + x]);
    }
  }
  return out;
}

/** Normalized [1, 1, 32, 32] input from digit bytes. */
export function digitTensor(bytes, mean, std) {
  const x = new Float32Array(bytes.length);
  for (let i = 0; i < x.length; i++) x[i] = (bytes[i] / 255 - mean[0]) / std[0];
  return x;
}

/** The ink of a drawing canvas (white strokes on a dark pad): its luminance. */
export function inkOfCanvas(source) {
  const [, ctx] = canvas(source.width, source.height);
  ctx.drawImage(source, 0, 0);
  return luminance(ctx.getImageData(0, 0, source.width, source.height).data);
}

/** The ink of a photo or scan: luminance, inverted when the background is light. */
export function inkOfImage(source, maxSide = 280) {
  const k = Math.min(1, maxSide / Math.max(source.width, source.height));
  const w = Math.max(1, Math.round(source.width * k)), h = Math.max(1, Math.round(source.height * k));
  const [, ctx] = canvas(w, h);
  ctx.fillStyle = '#fff'; // transparent PNGs: ink on white paper
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(source, 0, 0, w, h);
  const lum = luminance(ctx.getImageData(0, 0, w, h).data);
  let mean = 0;
  for (const v of lum) mean += v;
  mean /= lum.length;
  if (mean > 127) for (let i = 0; i < lum.length; i++) lum[i] = 255 - lum[i];
  return { ink: lum, w, h };
}

/**
 * A [1, c, size, size] input from an image (ImageBitmap, canvas, img) for a c-channel network,
 * and its pixels for the preview: { x, shape, preview: { rgba, size } }.
 */
export function imageTensor(source, { size, channels, mean, std }) {
  const resize = size >= 224 ? Math.round((size * 256) / 224) : size;
  const k = resize / Math.min(source.width, source.height);
  const w = source.width * k, h = source.height * k;
  const [, ctx] = canvas(size, size);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, size, size);
  ctx.drawImage(source, (size - w) / 2, (size - h) / 2, w, h);
  const rgba = ctx.getImageData(0, 0, size, size).data;
  const plane = size * size;
  const x = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const rgb = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    const grey = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
    for (let c = 0; c < channels; c++) {
      const v = (channels === 3 ? rgb[c] : grey) / 255;
      x[c * plane + i] = (v - mean[c]) / std[c];
    }
  }
  return { x, shape: [1, channels, size, size], preview: { rgba, size } };
}

/** Draws a preview (digit bytes or RGBA pixels) scaled up on a canvas. */
export function drawPreview(target, { bytes, rgba, size }) {
  const [c, ctx] = canvas(size, size);
  const img = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    if (bytes) img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = bytes[i];
    else { img.data[4 * i] = rgba[4 * i]; img.data[4 * i + 1] = rgba[4 * i + 1]; img.data[4 * i + 2] = rgba[4 * i + 2]; }
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  const t = target.getContext('2d');
  t.imageSmoothingEnabled = false;
  t.clearRect(0, 0, target.width, target.height);
  t.drawImage(c, 0, 0, target.width, target.height);
}
