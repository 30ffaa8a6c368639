// A raw DEFLATE decoder (RFC 1951) and CRC-32, for ZIP archives, without dependencies.
//
// torch.save stores its entries uncompressed, but a checkpoint re-zipped by another tool is
// deflated; browsers' DecompressionStream is asynchronous and Node's zlib is Node-only, so this
// small synchronous decoder keeps the readers synchronous and portable. It follows zlib's "puff"
// reference decoder (canonical Huffman codes decoded bit by bit): simple and obviously bounded
// rather than fast. Speed matters little here: it only runs on re-compressed checkpoints.
//
// Safety: the output size is given by the caller (the ZIP directory), so the output is allocated
// once and every write and back-reference is checked against it; every read is checked against
// the input, and every decoded symbol consumes at least one bit, so the loop always ends.

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
  2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** The order in which code-length code lengths are sent (RFC 1951 3.2.7). */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman code: how many codes of each length, and the symbols in code order. */
interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
}

function buildHuffman(lengths: ArrayLike<number>, n: number, what: string): Huffman {
  const count = new Uint16Array(16);
  for (let s = 0; s < n; s++) count[lengths[s]]++;
  // An over-subscribed code is invalid; an incomplete one is legal (a single distance code).
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - count[len];
    if (left < 0) throw new Error(`${what}: corrupt deflate data (over-subscribed Huffman code)`);
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]]++] = s;
  return { count, symbol };
}

let fixedCodes: [Huffman, Huffman] | null = null;
function fixed(): [Huffman, Huffman] {
  if (!fixedCodes) {
    const l = new Uint8Array(288);
    l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixedCodes = [buildHuffman(l, 288, 'fixed'), buildHuffman(new Uint8Array(30).fill(5), 30, 'fixed')];
  }
  return fixedCodes;
}

class Inflater {
  private pos = 0;
  private bitBuf = 0;
  private bitCnt = 0;
  private outPos = 0;

  constructor(private readonly src: Uint8Array, private readonly out: Uint8Array, private readonly what: string,
    /** where the expected size comes from, for messages: 'the archive directory says' */
    private readonly sizeFrom = 'the archive directory says') {}

  private fail(why: string): never {
    throw new Error(`${this.what}: corrupt deflate data (${why}) at input byte ${this.pos}`);
  }

  private bits(n: number): number {
    while (this.bitCnt < n) {
      if (this.pos >= this.src.length) this.fail('stream ends early: truncated');
      this.bitBuf |= this.src[this.pos++] << this.bitCnt;
      this.bitCnt += 8;
    }
    const v = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCnt -= n;
    return v;
  }

  private decode(h: Huffman): number {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= this.bits(1);
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    return this.fail('invalid Huffman code');
  }

  private stored(): void {
    this.bitBuf = 0; // a stored block starts at a byte boundary
    this.bitCnt = 0;
    if (this.pos + 4 > this.src.length) this.fail('stored block header truncated');
    const s = this.src;
    const len = s[this.pos] | (s[this.pos + 1] << 8);
    const nlen = s[this.pos + 2] | (s[this.pos + 3] << 8);
    this.pos += 4;
    if (len !== (~nlen & 0xffff)) this.fail('stored block length check fails');
    if (this.pos + len > s.length) this.fail('stored block truncated');
    if (this.outPos + len > this.out.length) this.tooLong();
    this.out.set(s.subarray(this.pos, this.pos + len), this.outPos);
    this.pos += len;
    this.outPos += len;
  }

  private tooLong(): never {
    throw new Error(`${this.what}: corrupt deflate data: inflates to more than the ${this.out.length} bytes ` +
      this.sizeFrom);
  }

  private codes(lit: Huffman, dist: Huffman): void {
    const out = this.out;
    for (;;) {
      let sym = this.decode(lit);
      if (sym < 256) {
        if (this.outPos >= out.length) this.tooLong();
        out[this.outPos++] = sym;
      } else if (sym === 256) {
        return;
      } else {
        sym -= 257;
        if (sym >= 29) this.fail(`invalid length symbol ${sym + 257}`);
        const len = LEN_BASE[sym] + this.bits(LEN_EXTRA[sym]);
        const ds = this.decode(dist);
        if (ds >= 30) this.fail(`invalid distance symbol ${ds}`);
        const d = DIST_BASE[ds] + this.bits(DIST_EXTRA[ds]);
        if (d > this.outPos) this.fail(`distance ${d} reaches before the start of the output`);
        if (this.outPos + len > out.length) this.tooLong();
        // Byte by byte: source and destination overlap when d < len (a run).
        for (let i = 0; i < len; i++, this.outPos++) out[this.outPos] = out[this.outPos - d];
      }
    }
  }

  private dynamic(): void {
    const nlen = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncode = this.bits(4) + 4;
    if (nlen > 286 || ndist > 30) this.fail('bad code counts');
    const lengths = new Uint8Array(320);
    for (let i = 0; i < ncode; i++) lengths[CLEN_ORDER[i]] = this.bits(3);
    const lencode = buildHuffman(lengths, 19, this.what);
    lengths.fill(0);
    let i = 0;
    while (i < nlen + ndist) {
      const sym = this.decode(lencode);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      let len = 0;
      let rep: number;
      if (sym === 16) {
        if (i === 0) this.fail('repeat with no previous length');
        len = lengths[i - 1];
        rep = 3 + this.bits(2);
      } else if (sym === 17) {
        rep = 3 + this.bits(3);
      } else {
        rep = 11 + this.bits(7);
      }
      if (i + rep > nlen + ndist) this.fail('too many code lengths');
      while (rep--) lengths[i++] = len;
    }
    if (lengths[256] === 0) this.fail('no end-of-block code');
    const lit = buildHuffman(lengths, nlen, this.what);
    const dist = buildHuffman(lengths.subarray(nlen), ndist, this.what);
    this.codes(lit, dist);
  }

  /** Inflates everything; returns the input bytes consumed (the stream ends inside the last). */
  run(): number {
    let last = 0;
    while (!last) {
      last = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) this.codes(...fixed());
      else if (type === 2) this.dynamic();
      else this.fail('invalid block type 3');
    }
    if (this.outPos !== this.out.length) {
      throw new Error(`${this.what}: corrupt deflate data: inflates to ${this.outPos} bytes, ` +
        `${this.sizeFrom} ${this.out.length}`);
    }
    return this.pos;
  }
}

/**
 * Inflates raw DEFLATE data `src` that must produce exactly `size` bytes. Throws an Error naming
 * `what` on corrupt or truncated input or a size mismatch.
 */
export function inflateRaw(src: Uint8Array, size: number, what: string): Uint8Array {
  const out = new Uint8Array(size);
  new Inflater(src, out, what).run();
  return out;
}

/**
 * Inflates a zlib stream (RFC 1950: a 2-byte header, raw DEFLATE, the Adler-32 of the output),
 * as PNG stores its pixels, that must produce exactly `size` bytes (`sizeFrom` says where that
 * size comes from, for messages). Checks the header and the checksum. Bytes after the checksum
 * are ignored, as libpng does (a benign error there: they hold no pixels). Throws an Error naming
 * `what`.
 */
export function inflateZlib(src: Uint8Array, size: number, what: string, sizeFrom: string): Uint8Array {
  if (src.length < 2) throw new Error(`${what}: zlib stream of ${src.length} bytes is too short (truncated)`);
  const cmf = src[0];
  const flg = src[1];
  if ((cmf & 15) !== 8 || cmf >> 4 > 7) throw new Error(`${what}: not a zlib deflate stream (header byte 0x${cmf.toString(16).padStart(2, '0')})`);
  if ((cmf * 256 + flg) % 31 !== 0) throw new Error(`${what}: corrupt zlib header (check bits)`);
  if (flg & 0x20) throw new Error(`${what}: zlib stream needs a preset dictionary, which PNG never uses`);
  const out = new Uint8Array(size);
  const body = src.subarray(2);
  const used = new Inflater(body, out, what, sizeFrom).run();
  if (body.length < used + 4) throw new Error(`${what}: zlib stream ends before its Adler-32 checksum (truncated)`);
  const stored = ((body[used] << 24) | (body[used + 1] << 16) | (body[used + 2] << 8) | body[used + 3]) >>> 0;
  const actual = adler32(out);
  if (stored !== actual) {
    throw new Error(`${what}: Adler-32 checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${actual.toString(16)}): corrupt data`);
  }
  return out;
}

/** Adler-32 (zlib's checksum), as an unsigned 32-bit number. */
export function adler32(b: Uint8Array): number {
  let a = 1;
  let s = 0;
  // 5552 bytes is the longest run whose sums stay below 2^32 before the modulo (zlib's NMAX).
  for (let i = 0; i < b.length;) {
    const end = Math.min(b.length, i + 5552);
    for (; i < end; i++) {
      a += b[i];
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (the ZIP / zlib polynomial 0xEDB88320), as an unsigned 32-bit number. */
export function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = t[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
