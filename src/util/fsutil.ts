import { randomBytes } from 'node:crypto';
import {
  constants,
  promises as fsp,
  renameSync,
  writeFileSync,
  fchmodSync,
  fsyncSync,
  openSync,
  closeSync,
} from 'node:fs';
import * as path from 'node:path';

/** A temporary name next to `target`, so a rename onto `target` is atomic (same filesystem). */
export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

/**
 * Write a file atomically: temp file in the same directory, fsync, rename over the target. The
 * file gets exactly `mode` (private by default), whatever the umask: moat never relies on it.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  mode = 0o600,
): Promise<void> {
  const tmp = tempNameFor(target);
  const fh = await fsp.open(tmp, 'wx', mode & 0o600);
  try {
    await fh.chmod(mode);
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = tempNameFor(target);
  const fd = openSync(tmp, 'wx', mode & 0o600);
  try {
    fchmodSync(fd, mode);
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
}

export async function writeJsonAtomic(target: string, value: unknown, mode = 0o600): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n', mode);
}

/** A directory's entries; none when it does not exist (yet). */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  return fsp.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Read a small file that another user may write (what runc writes as container root, for root's
 * containers): no symlink followed, a regular file only (a FIFO would block a thread for good, a
 * device never end), at most `max` bytes, the last ones with `tail` (a log's last lines). '' when
 * it is missing or is not a regular file.
 */
export async function readUntrusted(file: string, max: number, o: { tail?: boolean } = {}): Promise<string> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return '';
    const n = Math.min(st.size, max);
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, o.tail ? st.size - n : 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch {
    return '';
  } finally {
    await fh.close().catch(() => {});
  }
}
