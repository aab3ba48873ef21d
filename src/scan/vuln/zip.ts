/**
 * A small, bounded zip reader: the central directory (zip64 included) from the end of the file,
 * then each entry on demand, stored or deflated (node:zlib's inflateRaw, capped at the size the
 * directory declares), its CRC-32 checked. Enough for OSV's exports (`<ecosystem>/all.zip`) and
 * for jars read from a buffer; no encryption, no multi-disk archives, no other methods.
 */
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { inflateRaw } from 'node:zlib';

const inflate = promisify(inflateRaw);

/** What the reader needs of its input: random access by offset. */
export interface RandomAccess {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
}

export function bufferSource(buf: Buffer): RandomAccess {
  return { size: buf.length, read: async (o, l) => buf.subarray(o, Math.min(o + l, buf.length)) };
}

export function fileSource(fh: FileHandle, size: number): RandomAccess {
  return {
    size,
    async read(offset, length) {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      let done = 0;
      while (done < buf.length) {
        const { bytesRead } = await fh.read(buf, done, buf.length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    },
  };
}

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export class ZipError extends Error {}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function u64(b: Buffer, o: number): number {
  const v = b.readBigUInt64LE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('zip64 value out of range');
  return Number(v);
}

/** The central directory's entries, at most `maxEntries` of them. */
export async function zipEntries(src: RandomAccess, maxEntries: number): Promise<ZipEntry[]> {
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tail = await src.read(src.size - tailLen, tailLen);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('no end of central directory: not a zip file');
  let count = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdOffset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locAt = src.size - tailLen + at - 20;
    const loc = await src.read(locAt, 20);
    if (loc.length < 20 || loc.readUInt32LE(0) !== EOCD64_LOCATOR)
      throw new ZipError('zip64 locator missing');
    const rec = await src.read(u64(loc, 8), 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== EOCD64) throw new ZipError('zip64 end record missing');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (count > maxEntries) throw new ZipError(`${count} entries, more than ${maxEntries}`);
  if (cdOffset + cdSize > src.size) throw new ZipError('central directory beyond the end of the file');
  const cd = await src.read(cdOffset, cdSize);
  const out: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new ZipError('corrupt central directory');
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new ZipError('corrupt central directory');
    const e: ZipEntry = {
      name: cd.toString('utf8', p + 46, p + 46 + nameLen),
      flags: cd.readUInt16LE(p + 8),
      method: cd.readUInt16LE(p + 10),
      crc32: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      localOffset: cd.readUInt32LE(p + 42),
    };
    // The zip64 extra field holds, in this order, whichever of the three were saturated.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        for (const k of ['size', 'compressedSize', 'localOffset'] as const) {
          if (e[k] === 0xffffffff && q + 8 <= x + 4 + len) {
            e[k] = u64(cd, q);
            q += 8;
          }
        }
      }
      x += 4 + len;
    }
    out.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

let CRC_TABLE: Uint32Array | undefined;

export function crc32(buf: Buffer): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One entry's content; refused when it declares more than `maxBytes` or inflates beyond what it declares. */
export async function readZipEntry(src: RandomAccess, e: ZipEntry, maxBytes: number): Promise<Buffer> {
  if (e.flags & 1) throw new ZipError(`${e.name}: encrypted`);
  if (e.size > maxBytes) throw new ZipError(`${e.name}: ${e.size} bytes, more than ${maxBytes}`);
  const head = await src.read(e.localOffset, 30);
  if (head.length < 30 || head.readUInt32LE(0) !== LOCAL)
    throw new ZipError(`${e.name}: corrupt local header`);
  const start = e.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (start + e.compressedSize > src.size) throw new ZipError(`${e.name}: data beyond the end of the file`);
  const raw = await src.read(start, e.compressedSize);
  let data: Buffer;
  if (e.method === 0) data = raw;
  else if (e.method === 8) {
    try {
      data = await inflate(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      throw new ZipError(`${e.name}: ${(err as Error).message}`);
    }
  } else throw new ZipError(`${e.name}: compression method ${e.method}`);
  if (data.length !== e.size)
    throw new ZipError(`${e.name}: ${data.length} bytes, the directory says ${e.size}`);
  if (crc32(data) !== e.crc32) throw new ZipError(`${e.name}: CRC mismatch`);
  return data;
}
