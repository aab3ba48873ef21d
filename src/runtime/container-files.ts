/**
 * Reading a small file of a container's root from the host (its /etc/passwd, to resolve
 * `exec -u NAME`). The files are the container's to shape: a symlink there resolves against the
 * host's root, a fifo blocks a reader forever. So no component is followed if it is a symlink
 * (each directory is opened with O_NOFOLLOW and the next component looked up inside that open
 * directory, through /proc/self/fd, so it cannot be swapped in between), only regular files are
 * read, non-blocking, and only so much of them.
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

const MAX_BYTES = 1 << 20;

export type ReadResult = { text: string } | { deleted: true } | undefined;

/**
 * Read `rel` (e.g. `etc/passwd`) under `root`: its text; `{deleted}` when an overlay whiteout
 * (a 0:0 character device) stands there; undefined when it is absent or anything but a regular
 * file reached without symlinks.
 */
export async function readRootFile(root: string, rel: string): Promise<ReadResult> {
  const parts = rel.split('/').filter((p) => p && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  let dir: FileHandle | undefined;
  try {
    dir = await fsp.open(root, constants.O_RDONLY | constants.O_DIRECTORY);
    for (const name of parts.slice(0, -1)) {
      const next = await fsp.open(
        `/proc/self/fd/${dir.fd}/${name}`,
        constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
      );
      await dir.close();
      dir = next;
    }
    const path = `/proc/self/fd/${dir.fd}/${parts[parts.length - 1]}`;
    const st = await fsp.lstat(path).catch(() => undefined);
    if (!st) return undefined;
    if (st.isCharacterDevice() && st.rdev === 0) return { deleted: true };
    if (!st.isFile()) return undefined;
    const f = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const fst = await f.stat();
      if (!fst.isFile()) return undefined;
      const buf = Buffer.alloc(Math.min(fst.size, MAX_BYTES));
      const { bytesRead } = await f.read(buf, 0, buf.length, 0);
      return { text: buf.subarray(0, bytesRead).toString('utf8') };
    } finally {
      await f.close();
    }
  } catch {
    return undefined;
  } finally {
    await dir?.close().catch(() => {});
  }
}

/**
 * A file as the container sees it: its own upper layer first (where it may have been changed
 * or deleted), then the image's root.
 */
export async function readContainerFile(
  layers: { upper: string; lower: string },
  rel: string,
): Promise<string | undefined> {
  const up = await readRootFile(layers.upper, rel);
  if (up && 'deleted' in up) return undefined;
  if (up) return up.text;
  const low = await readRootFile(layers.lower, rel);
  return low && 'text' in low ? low.text : undefined;
}
