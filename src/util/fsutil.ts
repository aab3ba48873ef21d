import { randomBytes } from 'node:crypto';
import { promises as fsp, renameSync, writeFileSync, fsyncSync, openSync, closeSync } from 'node:fs';
import * as path from 'node:path';

/** A temporary name next to `target`, so a rename onto `target` is atomic (same filesystem). */
export function tempNameFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
}

/** Write a file atomically: temp file in the same directory, fsync, rename over the target. */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const tmp = tempNameFor(target);
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
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

export function writeFileAtomicSync(target: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = tempNameFor(target);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
}

export async function writeJsonAtomic(target: string, value: unknown, mode = 0o644): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n', mode);
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
