// A ZIP archive reader over a Uint8Array (PKWARE APPNOTE 6.3): enough for PyTorch checkpoints.
//
// torch.save writes a ZIP (miniz) with stored (uncompressed) entries, aligned to 64 bytes, and
// ZIP64 records once the archive passes 4 GiB. We read the central directory (the authority on
// names, sizes and offsets), check every entry's local header and data range against the
// buffer up front, and hand out stored entries as zero-copy subarrays. Deflated entries (an
// archive re-zipped by another tool) go through ./inflate.ts, within the caller's budget: the
// directory's size is charged before anything is allocated, and the inflater never writes past it.
import { ByteReader, decodeLatin1, decodeUtf8 } from './bytes.js';
import { crc32, inflateRaw } from './inflate.js';
import type { DecompressionBudget } from './limits.js';

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
/** DEFLATE cannot expand data by more than about 1032:1; a larger claimed ratio is corruption. */
const MAX_DEFLATE_RATIO = 1032;

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate (the only ones supported). */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  /** Byte offset of the entry's data in the archive. */
  dataOffset: number;
  encrypted: boolean;
}

export interface ZipReadOptions {
  /** Check each entry's CRC-32 when it is read (default true: catches corrupt data cheaply). */
  verifyCrc?: boolean;
}

/** An entry name for a message (names can be 65,535 bytes long). */
function short(name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}...` : name;
}

/** True if `bytes` starts like a ZIP archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4;
}

/** Position of the end-of-central-directory record, searching back over a comment. */
function findEocd(bytes: Uint8Array, what: string): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lowest = Math.max(0, bytes.length - EOCD_SIZE - 0xffff);
  for (let p = bytes.length - EOCD_SIZE; p >= lowest; p--) {
    // The comment length must reach exactly to the end, which rules out stray signatures in data.
    if (dv.getUint32(p, true) === SIG_EOCD && p + EOCD_SIZE + dv.getUint16(p + 20, true) === bytes.length) return p;
  }
  for (let p = bytes.length - EOCD_SIZE; p >= lowest; p--) {
    if (dv.getUint32(p, true) === SIG_EOCD) return p; // tolerate trailing bytes after the record
  }
  const why = looksLikeZip(bytes)
    ? 'it starts like a ZIP archive but has no end-of-central-directory record: the file is truncated'
    : 'not a ZIP archive (no end-of-central-directory record)';
  throw new Error(`${what}: ${why}`);
}

interface Directory { count: number; size: number; offset: number }

function readDirectoryLocation(bytes: Uint8Array, eocd: number, what: string): Directory {
  const r = new ByteReader(bytes, what, eocd + 4);
  const disk = r.u16();
  const cdDisk = r.u16();
  const countHere = r.u16();
  let count = r.u16();
  let size = r.u32();
  let offset = r.u32();
  // 0xffff means "see the ZIP64 record"; any other non-zero disk number means a split archive.
  if ((disk !== 0 && disk !== 0xffff) || (cdDisk !== 0 && cdDisk !== 0xffff) || countHere !== count) {
    throw new Error(`${what}: multi-disk (split) ZIP archives are not supported`);
  }
  const loc = eocd - 20;
  const hasLocator = loc >= 0 && new DataView(bytes.buffer, bytes.byteOffset + loc, 4).getUint32(0, true) === SIG_ZIP64_LOCATOR;
  // Saturated fields without a locator are taken literally (an archive of exactly 65535 entries).
  if (hasLocator && (count === 0xffff || size === 0xffffffff || offset === 0xffffffff)) {
    // ZIP64: the real values live in the ZIP64 end record, found through the locator just before.
    const lr = new ByteReader(bytes, `${what} (ZIP64 locator)`, loc + 8);
    const z64 = lr.u64('the ZIP64 end record offset');
    if (z64 + 56 > loc) throw new Error(`${what}: ZIP64 end record offset ${z64} is past the locator at ${loc}`);
    const zr = new ByteReader(bytes, `${what} (ZIP64 end record)`, z64);
    if (zr.u32() !== SIG_ZIP64_EOCD) throw new Error(`${what}: no ZIP64 end record signature at offset ${z64}`);
    zr.pos += 8 + 2 + 2 + 4 + 4 + 8; // record size, versions, disk numbers, entries on this disk
    count = zr.u64('the entry count');
    size = zr.u64('the central directory size');
    offset = zr.u64('the central directory offset');
  }
  if (offset + size > eocd) {
    throw new Error(`${what}: central directory (offset ${offset}, ${size} bytes) runs past its end record at ` +
      `${eocd}: the file is truncated or corrupt`);
  }
  if (count * CENTRAL_SIZE > size) {
    throw new Error(`${what}: ${count} entries cannot fit in a ${size}-byte central directory`);
  }
  return { count, size, offset };
}

/** Reads the ZIP64 extended-information extra field into the fields that were saturated. */
function applyZip64Extra(
  extra: Uint8Array, e: { size: number; compressedSize: number; localOffset: number }, what: string,
): void {
  const r = new ByteReader(extra, `${what} extra field`);
  while (r.remaining >= 4) {
    const id = r.u16();
    const len = r.u16();
    const body = new ByteReader(r.take(len, `extra field 0x${id.toString(16)}`), `${what} ZIP64 field`);
    if (id !== 0x0001) continue;
    // Only the fields whose 32-bit value is saturated are present, in this order.
    if (e.size === 0xffffffff) e.size = body.u64('the uncompressed size');
    if (e.compressedSize === 0xffffffff) e.compressedSize = body.u64('the compressed size');
    if (e.localOffset === 0xffffffff) e.localOffset = body.u64('the local header offset');
    return;
  }
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly verifyCrc: boolean;

  /** Parses the directory of `bytes` (kept, not copied). `what` prefixes error messages. */
  constructor(readonly bytes: Uint8Array, readonly what = 'ZIP archive', options: ZipReadOptions = {}) {
    this.verifyCrc = options.verifyCrc ?? true;
    if (bytes.length < EOCD_SIZE) throw new Error(`${what}: ${bytes.length} bytes is too short for a ZIP archive`);
    const dir = readDirectoryLocation(bytes, findEocd(bytes, what), what);
    const r = new ByteReader(bytes.subarray(0, dir.offset + dir.size), `${what} central directory`, dir.offset);
    for (let i = 0; i < dir.count; i++) {
      const at = r.pos;
      if (r.u32() !== SIG_CENTRAL) throw new Error(`${what}: bad central directory entry signature at offset ${at}`);
      r.pos += 4; // versions
      const flags = r.u16();
      const method = r.u16();
      r.pos += 4; // time, date
      const crc = r.u32();
      const e = { compressedSize: r.u32(), size: r.u32(), localOffset: 0 };
      const nameLen = r.u16();
      const extraLen = r.u16();
      const commentLen = r.u16();
      r.pos += 8; // disk, attributes
      e.localOffset = r.u32();
      const rawName = r.take(nameLen, 'an entry name');
      const name = flags & 0x800 ? decodeUtf8(rawName, `${what} entry name`) : decodeLatin1(rawName);
      applyZip64Extra(r.take(extraLen, 'an extra field'), e, `${what} entry ${short(name)}`);
      r.take(commentLen, 'an entry comment');
      const dataOffset = this.localDataOffset(e.localOffset, name);
      if (dataOffset + e.compressedSize > bytes.length) {
        throw new Error(`${what}: entry ${short(name)} (${e.compressedSize} bytes at offset ${dataOffset}) runs past the ` +
          `end of the file (${bytes.length} bytes): truncated`);
      }
      if (!this.entries.has(name)) {
        this.entries.set(name, {
          name, method, compressedSize: e.compressedSize, size: e.size, crc32: crc, dataOffset,
          encrypted: (flags & 1) !== 0,
        });
      }
    }
  }

  /** Where an entry's data starts: after its local header, whose name and extra lengths may
   * differ from the central directory's (torch pads the local extra field for alignment). */
  private localDataOffset(offset: number, name: string): number {
    const r = new ByteReader(this.bytes, `${this.what} entry ${short(name)}`, 0);
    if (offset + LOCAL_SIZE > this.bytes.length) {
      throw new Error(`${this.what}: entry ${short(name)}: local header at offset ${offset} is past the end of the file ` +
        `(${this.bytes.length} bytes): truncated`);
    }
    r.pos = offset;
    if (r.u32() !== SIG_LOCAL) throw new Error(`${this.what}: entry ${short(name)}: bad local header signature at offset ${offset}`);
    r.pos = offset + 26;
    const nameLen = r.u16();
    const extraLen = r.u16();
    return offset + LOCAL_SIZE + nameLen + extraLen;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** An entry's uncompressed bytes: a subarray of the archive when stored, a new array when
   * deflated (charged to `budget` first, if given). */
  read(name: string, budget?: DecompressionBudget): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.what}: no entry named ${short(name)}`);
    const where = `${this.what} entry ${short(name)}`;
    if (e.encrypted) throw new Error(`${where}: encrypted entries are not supported`);
    const raw = this.bytes.subarray(e.dataOffset, e.dataOffset + e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) {
      if (e.size !== e.compressedSize) {
        throw new Error(`${where}: stored entry has size ${e.size} but ${e.compressedSize} stored bytes`);
      }
      data = raw;
    } else if (e.method === 8) {
      if (e.size > e.compressedSize * MAX_DEFLATE_RATIO + 1024) {
        throw new Error(`${where}: claims ${e.size} bytes from ${e.compressedSize} deflated bytes, more than ` +
          'deflate can produce: corrupt directory');
      }
      budget?.spend(e.size, where);
      data = inflateRaw(raw, e.size, where);
    } else {
      throw new Error(`${where}: compression method ${e.method} is not supported (only stored and deflate)`);
    }
    if (this.verifyCrc) {
      const c = crc32(data);
      if (c !== e.crc32) {
        throw new Error(`${where}: CRC-32 mismatch (computed ${c.toString(16)}, directory says ` +
          `${e.crc32.toString(16)}): the data is corrupt`);
      }
    }
    return data;
  }
}
