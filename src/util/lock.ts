/**
 * A cross-process lock: a file created with O_EXCL holding "<pid> <random> <start time>". Node has
 * no flock(2); this is enough for the CLI invocations of one user. A holder whose pid is gone (or
 * a zombie, or, when the file has the holder's start time, a later process with its pid) is stale
 * and its file is moved aside (and put back if it changed meanwhile); the random part lets
 * release() check it still owns the file. Like every pid lock, it assumes all users share one
 * pid namespace.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../errors.js';
// The lock's default error is the runtime's code; runtime/errors.ts imports nothing but ../errors.js.
import { RuntimeError } from '../runtime/errors.js';
import { pidInUse, processStartTime } from './proc.js';

/** An unreadable (pid-less) lock file younger than this may be mid-creation; older is stale. */
const GRACE_MS = 5_000;

export interface LockOptions {
  timeoutMs?: number;
  /** The error to throw on timeout (default RUNTIME_LOCK_TIMEOUT). */
  onTimeout?: (file: string, holderPid: number | undefined) => Error;
}

function defaultTimeout(file: string, pid: number | undefined): Error {
  return new RuntimeError(
    'RUNTIME_LOCK_TIMEOUT',
    `timed out waiting for lock ${file} (held by pid ${pid ?? '?'})`,
    {
      hint: 'another moat command is working on this object; retry when it has finished',
    },
  );
}

/**
 * The holder's start time, from a whole lock file that has one (older moats wrote "<pid> <random>";
 * a file read while it is being written lacks the final newline, and is judged by its pid alone).
 */
function holderStart(text: string): string | undefined {
  return /^\d+ [0-9a-f]+ (\d+)\n$/.exec(text)?.[1];
}

async function readLock(file: string): Promise<{ text: string; mtimeMs: number } | undefined> {
  try {
    const [text, st] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    return { text, mtimeMs: st.mtimeMs };
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

async function steal(file: string, seen: string): Promise<void> {
  const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await fsp.rename(file, aside);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  const moved = await fsp.readFile(aside, 'utf8').catch(() => seen);
  if (moved !== seen) await fsp.link(aside, file).catch(() => {});
  await fsp.rm(aside, { force: true });
}

/** Take the lock; resolves to its release function. */
export async function acquire(file: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  // The start time (absent if /proc cannot tell it) lets a waiter tell a reused pid from us.
  const start = processStartTime(process.pid);
  const token = `${process.pid} ${randomBytes(8).toString('hex')}${start ? ` ${start}` : ''}\n`;
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let delay = 2;
  for (;;) {
    try {
      const fh = await fsp.open(file, 'wx', 0o600);
      try {
        await fh.writeFile(token);
      } finally {
        await fh.close();
      }
      return async () => {
        if ((await readLock(file))?.text === token) await fsp.rm(file, { force: true });
      };
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
    const holder = await readLock(file);
    if (holder === undefined) continue;
    const pid = Number.parseInt(holder.text, 10);
    const stale = Number.isSafeInteger(pid)
      ? !pidInUse(pid, holderStart(holder.text))
      : Date.now() - holder.mtimeMs > GRACE_MS;
    if (stale) {
      await steal(file, holder.text);
      continue;
    }
    if (Date.now() > deadline)
      throw (opts.onTimeout ?? defaultTimeout)(file, Number.isSafeInteger(pid) ? pid : undefined);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
}

export async function withLock<T>(file: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const release = await acquire(file, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}
