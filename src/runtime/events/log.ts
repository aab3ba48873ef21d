/**
 * The event log: what happened to containers (create, start, die with its exit code, oom, kill,
 * stop, destroy, attach, exec, ...), one JSON line per event in `$XDG_DATA_HOME/moat/events.log`,
 * appended by whichever process saw it (the CLI, the service, a container's monitor). Lines are
 * short (a bounded number of bounded attributes) and written with one append each, so writers
 * do not interleave. At MAX_BYTES the file becomes `events.log.1` (the previous one is dropped):
 * the log never takes more than twice that. `moat events` and the API's /events read it.
 */
import { appendFileSync, promises as fsp, renameSync, statSync, watch as fsWatch } from 'node:fs';
import * as path from 'node:path';

export const MAX_BYTES = 4 * 1024 * 1024;
const MAX_ATTR = 256;
const MAX_LINE = 4096;

export type EventType = 'container' | 'image';

export interface MoatEvent {
  /** Nanoseconds since the epoch, as a decimal string (docker's timeNano). */
  timeNano: string;
  type: EventType;
  action: string;
  /** The container or image ID. */
  id: string;
  attributes: Record<string, string>;
}

export function eventLogPath(dataDir: string): string {
  return path.join(dataDir, 'events.log');
}

function nowNano(): string {
  const ms = BigInt(Date.now());
  const sub = process.hrtime.bigint() % 1_000_000n;
  return String(ms * 1_000_000n + sub);
}

/**
 * Appends an event. Never throws: losing an event must not fail the operation it describes (a
 * full disk is reported by the operation itself).
 */
export function emitEvent(
  dataDir: string,
  e: {
    type: EventType;
    action: string;
    id: string;
    attributes?: Record<string, string | number | undefined>;
  },
): void {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.attributes ?? {})) {
    if (v !== undefined) attributes[k.slice(0, 64)] = String(v).slice(0, MAX_ATTR);
  }
  const ev: MoatEvent = { timeNano: nowNano(), type: e.type, action: e.action, id: e.id, attributes };
  const line = JSON.stringify(ev);
  if (line.length > MAX_LINE) return;
  const file = eventLogPath(dataDir);
  try {
    if (statSync(file).size > MAX_BYTES) renameSync(file, `${file}.1`);
  } catch {
    /* not there yet */
  }
  try {
    appendFileSync(file, line + '\n', { mode: 0o600 });
  } catch {
    /* see above */
  }
}

function parseLine(line: string): MoatEvent | undefined {
  if (!line || line.length > MAX_LINE) return undefined;
  try {
    const v = JSON.parse(line) as MoatEvent;
    if (typeof v?.timeNano !== 'string' || typeof v.action !== 'string' || typeof v.id !== 'string')
      return undefined;
    if (typeof v.attributes !== 'object' || v.attributes === null) v.attributes = {};
    return v;
  } catch {
    return undefined;
  }
}

async function readEvents(file: string, from = 0): Promise<{ events: MoatEvent[]; end: number }> {
  let fh;
  try {
    fh = await fsp.open(file, 'r');
  } catch {
    return { events: [], end: 0 };
  }
  try {
    const size = (await fh.stat()).size;
    if (size <= from) return { events: [], end: size };
    const buf = Buffer.alloc(Math.min(size - from, 2 * MAX_BYTES));
    const { bytesRead } = await fh.read(buf, 0, buf.length, from);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    // Only whole lines: a line being appended right now is read on the next round.
    const last = text.lastIndexOf('\n');
    const whole = last < 0 ? '' : text.slice(0, last);
    const events = whole.split('\n').flatMap((l) => parseLine(l) ?? []);
    return { events, end: from + Buffer.byteLength(text.slice(0, last + 1)) };
  } finally {
    await fh.close();
  }
}

export interface ReadOptions {
  /** Nanoseconds since the epoch: events before are skipped. */
  since?: bigint;
  /** Stop at this time (no following past it). Unset: follow until `signal` aborts. */
  until?: bigint;
  follow: boolean;
  filter: (e: MoatEvent) => boolean;
  signal?: AbortSignal;
}

/** Calls `onEvent` for each matching event: the stored ones, then (following) new ones as they come. */
export async function streamEvents(
  dataDir: string,
  o: ReadOptions,
  onEvent: (e: MoatEvent) => void | Promise<void>,
): Promise<void> {
  const file = eventLogPath(dataDir);
  const pass = async (evs: MoatEvent[]): Promise<boolean> => {
    for (const e of evs) {
      const t = BigInt(e.timeNano);
      if (o.since !== undefined && t < o.since) continue;
      if (o.until !== undefined && t > o.until) return false;
      if (o.filter(e)) await onEvent(e);
    }
    return true;
  };
  const old = await readEvents(`${file}.1`);
  const cur = await readEvents(file);
  if (!(await pass([...old.events, ...cur.events]))) return;
  if (!o.follow) return;
  let pos = cur.end;
  const deadline = o.until !== undefined ? Number(o.until / 1_000_000n) : undefined;
  let wake = () => {};
  let watcher;
  try {
    watcher = fsWatch(path.dirname(file), () => wake());
    watcher.on('error', () => {});
  } catch {
    watcher = undefined;
  }
  try {
    while (!o.signal?.aborted) {
      if (deadline !== undefined && Date.now() > deadline) return;
      let size = 0;
      try {
        size = statSync(file).size;
      } catch {
        size = 0;
      }
      if (size < pos) pos = 0; // rotated: the new file from its start
      if (size > pos) {
        const next = await readEvents(file, pos);
        pos = next.end;
        if (!(await pass(next.events))) return;
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, watcher ? 1000 : 200);
        const done = () => {
          clearTimeout(t);
          resolve();
        };
        wake = done;
        o.signal?.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    watcher?.close();
  }
}
