/**
 * Container output as JSON lines, like docker's json-file driver:
 * {"log":"hello\n","stream":"stdout","time":"2026-11-22T12:00:00.000000000Z"}
 * Lines are split at newlines and at 16 KiB; a partial last line is flushed at the end.
 */
import { promises as fsp } from 'node:fs';
import type { Writable } from 'node:stream';

export type StreamName = 'stdout' | 'stderr';

export interface LogEntry {
  log: string;
  stream: StreamName;
  time: string;
}

const MAX_LINE = 16 * 1024;

/** Splits a byte stream into log entries and hands them to `emit`. */
export class LineSplitter {
  private buf: Buffer = Buffer.alloc(0);
  constructor(
    private readonly stream: StreamName,
    private readonly emit: (e: LogEntry) => void,
  ) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf(10, start);
      if (nl < 0 || nl - start >= MAX_LINE) {
        if (this.buf.length - start >= MAX_LINE) {
          this.out(this.buf.subarray(start, start + MAX_LINE));
          start += MAX_LINE;
          continue;
        }
        break;
      }
      this.out(this.buf.subarray(start, nl + 1));
      start = nl + 1;
    }
    this.buf = this.buf.subarray(start);
  }

  end(): void {
    if (this.buf.length) this.out(this.buf);
    this.buf = Buffer.alloc(0);
  }

  private out(b: Buffer): void {
    this.emit({ log: b.toString('utf8'), stream: this.stream, time: new Date().toISOString() });
  }
}

export function formatEntry(e: LogEntry): string {
  return JSON.stringify(e) + '\n';
}

export interface ReadLogsOptions {
  follow: boolean;
  /** Called between polls in follow mode; return false to stop once everything is read. */
  stillRunning?: () => Promise<boolean>;
  timestamps?: boolean;
  /** Only the last N lines written so far (0: none; then, with follow, only new ones). */
  tail?: number;
  /** Only lines written at or after / at or before these times (Unix seconds); a follow ends at `until`. */
  since?: number;
  until?: number;
}

/** Bytes read at a time: memory stays bounded whatever the log's size. */
const READ_CHUNK = 1 << 20;
/** A "line" this long without a newline is not one the monitor wrote: it is dropped. */
const MAX_RECORD = 1 << 20;
const POLL_MS = 100;

/** Has the reader of this output gone (its stream ended or destroyed)? */
const gone = (w: Writable): boolean => w.destroyed || w.writableEnded;

/** Wait until `w` takes more (or can take nothing more). */
function drained(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
}

/**
 * Print a container's log to stdout/stderr by stream; with follow, keep reading until it exits.
 * The file is read in bounded chunks, each line written with the output's backpressure; when an
 * output goes away (a client that closed its connection, a closed pipe) the reading stops.
 */
export async function printLogs(
  file: string,
  out: { stdout: Writable; stderr: Writable },
  opts: ReadLogsOptions,
): Promise<void> {
  const stopped = () => gone(out.stdout) || gone(out.stderr);
  const size = async () =>
    fsp
      .stat(file)
      .then((s) => s.size)
      .catch(() => 0);
  // The last `tail` lines as of now: lines written after this point are not among them (they
  // are read only when following).
  const end0 = await size();
  let pos = opts.tail === undefined ? 0 : await tailOffset(file, opts.tail, end0);
  let partial: Buffer = Buffer.alloc(0);
  const write = async (line: Buffer): Promise<void> => {
    let e: LogEntry;
    try {
      e = JSON.parse(line.toString('utf8')) as LogEntry;
    } catch {
      return; // a torn last line from a crashed monitor
    }
    if (typeof e?.log !== 'string') return;
    if (opts.since !== undefined || opts.until !== undefined) {
      const t = Date.parse(e.time) / 1000;
      if (opts.since !== undefined && !(t >= opts.since)) return;
      if (opts.until !== undefined && !(t <= opts.until)) return;
    }
    const w = e.stream === 'stderr' ? out.stderr : out.stdout;
    if (!w.write(opts.timestamps ? `${e.time} ${e.log}` : e.log) && !stopped()) await drained(w);
  };
  /** Read from `pos` to `end`, writing every complete line. */
  const readTo = async (end: number): Promise<void> => {
    while (pos < end && !stopped()) {
      const chunk = await readRange(file, pos, Math.min(end, pos + READ_CHUNK));
      if (!chunk.length) return; // the file shrank: nothing more to read now
      pos += chunk.length;
      let buf = partial.length ? Buffer.concat([partial, chunk]) : chunk;
      for (let nl = buf.indexOf(10); nl >= 0 && !stopped(); nl = buf.indexOf(10)) {
        if (nl > 0) await write(buf.subarray(0, nl));
        buf = buf.subarray(nl + 1);
      }
      partial = buf.length > MAX_RECORD ? Buffer.alloc(0) : Buffer.from(buf);
    }
  };
  await readTo(end0);
  const past = () => opts.until !== undefined && Date.now() / 1000 > opts.until;
  while (opts.follow && !stopped() && !past()) {
    const running = opts.stillRunning ? await opts.stillRunning() : false;
    const end = await size();
    if (end > pos) {
      await readTo(end);
      continue;
    }
    // One more read after the exit is seen (above), so the last lines are not lost.
    if (!running) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  // A follow that ended at `until`: what was written before it and not yet read.
  if (past() && !stopped()) await readTo(await size());
  if (partial.length && !stopped()) await write(partial);
}

/** Where the last `n` complete lines of the file begin (its end for 0), scanning backwards. */
export async function tailOffset(file: string, n: number, end?: number): Promise<number> {
  const fh = await fsp.open(file, 'r').catch(() => undefined);
  if (!fh) return 0;
  try {
    const buf = Buffer.alloc(64 * 1024);
    let at = Math.min(end ?? Infinity, (await fh.stat()).size);
    // The (n+1)th newline from the end closes the line before the last n.
    let newlines = 0;
    while (at > 0) {
      const len = Math.min(buf.length, at);
      at -= len;
      const { bytesRead } = await fh.read(buf, 0, len, at);
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (buf[i] === 10 && ++newlines === n + 1) return at + i + 1;
      }
    }
    return 0;
  } finally {
    await fh.close();
  }
}

async function readRange(file: string, start: number, end: number): Promise<Buffer> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
