/** Logs for the log tests: written by moat's own writer, read back as `logs` reads them. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import {
  LOG_DEFAULTS,
  LogWriter,
  printLogs,
  type ReadLogsOptions,
  type StreamName,
} from '../../../src/runtime/logs/index.js';

/** A line written by one write of the container: text, stream, time (ms). */
export type Line = [text: string, stream?: StreamName, timeMs?: number];

export const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/** A fresh directory and the path of a log in it. */
export function tmpLog(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'moat-logs-'));
  return { dir, file: path.join(dir, 'container.log') };
}

export interface TestWriter {
  writer: LogWriter;
  /** The time the next records get (ms). */
  clock: { ms: number };
  errors: string[];
}

export function newWriter(file: string, o: { maxSize?: number; maxFile?: number } = {}): TestWriter {
  const clock = { ms: T0 };
  const errors: string[] = [];
  const writer = new LogWriter(file, {
    maxSize: o.maxSize ?? LOG_DEFAULTS.maxSize,
    maxFile: o.maxFile ?? LOG_DEFAULTS.maxFile,
    now: () => BigInt(clock.ms) * 1_000_000n,
    onError: (msg) => errors.push(msg),
  });
  return { writer, clock, errors };
}

/** A log holding these lines, each from a write of its own; returns its path. */
export function writeLog(lines: Line[], o: { maxSize?: number; maxFile?: number } = {}): string {
  const { file } = tmpLog();
  const { writer, clock } = newWriter(file, o);
  for (const [text, stream = 'stdout', ms = T0] of lines) {
    clock.ms = ms;
    writer.write(stream, Buffer.from(text));
  }
  writer.end();
  return file;
}

/** Collects what is written, as bytes. */
export function collector(): { w: Writable; text: () => string; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      parts.push(Buffer.from(c));
      cb();
    },
  });
  const bytes = () => Buffer.concat(parts);
  return { w, text: () => bytes().toString(), bytes };
}

export async function read(
  file: string,
  opts: ReadLogsOptions,
): Promise<{ out: string; err: string; outBytes: Buffer }> {
  const out = collector();
  const err = collector();
  await printLogs(file, { stdout: out.w, stderr: err.w }, opts);
  return { out: out.text(), err: err.text(), outBytes: out.bytes() };
}
