/**
 * The monitor's side of a container's log: output cut into records (format.ts) and written as
 * it is read, a new file begun at max-size with at most max-file files kept, as Docker's
 * `local` driver does.
 *
 * Writes are synchronous: the monitor reads a pipe no faster than the disk takes its bytes, so
 * a container that floods its output waits for the disk (its pipe fills) instead of growing
 * the monitor's memory. A write that fails (a full disk) loses that output, is reported once,
 * and never ends the monitor; the file is cut back to its last whole record.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  linkSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import {
  encodeCommitted,
  encodeFileHeader,
  encodeRecord,
  FILE_HEADER,
  MAX_PAYLOAD,
  parseFileHead,
  parseRecordHeader,
  REC_HEADER,
  REC_OVERHEAD,
} from './format.js';
import type { StreamName } from './types.js';

export interface Piece {
  payload: Buffer;
  partial: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * Cuts one stream's bytes into record payloads: the whole lines of a read together (up to
 * MAX_PAYLOAD), a line longer than that in MAX_PAYLOAD pieces marked partial. An unfinished
 * line waits for its end (or `end()`), as with Docker.
 */
export class LineSplitter {
  private pending: Buffer = EMPTY;

  push(chunk: Buffer): Piece[] {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Piece[] = [];
    let at = 0;
    while (data.length - at >= MAX_PAYLOAD) {
      const window = data.subarray(at, at + MAX_PAYLOAD);
      const nl = window.lastIndexOf(10);
      if (nl >= 0) {
        out.push({ payload: window.subarray(0, nl + 1), partial: false });
        at += nl + 1;
      } else {
        out.push({ payload: window, partial: true });
        at += MAX_PAYLOAD;
      }
    }
    const rest = data.subarray(at);
    const nl = rest.lastIndexOf(10);
    if (nl >= 0) out.push({ payload: rest.subarray(0, nl + 1), partial: false });
    // A copy: the rest of a read must not keep the read's whole buffer alive.
    this.pending = nl + 1 < rest.length ? Buffer.from(rest.subarray(nl + 1)) : EMPTY;
    return out;
  }

  /** The last line, if it did not end. */
  end(): Piece[] {
    const p = this.pending;
    this.pending = EMPTY;
    return p.length ? [{ payload: p, partial: false }] : [];
  }
}

export interface LogWriterOptions {
  maxSize: number;
  maxFile: number;
  /** Told once for a run of failed writes; the output meanwhile is dropped. */
  onError?: (msg: string, error: unknown) => void;
  /** The time of a record, in ns (tests). */
  now?: () => bigint;
}

const OPEN = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;

export class LogWriter {
  private fd = -1;
  private seq = 1;
  /** Where the last whole record ends (the file's `committed`). */
  private size = FILE_HEADER;
  private failing = false;
  private readonly splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  private readonly now: () => bigint;

  constructor(
    readonly file: string,
    private readonly o: LogWriterOptions,
  ) {
    this.now = o.now ?? (() => BigInt(Date.now()) * 1_000_000n);
    try {
      this.open();
    } catch (e) {
      this.fail('cannot open the container log: its output is not kept', e);
    }
  }

  write(stream: StreamName, chunk: Buffer): void {
    this.append(stream, this.splitters[stream].push(chunk));
  }

  /** Write the lines that did not end and close the file. */
  end(): void {
    for (const s of ['stdout', 'stderr'] as const) this.append(s, this.splitters[s].end());
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // nothing to do
      }
      this.fd = -1;
    }
  }

  /**
   * Go on with the log there is (the container ran before), cut back to its last whole
   * record; begin one in an empty file (made with the container: a client may hold it open
   * already). A log in another format (moat's earlier JSON lines) is set aside as
   * `container.log.old`.
   */
  private open(): void {
    let fd = openSync(this.file, OPEN, 0o600);
    const head = Buffer.alloc(FILE_HEADER);
    const h = parseFileHead(head.subarray(0, readSync(fd, head, 0, FILE_HEADER, 0)));
    if (h.kind === 'framed') {
      const size = fstatSync(fd).size;
      this.fd = fd;
      this.seq = h.seq;
      this.size = h.committed <= size ? h.committed : lastBoundary(fd, size);
      if (size !== this.size) ftruncateSync(fd, this.size);
      writeSync(fd, encodeCommitted(this.size), 0, 16, 16);
      return;
    }
    if (h.kind !== 'empty') {
      closeSync(fd);
      renameSync(this.file, `${this.file}.old`);
      fd = openSync(this.file, OPEN, 0o600);
    }
    this.fd = fd;
    this.seq = nextSeq(this.file);
    ftruncateSync(fd, 0);
    writeSync(fd, encodeFileHeader(this.seq, FILE_HEADER), 0, FILE_HEADER, 0);
    this.size = FILE_HEADER;
  }

  private append(stream: StreamName, pieces: Piece[]): void {
    if (!pieces.length || this.fd < 0) return;
    const t = this.now();
    try {
      let batch: Buffer[] = [];
      let len = 0;
      for (const p of pieces) {
        const rec = encodeRecord(stream, p.partial, t, p.payload);
        if (this.size + len + rec.length > this.o.maxSize && this.size + len > FILE_HEADER) {
          this.flush(batch, len);
          batch = [];
          len = 0;
          this.rotate();
        }
        batch.push(rec);
        len += rec.length;
      }
      this.flush(batch, len);
      this.failing = false;
    } catch (e) {
      this.fail('cannot write the container log: output is dropped until it can', e);
    }
  }

  private flush(batch: Buffer[], len: number): void {
    if (!len) return;
    const buf = batch.length === 1 ? batch[0] : Buffer.concat(batch, len);
    try {
      for (let off = 0; off < len;) {
        const n = writeSync(this.fd, buf, off, len - off, this.size + off);
        if (n <= 0) throw new Error('the log file took no bytes');
        off += n;
      }
    } catch (e) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the committed end still marks the last whole record
      }
      throw e;
    }
    this.size += len;
    writeSync(this.fd, encodeCommitted(this.size), 0, 16, 16);
  }

  /**
   * Begin the next file: made whole beside the log, then put in its place. The current file
   * becomes `.1` (a hard link first, so the log's name never points at nothing), `.1` becomes
   * `.2`, and so on; the oldest beyond max-file goes. A reader holding a file keeps reading it.
   */
  private rotate(): void {
    const next = `${this.file}.next`;
    const fd = openSync(next, OPEN | constants.O_TRUNC, 0o600);
    try {
      writeSync(fd, encodeFileHeader(this.seq + 1, FILE_HEADER), 0, FILE_HEADER, 0);
      const n = this.o.maxFile;
      if (n >= 2) {
        quietly(() => unlinkSync(`${this.file}.${n - 1}`));
        for (let k = n - 2; k >= 1; k--)
          quietly(() => renameSync(`${this.file}.${k}`, `${this.file}.${k + 1}`));
        try {
          linkSync(this.file, `${this.file}.1`);
        } catch {
          renameSync(this.file, `${this.file}.1`);
        }
      }
      renameSync(next, this.file);
    } catch (e) {
      closeSync(fd);
      quietly(() => unlinkSync(next));
      throw e;
    }
    closeSync(this.fd);
    this.fd = fd;
    this.seq += 1;
    this.size = FILE_HEADER;
  }

  private fail(msg: string, e: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.o.onError?.(msg, e);
  }
}

function quietly(f: () => void): void {
  try {
    f();
  } catch {
    // a file that is not there
  }
}

/** The seq of a new log: after the newest rotated file's, if any. */
function nextSeq(file: string): number {
  let fd: number;
  try {
    fd = openSync(`${file}.1`, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return 1;
  }
  try {
    const head = Buffer.alloc(FILE_HEADER);
    const h = parseFileHead(head.subarray(0, readSync(fd, head, 0, FILE_HEADER, 0)));
    return h.kind === 'framed' ? h.seq + 1 : 1;
  } finally {
    closeSync(fd);
  }
}

/** Where the last whole record before `size` ends, walking the records from the start. */
function lastBoundary(fd: number, size: number): number {
  const head = Buffer.alloc(REC_HEADER);
  const trailer = Buffer.alloc(4);
  let at = FILE_HEADER;
  for (;;) {
    if (readSync(fd, head, 0, REC_HEADER, at) < REC_HEADER) return at;
    const h = parseRecordHeader(head);
    if (!h || at + REC_OVERHEAD + h.length > size) return at;
    if (readSync(fd, trailer, 0, 4, at + REC_HEADER + h.length) < 4) return at;
    if (trailer.readUInt32BE(0) !== h.length) return at;
    at += REC_OVERHEAD + h.length;
  }
}
