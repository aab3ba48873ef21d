import { inflateRawSync } from 'node:zlib';

/**
 * A small, bounded reader of zip archives held in memory (jars, wars), enough to pull a few named
 * entries out: the end-of-central-directory record (and its ZIP64 form), the central directory,
 * each chosen entry's local header, and stored or deflated data (node:zlib's inflateRaw with an
 * output cap, so a deflate bomb stops at the cap). Every offset is checked against the buffer; a
 * malformed archive throws ZipError, which the parsers turn into "no packages".
 */

export class ZipError extends Error {}

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export interface ZipLimits {
  /** Central directory entries read at most (a jar with more is refused). */
  maxEntries: number;
  /** Largest uncompressed entry extracted. */
  maxEntryBytes: number;
}

export const ZIP_DEFAULTS: ZipLimits = { maxEntries: 200_000, maxEntryBytes: 64 * 1024 * 1024 };

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function u64(buf: Buffer, o: number): number {
  const v = buf.readBigUInt64LE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('zip: 64-bit value out of range');
  return Number(v);
}

function need(buf: Buffer, o: number, n: number): void {
  if (o < 0 || o + n > buf.length) throw new ZipError('zip: truncated');
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === LOCAL;
}

/** The central directory's entries. */
export function zipEntries(buf: Buffer, limits: ZipLimits = ZIP_DEFAULTS): ZipEntry[] {
  // The EOCD record is 22 bytes plus a comment of up to 65535 bytes at the very end.
  const floor = Math.max(0, buf.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = buf.length - 22; i >= floor; i--) {
    if (buf[i] === 0x50 && buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('zip: no end of central directory');
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  let end = eocd;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    need(buf, loc, 20);
    if (buf.readUInt32LE(loc) !== EOCD64_LOCATOR) throw new ZipError('zip: no ZIP64 locator');
    const z = u64(buf, loc + 8);
    need(buf, z, 56);
    if (buf.readUInt32LE(z) !== EOCD64) throw new ZipError('zip: bad ZIP64 record');
    count = u64(buf, z + 32);
    cdSize = u64(buf, z + 40);
    cdOffset = u64(buf, z + 48);
    end = z;
  }
  if (count > limits.maxEntries) throw new ZipError(`zip: ${count} entries (limit ${limits.maxEntries})`);
  // Data prepended to the archive (self-extracting stubs) shifts every offset by the same amount.
  const shift = end - (cdOffset + cdSize);
  if (shift < 0) throw new ZipError('zip: central directory out of range');
  const out: ZipEntry[] = [];
  let p = cdOffset + shift;
  for (let i = 0; i < count; i++) {
    need(buf, p, 46);
    if (buf.readUInt32LE(p) !== CENTRAL) throw new ZipError('zip: bad central directory entry');
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    need(buf, p + 46, nameLen + extraLen + commentLen);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    // ZIP64 extended information: the 64-bit values, in order, for fields that are all ones.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = buf.readUInt16LE(x);
      const len = buf.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        const take = (): number => {
          if (q + 8 > x + 4 + len) throw new ZipError('zip: short ZIP64 field');
          const v = u64(buf, q);
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      x += 4 + len;
    }
    out.push({ name, method, compressedSize, size, localOffset: localOffset + shift });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** An entry's uncompressed bytes; undefined for methods other than stored and deflate. */
export function zipRead(buf: Buffer, e: ZipEntry, limits: ZipLimits = ZIP_DEFAULTS): Buffer | undefined {
  if (e.size > limits.maxEntryBytes) throw new ZipError(`zip: ${e.name} is ${e.size} bytes`);
  need(buf, e.localOffset, 30);
  if (buf.readUInt32LE(e.localOffset) !== LOCAL) throw new ZipError('zip: bad local header');
  const start =
    e.localOffset + 30 + buf.readUInt16LE(e.localOffset + 26) + buf.readUInt16LE(e.localOffset + 28);
  need(buf, start, e.compressedSize);
  const data = buf.subarray(start, start + e.compressedSize);
  if (e.method === 0) return data;
  if (e.method !== 8) return undefined;
  // The cap is the announced size: an entry that inflates beyond what it declared is refused.
  return inflateRawSync(data, { maxOutputLength: Math.max(1, e.size) });
}
