/**
 * moat's log file format: the idea of Docker's `local` driver (binary frames, a trailing length
 * to walk back from the end) without protobuf. The bytes a container wrote are stored as they
 * are, so a container cannot make its log bigger than its output (the JSON-lines format stored a
 * NUL byte as the six characters `\u0000`).
 *
 *   file header (32 bytes): "moatlog\x01" | seq u64 | committed u64 | committed u64 (again)
 *   record:                 length u32 | stream u8 | flags u8 | time u64 (ns) | bytes | length u32
 *
 * - `seq` numbers the files of one log: rotation starts a new file with seq + 1, so a reader
 *   that followed one file finds the next whatever was renamed meanwhile.
 * - `committed` is where the last whole record ends: the writer rewrites it after each write, so
 *   a reader never takes half a record for a whole one, and a writer that died mid-write is
 *   cut back to it. Written twice: a reader that sees the two differ (a write in flight) takes
 *   the smaller, the older value, which is always a record boundary.
 * - A record holds at most 16 KiB: the whole lines of one read, or a piece of a longer line
 *   (flag PARTIAL: the line goes on in the stream's next record). A record adds 18 bytes.
 */
import type { StreamName } from './types.js';

export const MAGIC = Buffer.from('moatlog\x01', 'latin1');
export const FILE_HEADER = 32;
export const REC_HEADER = 14;
export const REC_TRAILER = 4;
export const REC_OVERHEAD = REC_HEADER + REC_TRAILER;
/** The most bytes of output in one record: longer lines are split, as Docker splits them. */
export const MAX_PAYLOAD = 16 * 1024;
/** The line goes on in the next record of the same stream. */
export const PARTIAL = 1;

const STREAM_CODE: Record<StreamName, number> = { stdout: 1, stderr: 2 };
const STREAM_NAME: Record<number, StreamName | undefined> = { 1: 'stdout', 2: 'stderr' };

export interface RecordHeader {
  length: number;
  stream: StreamName;
  partial: boolean;
  timeNs: bigint;
}

export function encodeFileHeader(seq: number, committed: number): Buffer {
  const b = Buffer.alloc(FILE_HEADER);
  MAGIC.copy(b, 0);
  b.writeBigUInt64BE(BigInt(seq), 8);
  encodeCommitted(committed).copy(b, 16);
  return b;
}

/** The two copies of `committed`, written at offset 16. */
export function encodeCommitted(committed: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(BigInt(committed), 0);
  b.writeBigUInt64BE(BigInt(committed), 8);
  return b;
}

export type FileHead =
  | { kind: 'framed'; seq: number; committed: number }
  /** The JSON-lines format of moat before this one. */
  | { kind: 'json' }
  /** No header yet (a new, empty log; or one being written). */
  | { kind: 'empty' }
  | { kind: 'unknown' };

/** What the first bytes of a log file say it is. */
export function parseFileHead(b: Buffer): FileHead {
  if (b.length === 0) return { kind: 'empty' };
  if (b[0] === 0x7b /* { */) return { kind: 'json' };
  const n = Math.min(b.length, MAGIC.length);
  if (!b.subarray(0, n).equals(MAGIC.subarray(0, n))) return { kind: 'unknown' };
  if (b.length < FILE_HEADER) return { kind: 'empty' };
  const seq = b.readBigUInt64BE(8);
  const c1 = b.readBigUInt64BE(16);
  const c2 = b.readBigUInt64BE(24);
  const committed = c1 < c2 ? c1 : c2;
  if (seq > BigInt(Number.MAX_SAFE_INTEGER) || committed > BigInt(Number.MAX_SAFE_INTEGER))
    return { kind: 'unknown' };
  if (committed < BigInt(FILE_HEADER)) return { kind: 'unknown' };
  return { kind: 'framed', seq: Number(seq), committed: Number(committed) };
}

export function encodeRecord(stream: StreamName, partial: boolean, timeNs: bigint, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(REC_OVERHEAD + payload.length);
  b.writeUInt32BE(payload.length, 0);
  b[4] = STREAM_CODE[stream];
  b[5] = partial ? PARTIAL : 0;
  b.writeBigUInt64BE(timeNs, 6);
  payload.copy(b, REC_HEADER);
  b.writeUInt32BE(payload.length, REC_HEADER + payload.length);
  return b;
}

/** A record's header at `at`, or undefined when those bytes cannot begin one. */
export function parseRecordHeader(b: Buffer, at = 0): RecordHeader | undefined {
  if (b.length - at < REC_HEADER) return undefined;
  const length = b.readUInt32BE(at);
  const stream = STREAM_NAME[b[at + 4]];
  const flags = b[at + 5];
  if (length > MAX_PAYLOAD || !stream || (flags & ~PARTIAL) !== 0) return undefined;
  return { length, stream, partial: (flags & PARTIAL) !== 0, timeNs: b.readBigUInt64BE(at + 6) };
}

/** Docker's fixed-width RFC 3339 time with nanoseconds (`docker logs --timestamps`). */
export function formatTime(timeNs: bigint): string {
  const d = new Date(Number(timeNs / 1_000_000n));
  // A time no Date can hold (a damaged record) must not throw.
  const iso = Number.isNaN(d.getTime()) ? '0001-01-01T00:00:00.000Z' : d.toISOString();
  const nanos = (timeNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${nanos}Z`;
}
