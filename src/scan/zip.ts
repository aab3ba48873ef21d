/**
 * The scanner's one zip reader, for jars (held in memory, read synchronously by the java parser)
 * and OSV database exports (`<ecosystem>/all.zip`, a file read asynchronously). One parser of
 * the records, written as a plan of reads (`Plan`), and two drivers that serve those reads: from
 * a Buffer (`zipEntries`, `zipRead`) or from any random-access source (`zipEntriesAt`,
 * `zipReadAt`, `fileSource`).
 *
 * What it reads: the end-of-central-directory record (within the last 64 KiB + 22 bytes) and its
 * ZIP64 form, the central directory (ZIP64 extended information included), each chosen entry's
 * local header, and stored or deflated data. Data prepended to the archive (a self-extracting
 * stub) shifts every offset by the same amount and is allowed for.
 *
 * Bounds: every read is checked against the source's size (a short read is ZipError); at most
 * `maxEntries` central directory entries; an entry declaring more than `maxEntryBytes` is not
 * read; a stored entry must declare its stored size, and a deflated one no more than deflate can
 * produce (1032 bytes a compressed byte), so a declared size beyond that ratio is refused before
 * inflating; inflating stops at the declared size (node:zlib's maxOutputLength), and the result
 * must be exactly that size with the CRC-32 the directory gives. Encrypted entries, multi-disk
 * archives and methods other than stored and deflate are refused. Entry names are returned as
 * the archive spells them (they may hold `..`, `/` at the start, NULs): the reader never uses one
 * as a path, and callers must not either.
 */
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

export class ZipError extends Error {}

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  /** Where the entry's local header starts, prepended data included. */
  localOffset: number;
}

export interface ZipLimits {
  /** Central directory entries read at most (an archive with more is refused). */
  maxEntries: number;
  /** Largest uncompressed entry read. */
  maxEntryBytes: number;
}

export const ZIP_DEFAULTS: ZipLimits = { maxEntries: 200_000, maxEntryBytes: 64 * 1024 * 1024 };

/** Deflate's ceiling: a 258-byte match in two bits. */
export const MAX_DEFLATE_RATIO = 1032;

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const STORED = 0;
const DEFLATED = 8;

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === LOCAL;
}

/** What the asynchronous driver needs of its input: random access by offset. */
export interface RandomAccess {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
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

// ---- the parser: a plan of reads ----------------------------------------------------------------

/** A read the plan needs: `length` bytes at `offset`; the driver answers with exactly those. */
interface Read {
  offset: number;
  length: number;
}
type Plan<T> = Generator<Read, T, Buffer>;

function u64(b: Buffer, o: number): number {
  const v = b.readBigUInt64LE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError('zip: 64-bit value out of range');
  return Number(v);
}

function* directoryPlan(size: number, limits: ZipLimits): Plan<ZipEntry[]> {
  // The EOCD record is 22 bytes plus a comment of up to 65535 bytes at the very end.
  const tailLen = Math.min(size, 22 + 0xffff);
  const tailStart = size - tailLen;
  const tail = yield { offset: tailStart, length: tailLen };
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('zip: no end of central directory');
  let count = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdOffset = tail.readUInt32LE(at + 16);
  let end = tailStart + at;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = yield { offset: end - 20, length: 20 };
    if (loc.readUInt32LE(0) !== EOCD64_LOCATOR) throw new ZipError('zip: no ZIP64 locator');
    const z = u64(loc, 8);
    const rec = yield { offset: z, length: 56 };
    if (rec.readUInt32LE(0) !== EOCD64) throw new ZipError('zip: bad ZIP64 record');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
    end = z;
  }
  if (count > limits.maxEntries) throw new ZipError(`zip: ${count} entries (limit ${limits.maxEntries})`);
  // Data prepended to the archive (self-extracting stubs) shifts every offset by the same amount.
  const shift = end - (cdOffset + cdSize);
  if (shift < 0) throw new ZipError('zip: central directory out of range');
  const cd = yield { offset: cdOffset + shift, length: cdSize };
  return centralDirectory(cd, count, shift);
}

function centralDirectory(cd: Buffer, count: number, shift: number): ZipEntry[] {
  const out: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL)
      throw new ZipError('zip: bad central directory entry');
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new ZipError('zip: truncated');
    const e: ZipEntry = {
      name: cd.toString('utf8', p + 46, p + 46 + nameLen),
      flags: cd.readUInt16LE(p + 8),
      method: cd.readUInt16LE(p + 10),
      crc32: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      localOffset: cd.readUInt32LE(p + 42),
    };
    // ZIP64 extended information: the 64-bit values, in this order, of the fields that are all ones.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        for (const k of ['size', 'compressedSize', 'localOffset'] as const) {
          if (e[k] !== 0xffffffff) continue;
          if (q + 8 > Math.min(x + 4 + len, xEnd)) throw new ZipError('zip: short ZIP64 field');
          e[k] = u64(cd, q);
          q += 8;
        }
      }
      x += 4 + len;
    }
    e.localOffset += shift;
    out.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The checks made before reading an entry, then its raw (stored or deflated) bytes. */
function* rawPlan(e: ZipEntry, limits: ZipLimits): Plan<Buffer> {
  if (e.flags & 1) throw new ZipError(`zip: ${e.name}: encrypted`);
  if (e.method !== STORED && e.method !== DEFLATED)
    throw new ZipError(`zip: ${e.name}: compression method ${e.method}`);
  if (e.size > limits.maxEntryBytes)
    throw new ZipError(`zip: ${e.name} is ${e.size} bytes (limit ${limits.maxEntryBytes})`);
  if (e.method === STORED ? e.size !== e.compressedSize : e.size > e.compressedSize * MAX_DEFLATE_RATIO)
    throw new ZipError(`zip: ${e.name}: ${e.size} bytes cannot come of ${e.compressedSize}`);
  const head = yield { offset: e.localOffset, length: 30 };
  if (head.readUInt32LE(0) !== LOCAL) throw new ZipError(`zip: ${e.name}: bad local header`);
  const start = e.localOffset + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  return yield { offset: start, length: e.compressedSize };
}

/** The entry's content, once it is checked against what the directory declares. */
function checked(e: ZipEntry, data: Buffer): Buffer {
  if (data.length !== e.size)
    throw new ZipError(`zip: ${e.name}: ${data.length} bytes, the directory says ${e.size}`);
  if (crc32(data) !== e.crc32) throw new ZipError(`zip: ${e.name}: CRC mismatch`);
  return data;
}

function inflateError(e: ZipEntry, err: unknown): ZipError {
  return new ZipError(`zip: ${e.name}: ${(err as Error).message}`);
}

// ---- the drivers ---------------------------------------------------------------------------------

function short(r: Read, size: number): boolean {
  return r.offset < 0 || r.length < 0 || r.offset + r.length > size;
}

function fromBuffer<T>(buf: Buffer, plan: Plan<T>): T {
  let step = plan.next();
  while (!step.done) {
    const r = step.value;
    if (short(r, buf.length)) throw new ZipError('zip: truncated');
    step = plan.next(buf.subarray(r.offset, r.offset + r.length));
  }
  return step.value;
}

async function fromSource<T>(src: RandomAccess, plan: Plan<T>): Promise<T> {
  let step = plan.next();
  while (!step.done) {
    const r = step.value;
    if (short(r, src.size)) throw new ZipError('zip: truncated');
    const got = await src.read(r.offset, r.length);
    if (got.length !== r.length) throw new ZipError('zip: truncated');
    step = plan.next(got);
  }
  return step.value;
}

/** The central directory's entries, from an archive in memory. */
export function zipEntries(buf: Buffer, limits: ZipLimits = ZIP_DEFAULTS): ZipEntry[] {
  return fromBuffer(buf, directoryPlan(buf.length, limits));
}

/** An entry's content, from an archive in memory (synchronous: the java parser's). */
export function zipRead(buf: Buffer, e: ZipEntry, limits: ZipLimits = ZIP_DEFAULTS): Buffer {
  const raw = fromBuffer(buf, rawPlan(e, limits));
  if (e.method === STORED) return checked(e, raw);
  let data: Buffer;
  try {
    data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch (err) {
    throw inflateError(e, err);
  }
  return checked(e, data);
}

/** The central directory's entries, from a random-access source. */
export async function zipEntriesAt(src: RandomAccess, limits: ZipLimits): Promise<ZipEntry[]> {
  return fromSource(src, directoryPlan(src.size, limits));
}

const inflateAsync = promisify(zlib.inflateRaw);

/** An entry's content, from a random-access source (inflated off the main thread). */
export async function zipReadAt(src: RandomAccess, e: ZipEntry, limits: ZipLimits): Promise<Buffer> {
  const raw = await fromSource(src, rawPlan(e, limits));
  if (e.method === STORED) return checked(e, raw);
  let data: Buffer;
  try {
    data = await inflateAsync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch (err) {
    throw inflateError(e, err);
  }
  return checked(e, data);
}

// ---- CRC-32 --------------------------------------------------------------------------------------

const nativeCrc32 = (zlib as { crc32?: (data: Buffer) => number }).crc32; // node >= 20.15
let CRC_TABLE: Uint32Array | undefined;

export function crc32(buf: Buffer): number {
  if (nativeCrc32) return nativeCrc32(buf) >>> 0;
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
