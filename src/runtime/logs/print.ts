/**
 * `moat logs` / `docker logs`: a container's log to stdout/stderr by stream, across its rotated
 * files, the last N lines (found from the end, tail.ts), by time, and with follow, until it
 * exits (following the log into each new file). Everything is read in bounded chunks and
 * written with the output's backpressure; when an output goes away (a client that closed its
 * connection, a closed pipe) the reading stops.
 */
import type { Writable } from 'node:stream';
import { formatTime } from './format.js';
import { closeSegment, endOf, nextSegment, openLog, readSegment, startOf, type Segment } from './segments.js';
import { tailPosition, type Position } from './tail.js';
import type { LogRecord } from './types.js';
import { LOG_LIMITS } from './config.js';

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
  /** The container's max-file: how many files the log may have. */
  maxFile?: number;
}

export interface LogOutput {
  stdout: Writable;
  stderr: Writable;
  /** Called once the log is open: what is read from then on cannot be taken away. */
  ready?: () => void;
}

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

/** `time ` before every line that begins in this payload. */
function stamped(p: Buffer, time: string, atLineStart: boolean): Buffer {
  const prefix = Buffer.from(`${time} `);
  const parts: Buffer[] = [];
  let at = 0;
  if (atLineStart) parts.push(prefix);
  for (let nl = p.indexOf(10); nl >= 0 && nl < p.length - 1; nl = p.indexOf(10, at)) {
    parts.push(p.subarray(at, nl + 1), prefix);
    at = nl + 1;
  }
  parts.push(p.subarray(at));
  return Buffer.concat(parts);
}

export async function printLogs(file: string, out: LogOutput, opts: ReadLogsOptions): Promise<void> {
  const maxFile = opts.maxFile ?? LOG_LIMITS.maxFile;
  const segs = await openLog(file, maxFile);
  out.ready?.();
  const open = new Set(segs);
  try {
    await print(file, segs, open, out, opts, maxFile);
  } finally {
    await Promise.all([...open].map(closeSegment));
  }
}

async function print(
  file: string,
  segs: Segment[],
  open: Set<Segment>,
  out: LogOutput,
  opts: ReadLogsOptions,
  maxFile: number,
): Promise<void> {
  const stopped = () => gone(out.stdout) || gone(out.stderr);
  const atLineStart = { stdout: true, stderr: true };
  const emit = async (r: LogRecord): Promise<void> => {
    if (opts.since !== undefined || opts.until !== undefined) {
      const t = Number(r.timeNs) / 1e9;
      if (opts.since !== undefined && !(t >= opts.since)) return;
      if (opts.until !== undefined && !(t <= opts.until)) return;
    }
    const w = r.stream === 'stderr' ? out.stderr : out.stdout;
    const data = opts.timestamps
      ? stamped(r.payload, formatTime(r.timeNs), atLineStart[r.stream])
      : r.payload;
    atLineStart[r.stream] = r.payload[r.payload.length - 1] === 10 || !r.partial;
    if (stopped()) return;
    if (!w.write(data) && !stopped()) await drained(w);
  };
  const drop = async (s: Segment) => {
    open.delete(s);
    await closeSegment(s);
  };

  // What is there now (the last `tail` lines of it): lines written later are read only when following.
  const ends = await Promise.all(segs.map(endOf));
  let cur: Segment | undefined = segs[segs.length - 1];
  let off = 0;
  if (segs.length) {
    const at: Position =
      opts.tail === undefined
        ? { seg: 0, off: startOf(segs[0]), skip: 0 }
        : await tailPosition(segs, ends, opts.tail);
    for (let i = 0; i < segs.length; i++) {
      if (i >= at.seg && !stopped()) {
        const from = i === at.seg ? at.off : startOf(segs[i]);
        off = (await readSegment(segs[i], from, ends[i], i === at.seg ? at.skip : 0, emit, stopped)).pos;
      } else off = startOf(segs[i]);
      if (i < segs.length - 1) await drop(segs[i]);
    }
  }
  /** Read `cur` from `off` as far as it goes now; true if anything was read. */
  const readOn = async (): Promise<boolean> => {
    if (!cur) return false;
    if (off < startOf(cur)) off = startOf(cur);
    const end = await endOf(cur);
    if (end <= off) return false;
    const r = await readSegment(cur, off, end, 0, emit, stopped);
    const moved = r.pos > off;
    off = r.damaged ? end : r.pos;
    return moved;
  };
  const past = () => opts.until !== undefined && Date.now() / 1000 > opts.until;
  while (opts.follow && !stopped() && !past()) {
    const running = opts.stillRunning ? await opts.stillRunning() : false;
    if (await readOn()) continue;
    // Nothing new here: has the log gone on in a new file?
    const next = await nextSegment(file, cur, maxFile);
    if (next) {
      await readOn(); // what was written to this file before it was closed
      if (cur) await drop(cur);
      cur = next;
      open.add(next);
      off = startOf(next);
      continue;
    }
    // One more read after the exit is seen (above), so the last lines are not lost.
    if (!running) break;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  // A follow that ended at `until`: what was written before it and not yet read.
  if (opts.follow && past() && !stopped()) await readOn();
}
