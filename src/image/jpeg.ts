// A JPEG decoder of our own: baseline and extended sequential (SOF0/SOF1) and progressive (SOF2)
// Huffman-coded 8-bit images; 1 (gray), 3 (YCbCr or RGB) or 4 (CMYK or YCCK, Adobe) components;
// any integral chroma subsampling (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, ...); restart markers;
// interleaved and non-interleaved scans.
//
// Why our own and not a dependency: the library has no runtime dependencies (it runs in browsers
// and Node alike, from one package), and the decoders on npm either pull native bindings (sharp)
// or decode with float IDCTs and their own upsampling, so their pixels differ from PIL's by a few
// levels, and models trained with torchvision see PIL's pixels. This one follows libjpeg-turbo
// (which PIL uses) step for step where it shapes pixels: the islow integer IDCT (jpeg-idct.ts),
// fancy upsampling and the fixed-point colour tables (jpeg-color.ts). The tests compare it with PIL
// on files from PIL, cjpeg and jpegtran.
//
// Not supported, with an error saying so: arithmetic coding (SOF9-15), lossless (SOF3),
// hierarchical (SOF5-7), 12- and 16-bit samples, 2-component images, a height given by DNL.
//
// Safety: the image size is checked against maxImagePixels, and the file must have at least one
// bit per 8x8 block after its frame header before any plane is allocated (each block costs at
// least one Huffman code), so a small file cannot make us allocate for a huge image. Every read is
// bounds-checked; a scan that runs out of data, a Huffman code that does not exist, a coefficient
// index past 63 or a missing restart marker is an error naming the scan and the block, never
// silently zero-filled pixels.
import { checkImageSize, type DecodedImage, type ImageLimits } from './image.js';
import { cmykToRgb, upsample, yccToRgb } from './jpeg-color.js';
import { idctIslow } from './jpeg-idct.js';

/** Zigzag position k -> natural (row-major) index. */
const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
]);

/** True if the bytes start with a JPEG SOI marker and another marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** A Huffman table: a 9-bit lookup for short codes, canonical limits for the rest. */
interface Huffman {
  /** (length << 8) | symbol for codes up to 9 bits, indexed by the next 9 bits; 0: longer */
  fast: Uint16Array;
  /** largest code of each length 1..16 (-1: none), and where its symbols start */
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  symbols: Uint8Array;
}

const FAST_BITS = 9;

function buildHuffman(counts: Uint8Array, symbols: Uint8Array, where: string): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const mincode = new Int32Array(17);
  const valptr = new Int32Array(17);
  const fast = new Uint16Array(1 << FAST_BITS);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valptr[len] = k;
      mincode[len] = code;
      for (let i = 0; i < n; i++, k++, code++) {
        if (code >= 1 << len) throw new Error(`${where}: corrupt Huffman table (more codes of length ${len} than fit)`);
        if (len <= FAST_BITS) {
          const shift = FAST_BITS - len;
          for (let j = 0; j < 1 << shift; j++) fast[(code << shift) | j] = (len << 8) | symbols[k];
        }
      }
      maxcode[len] = code - 1;
    }
    // The next code must still fit: the all-ones code of each length is reserved (libjpeg's check).
    if (code >= 1 << len) throw new Error(`${where}: corrupt Huffman table (more codes of length ${len} than fit)`);
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff; // a sentinel: the slow loop always ends
  return { fast, maxcode, valptr, mincode, symbols };
}

interface Component {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** blocks of the component's own area (what a non-interleaved scan covers) */
  blocksW: number;
  blocksH: number;
  /** blocks allocated: the MCU grid's (interleaved scans cover these, padding included) */
  allocW: number;
  allocH: number;
  coefs: Int16Array;
  /** the quantization table latched at the component's first scan (as libjpeg does) */
  quant: Uint16Array | null;
  dcTable: number;
  acTable: number;
  pred: number;
  /** progressive: has a DC first scan been seen; sequential: has the component been scanned */
  scanned: boolean;
}

interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
  components: Component[];
}

/** Reads entropy-coded data bit by bit, unstuffing 0xFF 0x00 and stopping at markers. */
class BitReader {
  pos: number;
  /** the low `cnt` bits are unread (the bits above are stale and shift out as bytes come in) */
  private buf = 0;
  private cnt = 0;
  /** zero bytes supplied past a marker or the end: bits of these must never be consumed */
  private fake = 0;

  constructor(private readonly d: Uint8Array, start: number, private readonly where: () => string) {
    this.pos = start;
  }

  private fill(): void {
    while (this.cnt <= 24) {
      let byte = 0;
      if (this.fake === 0 && this.pos < this.d.length) {
        byte = this.d[this.pos];
        if (byte === 0xff) {
          const next = this.pos + 1 < this.d.length ? this.d[this.pos + 1] : -1;
          if (next === 0x00) {
            this.pos += 2;
          } else {
            this.fake++; // a marker (or the end): the data of this segment is over
            byte = 0;
          }
        } else {
          this.pos++;
        }
      } else {
        this.fake++;
      }
      this.buf = (this.buf << 8) | byte;
      this.cnt += 8;
    }
  }

  private consumed(n: number): void {
    this.cnt -= n;
    if (this.cnt < this.fake * 8) {
      throw new Error(`jpeg: the entropy-coded data ends early at ${this.where()}: truncated or corrupt file`);
    }
  }

  bits(n: number): number {
    if (n === 0) return 0;
    if (this.cnt < n) this.fill();
    const v = (this.buf >>> (this.cnt - n)) & ((1 << n) - 1);
    this.consumed(n);
    return v;
  }

  bit(): number {
    return this.bits(1);
  }

  /** A Huffman-coded symbol. */
  decode(t: Huffman): number {
    if (this.cnt < 16) this.fill();
    const peek = (this.buf >>> (this.cnt - FAST_BITS)) & ((1 << FAST_BITS) - 1);
    const f = t.fast[peek];
    if (f !== 0) {
      this.consumed(f >> 8);
      return f & 255;
    }
    let len = FAST_BITS + 1;
    let code = (this.buf >>> (this.cnt - len)) & ((1 << len) - 1);
    while (len <= 16 && code > t.maxcode[len]) {
      len++;
      code = (this.buf >>> (this.cnt - len)) & ((1 << len) - 1);
    }
    if (len > 16) throw new Error(`jpeg: corrupt data at ${this.where()}: a Huffman code that is not in the table`);
    this.consumed(len);
    return t.symbols[t.valptr[len] + code - t.mincode[len]];
  }

  /** s bits as a signed value (JPEG's EXTEND). */
  receiveExtend(s: number): number {
    if (s === 0) return 0;
    if (s > 16) throw new Error(`jpeg: corrupt data at ${this.where()}: a coefficient of ${s} bits`);
    const v = this.bits(s);
    return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
  }

  /** Drops the bits left in the current byte and returns the byte position (at a marker). */
  align(): number {
    this.buf = 0;
    this.cnt = 0;
    this.fake = 0;
    return this.pos;
  }
}

function u16(d: Uint8Array, o: number): number {
  return (d[o] << 8) | d[o + 1];
}

/**
 * Decodes a JPEG file to 8-bit gray (1 channel) or RGB (3 channels; CMYK and YCCK converted as
 * PIL's convert('RGB') does). `limits.maxImagePixels` bounds the image (default: PIL's 89,478,485).
 * Throws an Error saying what is wrong for a truncated, corrupt or unsupported file.
 */
export function decodeJpeg(bytes: Uint8Array, limits: ImageLimits = {}): DecodedImage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeJpeg: expected the bytes of a file (Uint8Array)');
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error('jpeg: not a JPEG file (no SOI marker)');
  const quant: (Uint16Array | null)[] = [null, null, null, null];
  const dc: (Huffman | null)[] = [null, null, null, null];
  const ac: (Huffman | null)[] = [null, null, null, null];
  let frame: Frame | null = null;
  let restartInterval = 0;
  let adobe: number | null = null;
  let jfif = false;
  let scans = 0;
  let ended = false;
  let pos = 2;
  while (pos < bytes.length) {
    if (bytes[pos] !== 0xff) {
      // Stray bytes between segments: libjpeg skips them with a warning; so do we.
      pos++;
      continue;
    }
    const marker = bytes[pos + 1];
    if (marker === undefined) break;
    if (marker === 0xff) { pos++; continue; } // fill byte
    pos += 2;
    if (marker === 0xd9) { ended = true; break; } // EOI
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // TEM, stray RSTn: no length
    if (marker === 0xd8) throw new Error(`jpeg: a second SOI marker at byte ${pos - 2}`);
    if (pos + 2 > bytes.length) throw new Error(`jpeg: marker 0x${marker.toString(16)} at byte ${pos - 2} is cut short: truncated file`);
    const len = u16(bytes, pos);
    if (len < 2) throw new Error(`jpeg: marker 0x${marker.toString(16)} at byte ${pos - 2} has length ${len}`);
    if (pos + len > bytes.length) {
      throw new Error(`jpeg: marker 0x${marker.toString(16)} at byte ${pos - 2} needs ${len} bytes, the file has ${bytes.length - pos} left: truncated file`);
    }
    const seg = bytes.subarray(pos + 2, pos + len);
    const at = pos - 2;
    pos += len;
    switch (marker) {
      case 0xdb: readQuant(seg, quant); break;
      case 0xc4: readHuffman(seg, dc, ac); break;
      case 0xdd:
        if (seg.length < 2) throw new Error('jpeg: DRI segment is too short');
        restartInterval = u16(seg, 0);
        break;
      case 0xe0:
        if (seg.length >= 5 && seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 && seg[3] === 0x46 && seg[4] === 0) jfif = true;
        break;
      case 0xee:
        // Adobe: "Adobe", version, flags0, flags1, transform (0 none/CMYK/RGB, 1 YCbCr, 2 YCCK).
        if (seg.length >= 12 && seg[0] === 0x41 && seg[1] === 0x64 && seg[2] === 0x6f && seg[3] === 0x62 && seg[4] === 0x65) adobe = seg[11];
        break;
      case 0xc0: case 0xc1: case 0xc2:
        if (frame) throw new Error(`jpeg: a second frame header at byte ${at}`);
        frame = readFrame(seg, marker === 0xc2, limits);
        // One bit per block at least must follow (see the top of the file) before we allocate.
        if (blockCount(frame) > (bytes.length - pos) * 8) {
          throw new Error(`jpeg: ${bytes.length - pos} bytes of data cannot hold a ${frame.width}x${frame.height} image ` +
            `(${blockCount(frame)} blocks): truncated or corrupt file`);
        }
        for (const c of frame.components) c.coefs = new Int16Array(c.allocW * c.allocH * 64);
        break;
      case 0xc3: case 0xc5: case 0xc6: case 0xc7:
        throw new Error(`jpeg: ${marker === 0xc3 ? 'lossless' : 'hierarchical'} JPEG (SOF${marker - 0xc0}) is not supported`);
      case 0xc9: case 0xca: case 0xcb: case 0xcd: case 0xce: case 0xcf:
        throw new Error(`jpeg: arithmetic-coded JPEG (SOF${marker - 0xc0}) is not supported`);
      case 0xcc:
        throw new Error('jpeg: arithmetic coding (DAC) is not supported');
      case 0xda: {
        if (!frame) throw new Error(`jpeg: a scan (SOS) at byte ${at} before the frame header`);
        pos = readScan(bytes, seg, pos, frame, quant, dc, ac, restartInterval, ++scans);
        break;
      }
      case 0xdc:
        throw new Error('jpeg: the image height is given by a DNL marker, which is not supported');
      default:
        // APPn, COM and others: nothing that changes pixels.
        break;
    }
  }
  if (!frame) throw new Error('jpeg: no frame header (SOF): truncated or not an image');
  if (scans === 0) throw new Error('jpeg: no image data (SOS): truncated file');
  const f: Frame = frame;
  const missing = f.components.filter((c) => !c.scanned).map((c) => c.id);
  if (missing.length > 0) {
    throw new Error(`jpeg: component${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
      `${f.progressive ? 'never had a DC scan' : 'never scanned'}: truncated or corrupt file`);
  }
  // A progressive file refines its image scan by scan: without EOI, scans may be missing.
  if (f.progressive && !ended) throw new Error('jpeg: the progressive file ends without EOI: truncated file (scans may be missing)');
  return output(f, adobe, jfif);
}

function readQuant(seg: Uint8Array, quant: (Uint16Array | null)[]): void {
  let p = 0;
  while (p < seg.length) {
    const pq = seg[p] >> 4;
    const tq = seg[p] & 15;
    if (pq > 1 || tq > 3) throw new Error(`jpeg: DQT table ${tq} with precision ${pq}: corrupt (tables 0-3, precision 0 or 1)`);
    const size = pq === 0 ? 64 : 128;
    if (p + 1 + size > seg.length) throw new Error('jpeg: DQT segment is cut short');
    const t = new Uint16Array(64);
    for (let k = 0; k < 64; k++) t[ZIGZAG[k]] = pq === 0 ? seg[p + 1 + k] : u16(seg, p + 1 + 2 * k);
    quant[tq] = t;
    p += 1 + size;
  }
}

function readHuffman(seg: Uint8Array, dc: (Huffman | null)[], ac: (Huffman | null)[]): void {
  let p = 0;
  while (p < seg.length) {
    if (p + 17 > seg.length) throw new Error('jpeg: DHT segment is cut short');
    const tc = seg[p] >> 4;
    const th = seg[p] & 15;
    if (tc > 1 || th > 3) throw new Error(`jpeg: DHT table class ${tc}, id ${th}: corrupt (class 0 or 1, id 0-3)`);
    const counts = seg.subarray(p + 1, p + 17);
    let total = 0;
    for (let i = 0; i < 16; i++) total += counts[i];
    if (total > 256 || p + 17 + total > seg.length) throw new Error(`jpeg: DHT table with ${total} symbols is corrupt or cut short`);
    const t = buildHuffman(counts, seg.slice(p + 17, p + 17 + total), `jpeg: DHT ${tc === 0 ? 'DC' : 'AC'} table ${th}`);
    (tc === 0 ? dc : ac)[th] = t;
    p += 17 + total;
  }
}

function readFrame(seg: Uint8Array, progressive: boolean, limits: ImageLimits): Frame {
  if (seg.length < 6) throw new Error('jpeg: frame header (SOF) is cut short');
  const precision = seg[0];
  if (precision !== 8) throw new Error(`jpeg: ${precision}-bit samples are not supported (8-bit only)`);
  const height = u16(seg, 1);
  const width = u16(seg, 3);
  const n = seg[5];
  if (height === 0) throw new Error('jpeg: the image height is given by a DNL marker, which is not supported');
  if (n !== 1 && n !== 3 && n !== 4) throw new Error(`jpeg: ${n} components are not supported (1 gray, 3 colour, 4 CMYK)`);
  if (seg.length < 6 + 3 * n) throw new Error('jpeg: frame header (SOF) is cut short');
  checkImageSize(width, height, limits, 'jpeg');
  const components: Component[] = [];
  for (let i = 0; i < n; i++) {
    const id = seg[6 + 3 * i];
    const h = seg[7 + 3 * i] >> 4;
    const v = seg[7 + 3 * i] & 15;
    const tq = seg[8 + 3 * i];
    if (h < 1 || h > 4 || v < 1 || v > 4) throw new Error(`jpeg: component ${id} has sampling factors ${h}x${v} (1 to 4 each)`);
    if (tq > 3) throw new Error(`jpeg: component ${id} uses quantization table ${tq} (0 to 3)`);
    if (components.some((c) => c.id === id)) throw new Error(`jpeg: two components with id ${id}`);
    components.push({ id, h, v, tq, blocksW: 0, blocksH: 0, allocW: 0, allocH: 0, coefs: new Int16Array(0), quant: null,
      dcTable: 0, acTable: 0, pred: 0, scanned: false });
  }
  const hmax = Math.max(...components.map((c) => c.h));
  const vmax = Math.max(...components.map((c) => c.v));
  for (const c of components) {
    if (hmax % c.h !== 0 || vmax % c.v !== 0) {
      throw new Error(`jpeg: component ${c.id}'s sampling ${c.h}x${c.v} does not divide the largest ${hmax}x${vmax} (not supported, as in libjpeg)`);
    }
  }
  const mcusX = Math.ceil(width / (8 * hmax));
  const mcusY = Math.ceil(height / (8 * vmax));
  for (const c of components) {
    c.blocksW = Math.ceil(Math.ceil((width * c.h) / hmax) / 8);
    c.blocksH = Math.ceil(Math.ceil((height * c.v) / vmax) / 8);
    c.allocW = mcusX * c.h;
    c.allocH = mcusY * c.v;
  }
  return { progressive, width, height, hmax, vmax, mcusX, mcusY, components };
}

function blockCount(f: Frame): number {
  return f.components.reduce((s, c) => s + c.blocksW * c.blocksH, 0);
}

/** Decodes one scan (header `seg`, data from `start`); returns the position after its data. */
function readScan(bytes: Uint8Array, seg: Uint8Array, start: number, f: Frame, quant: (Uint16Array | null)[],
  dcT: (Huffman | null)[], acT: (Huffman | null)[], restartInterval: number, scanNo: number): number {
  if (seg.length < 1) throw new Error('jpeg: scan header (SOS) is cut short');
  const ns = seg[0];
  if (ns < 1 || ns > 4 || seg.length < 1 + 2 * ns + 3) throw new Error(`jpeg: scan ${scanNo} header is corrupt (${ns} components)`);
  const comps: Component[] = [];
  for (let i = 0; i < ns; i++) {
    const id = seg[1 + 2 * i];
    const c = f.components.find((x) => x.id === id);
    if (!c) throw new Error(`jpeg: scan ${scanNo} names component ${id}, which the frame does not have`);
    if (comps.includes(c)) throw new Error(`jpeg: scan ${scanNo} names component ${id} twice`);
    c.dcTable = seg[2 + 2 * i] >> 4;
    c.acTable = seg[2 + 2 * i] & 15;
    comps.push(c);
  }
  const ss = seg[1 + 2 * ns];
  const se = seg[2 + 2 * ns];
  const ah = seg[3 + 2 * ns] >> 4;
  const al = seg[3 + 2 * ns] & 15;
  const where = `scan ${scanNo}`;
  if (f.progressive) {
    if (ss > se || se > 63 || (ss === 0 && se !== 0) || (ss > 0 && ns !== 1) || ah > 13 || al > 13) {
      throw new Error(`jpeg: ${where} has invalid progression parameters (Ss ${ss}, Se ${se}, Ah ${ah}, Al ${al}, ${ns} components)`);
    }
  }
  // The tables each kind of scan uses must exist.
  const dcFirst = !f.progressive || (ss === 0 && ah === 0);
  const acScan = !f.progressive || ss > 0;
  for (const c of comps) {
    if (c.dcTable > 3 || c.acTable > 3) throw new Error(`jpeg: ${where}: component ${c.id} names Huffman table ${Math.max(c.dcTable, c.acTable)} (0 to 3)`);
    if (dcFirst && !dcT[c.dcTable]) throw new Error(`jpeg: ${where}: component ${c.id} uses DC Huffman table ${c.dcTable}, which was never defined`);
    if (acScan && !acT[c.acTable]) throw new Error(`jpeg: ${where}: component ${c.id} uses AC Huffman table ${c.acTable}, which was never defined`);
    if (!c.quant) {
      const q = quant[c.tq];
      if (!q) throw new Error(`jpeg: component ${c.id} uses quantization table ${c.tq}, which was never defined`);
      c.quant = q.slice(); // latched at the component's first scan, as libjpeg does
    }
    c.pred = 0;
  }
  // Which blocks the scan covers: one component alone is not interleaved (its own block grid).
  const single = comps.length === 1;
  const c0 = comps[0];
  const unitsX = single ? c0.blocksW : f.mcusX;
  const unitsY = single ? c0.blocksH : f.mcusY;
  const total = unitsX * unitsY;
  let unit = 0;
  let eobrun = 0;
  const reader = new BitReader(bytes, start, () => `${where}, ${single ? 'block' : 'MCU'} ${unit} of ${total}`);

  const decodeBlock = (c: Component, bx: number, by: number): void => {
    const o = (by * c.allocW + bx) * 64;
    const coefs = c.coefs;
    if (!f.progressive) {
      const t = reader.decode(dcT[c.dcTable]!);
      // The prediction is an int in libjpeg; the coefficient a 16-bit JCOEF (Int16Array).
      c.pred += reader.receiveExtend(t);
      coefs[o] = c.pred;
      const act = acT[c.acTable]!;
      for (let k = 1; k < 64;) {
        const rs = reader.decode(act);
        const s = rs & 15;
        const r = rs >> 4;
        if (s) {
          k += r;
          if (k > 63) throw new Error(`jpeg: corrupt data at ${where}: a coefficient past the end of the block`);
          coefs[o + ZIGZAG[k]] = reader.receiveExtend(s);
          k++;
        } else if (r === 15) {
          k += 16;
        } else {
          break;
        }
      }
    } else if (ss === 0) {
      if (ah === 0) {
        const t = reader.decode(dcT[c.dcTable]!);
        c.pred += reader.receiveExtend(t);
        coefs[o] = c.pred * (1 << al);
      } else if (reader.bit()) {
        coefs[o] |= 1 << al;
      }
    } else if (ah === 0) {
      acFirst(o, coefs, acT[c.acTable]!);
    } else {
      acRefine(o, coefs, acT[c.acTable]!);
    }
  };

  const acFirst = (o: number, coefs: Int16Array, t: Huffman): void => {
    if (eobrun > 0) {
      eobrun--;
      return;
    }
    for (let k = ss; k <= se; k++) {
      const rs = reader.decode(t);
      const r = rs >> 4;
      const s = rs & 15;
      if (s) {
        k += r;
        if (k > se) throw new Error(`jpeg: corrupt data at ${where}: a coefficient past the end of the band`);
        coefs[o + ZIGZAG[k]] = reader.receiveExtend(s) * (1 << al);
      } else if (r === 15) {
        k += 15;
      } else {
        eobrun = (1 << r) - 1;
        if (r) eobrun += reader.bits(r);
        break;
      }
    }
  };

  const acRefine = (o: number, coefs: Int16Array, t: Huffman): void => {
    const p1 = 1 << al;
    const m1 = -1 << al;
    let k = ss;
    if (eobrun === 0) {
      for (; k <= se; k++) {
        const rs = reader.decode(t);
        let r = rs >> 4;
        let s = rs & 15;
        if (s) {
          // s must be 1 here; libjpeg warns and goes on, as we do.
          s = reader.bit() ? p1 : m1;
        } else if (r !== 15) {
          eobrun = 1 << r;
          if (r) eobrun += reader.bits(r);
          break;
        }
        // Skip r zero coefficients (correcting the nonzero ones passed on the way), then place s.
        do {
          const z = o + ZIGZAG[k];
          if (coefs[z] !== 0) {
            if (reader.bit() && (coefs[z] & p1) === 0) coefs[z] += coefs[z] >= 0 ? p1 : m1;
          } else if (--r < 0) {
            break;
          }
          k++;
        } while (k <= se);
        if (s) {
          if (k > se) throw new Error(`jpeg: corrupt data at ${where}: a refinement past the end of the band`);
          coefs[o + ZIGZAG[k]] = s;
        }
      }
    }
    if (eobrun > 0) {
      // The rest of the band after an end-of-band: correction bits for the nonzero coefficients.
      for (; k <= se; k++) {
        const z = o + ZIGZAG[k];
        if (coefs[z] !== 0 && reader.bit() && (coefs[z] & p1) === 0) coefs[z] += coefs[z] >= 0 ? p1 : m1;
      }
      eobrun--;
    }
  };

  let restarts = 0;
  for (unit = 0; unit < total; unit++) {
    if (restartInterval > 0 && unit > 0 && unit % restartInterval === 0) {
      // A restart: the data up to here ends at a byte boundary, then RSTn with n counting mod 8.
      let p = reader.align();
      // Bytes between the interval's data and its marker: libjpeg skips them with a warning.
      while (p + 1 < bytes.length && !(bytes[p] === 0xff && bytes[p + 1] !== 0 && bytes[p + 1] !== 0xff)) p++;
      const m = bytes[p + 1];
      if (bytes[p] !== 0xff || m === undefined || m < 0xd0 || m > 0xd7) {
        throw new Error(`jpeg: ${where}: no restart marker before ${single ? 'block' : 'MCU'} ${unit} of ${total}: truncated or corrupt file`);
      }
      if (m !== 0xd0 + (restarts & 7)) throw new Error(`jpeg: ${where}: restart marker RST${m - 0xd0} out of order (expected RST${restarts & 7})`);
      restarts++;
      reader.pos = p + 2;
      for (const c of comps) c.pred = 0;
      eobrun = 0;
    }
    if (single) {
      decodeBlock(c0, unit % unitsX, Math.floor(unit / unitsX));
    } else {
      const mx = unit % unitsX;
      const my = Math.floor(unit / unitsX);
      for (const c of comps) {
        for (let v = 0; v < c.v; v++) for (let h = 0; h < c.h; h++) decodeBlock(c, mx * c.h + h, my * c.v + v);
      }
    }
  }
  if (dcFirst) for (const c of comps) c.scanned = true;
  return reader.align();
}

/** IDCT of every block, upsampling and colour conversion. */
function output(f: Frame, adobe: number | null, jfif: boolean): DecodedImage {
  const { width, height } = f;
  const planes = f.components.map((c) => {
    const stride = c.allocW * 8;
    const data = new Uint8Array(stride * c.allocH * 8);
    const q = c.quant!;
    for (let by = 0; by < c.allocH; by++) {
      for (let bx = 0; bx < c.allocW; bx++) idctIslow(c.coefs, (by * c.allocW + bx) * 64, q, data, by * 8 * stride + bx * 8, stride);
    }
    return upsample({ data, stride, width: Math.ceil((width * c.h) / f.hmax), height: Math.ceil((height * c.v) / f.vmax), h: c.h, v: c.v },
      f.hmax, f.vmax, width, height);
  });
  if (planes.length === 1) return { width, height, channels: 1, bitDepth: 8, data: planes[0] };
  const out = new Uint8Array(width * height * 3);
  if (planes.length === 3) {
    // libjpeg-turbo's rule (jdapimin.c): JFIF means YCbCr; else Adobe's transform; else the ids.
    const ids = f.components.map((c) => c.id).join();
    const rgb = !jfif && (adobe !== null ? adobe === 0 : ids === '82,71,66');
    if (rgb) {
      for (let i = 0; i < width * height; i++) {
        out[i * 3] = planes[0][i];
        out[i * 3 + 1] = planes[1][i];
        out[i * 3 + 2] = planes[2][i];
      }
    } else {
      yccToRgb(planes[0], planes[1], planes[2], out);
    }
  } else {
    // Four components: CMYK, or YCCK when Adobe's transform says 2 (libjpeg: any non-zero).
    cmykToRgb(planes[0], planes[1], planes[2], planes[3], adobe !== null && adobe !== 0, out);
  }
  return { width, height, channels: 3, bitDepth: 8, data: out };
}
