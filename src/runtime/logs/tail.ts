/**
 * `--tail N`: where the last N lines of a log begin, found walking back from its end record by
 * record (the trailing length of each gives the start of the one before), so the time taken
 * and the memory used grow with N, not with the log.
 *
 * A line ends at a newline, and at the end of any record that does not end in one: a line
 * longer than a record (16 KiB) counts as one line per record, as with Docker, so `--tail 1`
 * of an endless line is its last 16 KiB.
 */
import type { FileHandle } from 'node:fs/promises';
import { FILE_HEADER, MAX_PAYLOAD, parseRecordHeader, REC_HEADER, REC_OVERHEAD } from './format.js';
import { jsonTailOffset } from './legacy.js';
import { startOf, type Segment } from './segments.js';

/** A place in a log: segment, record, bytes of that record to leave out. */
export interface Position {
  seg: number;
  off: number;
  skip: number;
}

const BLOCK = 256 * 1024;

/** Reads a file backwards in blocks, so small records do not cost a read each. */
class BackReader {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  constructor(private readonly fh: FileHandle) {}

  async read(start: number, len: number): Promise<Buffer | undefined> {
    const end = start + len;
    if (start >= this.bufStart && end <= this.bufStart + this.buf.length)
      return this.buf.subarray(start - this.bufStart, end - this.bufStart);
    const from = Math.max(0, Math.min(start, end - BLOCK));
    const b = Buffer.alloc(end - from);
    const { bytesRead } = await this.fh.read(b, 0, b.length, from);
    if (bytesRead < b.length) return undefined;
    this.buf = b;
    this.bufStart = from;
    return b.subarray(start - from);
  }
}

/** Where the last `n` lines before `ends` (one end per segment) begin. */
export async function tailPosition(segs: Segment[], ends: number[], n: number): Promise<Position> {
  const last = segs.length - 1;
  if (n === 0) return { seg: last, off: ends[last], skip: 0 };
  if (segs[last].kind === 'json')
    return { seg: last, off: await jsonTailOffset(segs[last].fh, n, ends[last]), skip: 0 };
  // The (n+1)th line end from the end closes the line before the last n.
  const need = n + 1;
  let found = 0;
  for (let i = last; i >= 0; i--) {
    if (segs[i].kind !== 'framed') continue;
    const r = new BackReader(segs[i].fh);
    let e = ends[i];
    while (e > FILE_HEADER) {
      const t = await r.read(e - 4, 4);
      const len = t ? t.readUInt32BE(0) : -1;
      const s = e - REC_OVERHEAD - len;
      if (len < 0 || len > MAX_PAYLOAD || s < FILE_HEADER) break;
      const hb = await r.read(s, REC_HEADER);
      const h = hb && parseRecordHeader(hb);
      if (!h || h.length !== len) break;
      if (++found === need) return { seg: i, off: e, skip: 0 };
      // Newlines before the last byte (a partial record has none: it was cut where none was).
      if (!h.partial && len > 1) {
        const p = await r.read(s + REC_HEADER, len - 1);
        if (!p) break;
        for (let j = p.length - 1; j >= 0; j--)
          if (p[j] === 10 && ++found === need) return { seg: i, off: s, skip: j + 1 };
      }
      e = s;
    }
    // A damaged record: what is before it cannot be reached from here.
    if (e > FILE_HEADER) return { seg: i, off: e, skip: 0 };
  }
  return { seg: 0, off: startOf(segs[0]), skip: 0 };
}
