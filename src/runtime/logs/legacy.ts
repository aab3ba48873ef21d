/**
 * moat's earlier log format, JSON lines as Docker's json-file driver writes them
 * (`{"log":"hello\n","stream":"stdout","time":"2026-..."}`): still read for a container whose
 * monitor wrote it; its next start sets the file aside (writer.ts). Read in bounded chunks.
 */
import type { FileHandle } from 'node:fs/promises';
import type { LogRecord } from './types.js';

const READ_CHUNK = 1 << 20;
/** A "line" this long without a newline is not one moat wrote: it is dropped. */
const MAX_LINE = 1 << 20;

function parse(line: Buffer): LogRecord | undefined {
  let e: { log?: unknown; stream?: unknown; time?: unknown };
  try {
    e = JSON.parse(line.toString('utf8')) as typeof e;
  } catch {
    return undefined; // a torn last line from a crashed monitor
  }
  if (typeof e?.log !== 'string') return undefined;
  const ms = typeof e.time === 'string' ? Date.parse(e.time) : NaN;
  return {
    stream: e.stream === 'stderr' ? 'stderr' : 'stdout',
    partial: false,
    timeNs: Number.isFinite(ms) && ms >= 0 ? BigInt(ms) * 1_000_000n : 0n,
    payload: Buffer.from(e.log, 'utf8'),
  };
}

/**
 * Hand each whole line from `from` to `to` to `emit`; returns where the first unfinished line
 * begins (read again later, when it may have ended).
 */
export async function readJsonLines(
  fh: FileHandle,
  from: number,
  to: number,
  emit: (r: LogRecord) => Promise<void>,
  stopped: () => boolean,
): Promise<number> {
  let pos = from;
  let partial: Buffer = Buffer.alloc(0);
  while (pos < to && !stopped()) {
    const chunk = Buffer.alloc(Math.min(READ_CHUNK, to - pos));
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
    if (!bytesRead) break;
    pos += bytesRead;
    let buf = partial.length
      ? Buffer.concat([partial, chunk.subarray(0, bytesRead)])
      : chunk.subarray(0, bytesRead);
    for (let nl = buf.indexOf(10); nl >= 0 && !stopped(); nl = buf.indexOf(10)) {
      const r = nl > 0 ? parse(buf.subarray(0, nl)) : undefined;
      if (r) await emit(r);
      buf = buf.subarray(nl + 1);
    }
    partial = buf.length > MAX_LINE ? Buffer.alloc(0) : Buffer.from(buf);
  }
  return pos - partial.length;
}

/** Where the last `n` lines before `end` begin (`end` for 0), scanning backwards. */
export async function jsonTailOffset(fh: FileHandle, n: number, end: number): Promise<number> {
  const buf = Buffer.alloc(64 * 1024);
  let at = end;
  // Lines end with a newline: the (n+1)th from the end closes the line before the last n.
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
}
