/**
 * Container output as JSON lines, like docker's json-file driver:
 * {"log":"hello\n","stream":"stdout","time":"2026-11-22T12:00:00.000000000Z"}
 * Lines are split at newlines and at 16 KiB; a partial last line is flushed at the end.
 */
import { createReadStream, promises as fsp } from 'node:fs';
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
  tail?: number;
}

/** Print a container's log to stdout/stderr by stream; with follow, keep reading until it exits. */
export async function printLogs(
  file: string,
  out: { stdout: Writable; stderr: Writable },
  opts: ReadLogsOptions,
): Promise<void> {
  let pos = 0;
  let partial = '';
  let first = true;
  const write = (line: string) => {
    if (!line.trim()) return;
    let e: LogEntry;
    try {
      e = JSON.parse(line) as LogEntry;
    } catch {
      return; // a torn last line from a crashed monitor
    }
    const text = opts.timestamps ? `${e.time} ${e.log}` : e.log;
    (e.stream === 'stderr' ? out.stderr : out.stdout).write(text);
  };
  for (;;) {
    let size = 0;
    try {
      size = (await fsp.stat(file)).size;
    } catch {
      size = 0;
    }
    if (size > pos) {
      const chunk = await readRange(file, pos, size);
      pos = size;
      const text = partial + chunk;
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      const sel = first && opts.tail !== undefined ? lines.filter((l) => l.trim()).slice(-opts.tail) : lines;
      for (const l of sel) write(l);
    }
    first = false;
    if (!opts.follow) break;
    const running = opts.stillRunning ? await opts.stillRunning() : false;
    if (!running) {
      // One more read after the exit is seen, so the last lines are not lost.
      const s2 = await fsp
        .stat(file)
        .then((s) => s.size)
        .catch(() => 0);
      if (s2 === pos) break;
      continue;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (partial) write(partial);
}

function readRange(file: string, start: number, end: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(file, { start, end: end - 1 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      .on('error', reject);
  });
}
