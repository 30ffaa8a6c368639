// Writing a zip archive of stored (uncompressed) entries, as torch.save writes its checkpoints:
// each entry's data starts on a 64-byte boundary (padded through the local header's extra field),
// which PyTorch's reader can map directly. No ZIP64: archives stay under 4 GiB (checked).
import { crc32 } from './inflate.js';

const ALIGN = 64;
const MAX_ZIP32 = 0xffffffff;

interface Placed { name: Uint8Array; data: Uint8Array; crc: number; offset: number }

/** The bytes of a zip archive holding `entries` (name -> data) stored, in the given order. */
export function writeZip(entries: readonly [string, Uint8Array][]): Uint8Array {
  const utf8 = new TextEncoder();
  const placed: Placed[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = utf8.encode(name);
    if (nameBytes.length > 0xffff) throw new Error(`writeZip: entry name of ${nameBytes.length} bytes is too long`);
    // Extra field: an id and a size (4 bytes), then padding so that the data lands aligned.
    const fixed = 30 + nameBytes.length + 4;
    const pad = (ALIGN - ((offset + fixed) % ALIGN)) % ALIGN;
    const header = new Uint8Array(fixed + pad);
    const dv = new DataView(header.buffer);
    const crc = crc32(data);
    dv.setUint32(0, 0x04034b50, true); // local file header
    dv.setUint16(4, 20, true); // version needed
    dv.setUint16(6, 0x0800, true); // flags: UTF-8 names
    dv.setUint16(8, 0, true); // stored
    dv.setUint32(14, crc, true);
    dv.setUint32(18, data.length, true);
    dv.setUint32(22, data.length, true);
    dv.setUint16(26, nameBytes.length, true);
    dv.setUint16(28, 4 + pad, true);
    header.set(nameBytes, 30);
    dv.setUint16(30 + nameBytes.length, 0x4246, true); // 'FB': the padding id PyTorch uses
    dv.setUint16(32 + nameBytes.length, pad, true);
    placed.push({ name: nameBytes, data, crc, offset });
    chunks.push(header, data);
    offset += header.length + data.length;
    if (offset > MAX_ZIP32) throw new Error('writeZip: the archive would pass 4 GiB (ZIP64 is not written)');
  }
  const centralStart = offset;
  for (const p of placed) {
    const h = new Uint8Array(46 + p.name.length);
    const dv = new DataView(h.buffer);
    dv.setUint32(0, 0x02014b50, true); // central directory header
    dv.setUint16(4, 20, true); // version made by
    dv.setUint16(6, 20, true); // version needed
    dv.setUint16(8, 0x0800, true);
    dv.setUint16(10, 0, true);
    dv.setUint32(16, p.crc, true);
    dv.setUint32(20, p.data.length, true);
    dv.setUint32(24, p.data.length, true);
    dv.setUint16(28, p.name.length, true);
    dv.setUint32(42, p.offset, true);
    h.set(p.name, 46);
    chunks.push(h);
    offset += h.length;
  }
  const end = new Uint8Array(22);
  const dv = new DataView(end.buffer);
  dv.setUint32(0, 0x06054b50, true); // end of central directory
  dv.setUint16(8, placed.length, true);
  dv.setUint16(10, placed.length, true);
  dv.setUint32(12, offset - centralStart, true);
  dv.setUint32(16, centralStart, true);
  chunks.push(end);
  if (placed.length > 0xffff) throw new Error(`writeZip: ${placed.length} entries need ZIP64, which is not written`);
  const out = new Uint8Array(offset + end.length);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}
