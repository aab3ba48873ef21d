/**
 * A log as readers see it: its files (segments), oldest first, each held open so that a
 * rotation or a removal (`--rm`) while it is read takes nothing away; the records of a file
 * read forward in bounded chunks.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { FILE_HEADER, parseFileHead, parseRecordHeader, REC_HEADER, REC_OVERHEAD } from './format.js';
import { LOG_LIMITS } from './config.js';
import { readJsonLines } from './legacy.js';
import type { LogRecord } from './types.js';

export interface Segment {
  fh: FileHandle;
  ino: number;
  /** 'empty': no header yet (a log no monitor wrote to), or one this moat cannot read. */
  kind: 'framed' | 'json' | 'empty';
  /** The file's place in the log (json: 0, before any framed file; empty: unknown). */
  seq: number;
}

/** Bytes read at a time: memory stays bounded whatever the log's size. */
const READ_CHUNK = 1 << 20;

async function head(fh: FileHandle): Promise<ReturnType<typeof parseFileHead>> {
  const b = Buffer.alloc(FILE_HEADER);
  const { bytesRead } = await fh.read(b, 0, FILE_HEADER, 0);
  return parseFileHead(b.subarray(0, bytesRead));
}

export async function openSegment(file: string): Promise<Segment | undefined> {
  const fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => undefined);
  if (!fh) return undefined;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error('not a file');
    const h = await head(fh);
    const seg: Segment = { fh, ino: st.ino, kind: 'empty', seq: Number.MAX_SAFE_INTEGER };
    if (h.kind === 'framed') Object.assign(seg, { kind: 'framed', seq: h.seq });
    else if (h.kind === 'json') Object.assign(seg, { kind: 'json', seq: 0 });
    return seg;
  } catch {
    await fh.close().catch(() => {});
    return undefined;
  }
}

export async function closeSegment(s: Segment): Promise<void> {
  await s.fh.close().catch(() => {});
}

/** Where a segment's records begin. */
export const startOf = (s: Segment): number => (s.kind === 'json' ? 0 : FILE_HEADER);

/**
 * How far a segment may be read now: the last whole record (framed), the file's size (json).
 * A segment without a header yet is looked at again: its monitor may have begun it since.
 */
export async function endOf(s: Segment): Promise<number> {
  if (s.kind === 'json') return (await s.fh.stat()).size;
  const h = await head(s.fh);
  if (h.kind !== 'framed') return FILE_HEADER;
  if (s.kind === 'empty') Object.assign(s, { kind: 'framed', seq: h.seq });
  return h.seq === s.seq ? h.committed : FILE_HEADER;
}

/**
 * The files of the log `file`, oldest first: `file.N` … `file.1`, then `file`, ordered by their
 * seq (a rotation while they are opened may show one file under two names: it is kept once).
 */
export async function openLog(file: string, maxFile: number = LOG_LIMITS.maxFile): Promise<Segment[]> {
  const current = await openSegment(file);
  if (!current) return [];
  if (current.kind === 'json') return [current];
  const segs = [current];
  // A rotation in progress may leave one name free for a moment: stop at two in a row.
  for (let k = 1, misses = 0; k < Math.min(maxFile, LOG_LIMITS.maxFile) && misses < 2; k++) {
    const s = await openSegment(`${file}.${k}`);
    if (!s) misses++;
    else if (s.kind !== 'framed') await closeSegment(s);
    else {
      misses = 0;
      segs.push(s);
    }
  }
  segs.sort((a, b) => a.seq - b.seq);
  const kept: Segment[] = [];
  for (const s of segs) {
    if (kept.length && kept[kept.length - 1].seq === s.seq) await closeSegment(s);
    else kept.push(s);
  }
  return kept;
}

/**
 * The file that follows `cur` in the log, once the log's name points at another file: the one
 * with the next seq (or the oldest newer one, if a slow reader let the next be removed).
 */
export async function nextSegment(
  file: string,
  cur: Segment | undefined,
  maxFile: number,
): Promise<Segment | undefined> {
  if (cur) {
    const st = await fsp.stat(file).catch(() => undefined);
    if (!st || st.ino === cur.ino) return undefined;
  }
  const s = await openSegment(file);
  if (!s || !cur) return s;
  if (s.ino === cur.ino || s.kind !== 'framed' || (cur.kind === 'framed' && s.seq <= cur.seq)) {
    await closeSegment(s);
    return undefined;
  }
  if (cur.kind !== 'framed' || s.seq === cur.seq + 1) return s;
  let best = s;
  for (let k = 1; k < Math.min(maxFile, LOG_LIMITS.maxFile); k++) {
    const r = await openSegment(`${file}.${k}`);
    if (!r) continue;
    if (r.kind === 'framed' && r.seq > cur.seq && r.seq < best.seq) {
      await closeSegment(best);
      best = r;
    } else await closeSegment(r);
  }
  return best;
}

/**
 * Hand the records of `s` from `from` to `to` to `emit` (the first one without its first
 * `skip` bytes); returns where reading stopped: after the last whole record, or at a damaged
 * one (`damaged`: nothing after it in this file is read).
 */
export async function readSegment(
  s: Segment,
  from: number,
  to: number,
  skip: number,
  emit: (r: LogRecord) => Promise<void>,
  stopped: () => boolean,
): Promise<{ pos: number; damaged: boolean }> {
  if (s.kind === 'json') return { pos: await readJsonLines(s.fh, from, to, emit, stopped), damaged: false };
  if (s.kind !== 'framed') return { pos: from, damaged: false };
  let pos = from;
  let buf: Buffer | undefined;
  while (pos < to && !stopped()) {
    buf ??= Buffer.allocUnsafe(Math.min(READ_CHUNK, to - pos));
    const { bytesRead } = await s.fh.read(buf, 0, Math.min(buf.length, to - pos), pos);
    const data = buf.subarray(0, bytesRead);
    let at = 0;
    while (!stopped()) {
      if (data.length - at < REC_HEADER) break;
      const h = parseRecordHeader(data, at);
      if (!h) return { pos: pos + at, damaged: true };
      const end = at + REC_OVERHEAD + h.length;
      if (end > data.length) break;
      if (data.readUInt32BE(end - 4) !== h.length) return { pos: pos + at, damaged: true };
      const from = at + REC_HEADER + Math.min(skip, h.length);
      skip = 0;
      // A copy: the buffer is read into again while the output may still hold this.
      const payload = Buffer.from(data.subarray(from, end - 4));
      at = end;
      if (payload.length) await emit({ stream: h.stream, partial: h.partial, timeNs: h.timeNs, payload });
    }
    // Nothing whole in what was read (a file cut short): there is no more to read now.
    if (at === 0) break;
    pos += at;
  }
  return { pos, damaged: false };
}
