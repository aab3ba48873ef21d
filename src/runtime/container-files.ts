/**
 * Reading a small file of an image's or a container's root on the host: its /etc/passwd and
 * /etc/group, to resolve `run -u NAME` and `exec -u NAME`. The files are the image author's (or
 * the running container's) to shape, so they are read the way runc and podman read them with
 * securejoin:
 *
 *   - the path is resolved inside the root by the unpacker's resolver (unpack-resolver.ts), with
 *     chroot semantics: a symlink `/etc/passwd -> /home/you/file` names `<root>/home/you/file`,
 *     never the host's file;
 *   - the path it resolved to is opened one directory at a time, each with O_NOFOLLOW, through
 *     /proc/self/fd (a running container may swap a directory of its upper layer for a symlink
 *     between the resolution and the open: the open then fails instead of following it);
 *   - only a regular file is read: the last open is O_NONBLOCK|O_NOFOLLOW and fstat decides, so
 *     a fifo (or a device) never blocks one of libuv's threads;
 *   - at most MAX_FILE_BYTES are read: a larger file is an error, not a truncated user list.
 *
 * A missing file (or one behind a symlink to nothing, a directory that is not one, or one this
 * user may not read) reads as undefined, as before: no passwd, numeric users only. Anything else
 * is IMAGE_UNSAFE_FILE, at once.
 *
 * Sync calls on purpose: a handful of short metadata syscalls and one read of at most 1 MiB.
 */
import {
  closeSync,
  constants as C,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  type Stats,
} from 'node:fs';
import { errnoCode } from '../errors.js';
import { ImageError } from '../image/errors.js';
import { RootResolver } from '../image/unpack-resolver.js';

/** The most moat reads of one such file; a real /etc/passwd of 10,000 users is ~600 kB. */
export const MAX_FILE_BYTES = 1 << 20;

const OPEN_DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;
const OPEN_FILE = C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK;
/** What reads as "not there", as it would inside the container (or to a user who may not look). */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EACCES']);

/**
 * Read `rel` (e.g. `etc/passwd`) of an image's flattened root: its text, or undefined when it is
 * absent. Throws IMAGE_UNSAFE_FILE when it is not a regular file or too large.
 */
export async function readImageFile(root: string, rel: string): Promise<string | undefined> {
  return readResolved(new RootResolver(root), rel, "the image's");
}

/**
 * A file as the running container sees it: its own upper layer first (where it may have been
 * changed or deleted), then the image's root; symlinks resolve in that merged view.
 */
export async function readContainerFile(
  layers: { upper: string; lower: string },
  rel: string,
): Promise<string | undefined> {
  return readResolved(new OverlayResolver([layers.upper, layers.lower]), rel, "the container's");
}

function readResolved(r: RootResolver | OverlayResolver, rel: string, whose: string): string | undefined {
  const parts = rel.split('/').filter((p) => p && p !== '.');
  if (parts.length === 0 || parts.includes('..')) return undefined;
  const what = `${whose} /${parts.join('/')}`;
  let real: string | null;
  try {
    real = r.resolve(parts);
  } catch (e) {
    if (e instanceof ImageError && e.code === 'IMAGE_UNSAFE_ENTRY') return undefined; // ENOTDIR
    if (e instanceof ImageError) throw unsafe(`cannot read ${what}: ${e.message}`, e);
    if (ABSENT.has(errnoCode(e) ?? '')) return undefined;
    throw unsafe(`cannot read ${what}: ${(e as Error).message}`, e);
  }
  if (real === null || real === '') return undefined;
  const root = r instanceof OverlayResolver ? r.layerOf(real)?.root : r.root;
  if (root === undefined) return undefined;
  return readBelow(root, real, what);
}

/** Open `real` (symlink-free, relative) under `root` without following anything, and read it. */
function readBelow(root: string, real: string, what: string): string | undefined {
  const parts = real.split('/');
  let dir: number | undefined;
  let fd: number | undefined;
  try {
    dir = openSync(root, C.O_RDONLY | C.O_DIRECTORY);
    for (const name of parts.slice(0, -1)) {
      const next = openSync(`/proc/self/fd/${dir}/${name}`, OPEN_DIR);
      closeSync(dir);
      dir = next;
    }
    const path = `/proc/self/fd/${dir}/${parts[parts.length - 1]}`;
    // lstat first: not even an O_NONBLOCK open for a device or a fifo.
    check(lstatSync(path), what);
    fd = openSync(path, OPEN_FILE);
    const st = fstatSync(fd);
    check(st, what);
    if (st.size > MAX_FILE_BYTES) throw tooLarge(what, st.size);
    const buf = Buffer.alloc(Math.min(st.size, MAX_FILE_BYTES) + 1);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, n);
    // It grew while being read (a container appending to its own file).
    if (n > MAX_FILE_BYTES) throw tooLarge(what, n);
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof ImageError) throw e;
    if (ABSENT.has(errnoCode(e) ?? '')) return undefined;
    // ELOOP: a directory became a symlink since the resolution (a container racing us).
    throw unsafe(`cannot read ${what}: ${errnoCode(e) ?? (e as Error).message}`, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (dir !== undefined) closeSync(dir);
  }
}

function check(st: Stats, what: string): void {
  if (st.isFile()) return;
  throw unsafe(`${what} is ${kindOf(st)}, not a regular file`);
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a fifo';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'not a file';
}

function tooLarge(what: string, size: number): ImageError {
  return unsafe(`${what} is larger than moat reads (${size} bytes; at most ${MAX_FILE_BYTES})`);
}

function unsafe(message: string, cause?: unknown): ImageError {
  return new ImageError('IMAGE_UNSAFE_FILE', message, cause === undefined ? {} : { cause });
}

/**
 * The merged view of an overlay's layers (upper first), for the resolver: a name is what the
 * topmost layer that has it holds; a 0:0 character device there is a whiteout (deleted). A
 * layer's copy counts only if every directory above it in that layer is a real directory.
 * Opaque directories (an xattr Node cannot read) are not seen: a file the container deleted with
 * its whole directory, then made the directory again, may still be read from the image.
 */
class OverlayResolver extends RootResolver {
  constructor(private readonly layers: readonly string[]) {
    super(layers[0]);
  }

  /** The topmost layer holding the real path `rel`, and what is there; undefined if none. */
  layerOf(rel: string): { root: string; st: Stats } | undefined {
    for (const [i, root] of this.layers.entries()) {
      const st = lstatIn(root, rel);
      if (st === null) continue;
      // The lowest layer is an image's flattened root: it holds no whiteouts.
      if (i < this.layers.length - 1 && st.isCharacterDevice() && st.rdev === 0) return undefined;
      return { root, st };
    }
    return undefined;
  }

  protected override lstat(rel: string): Stats | null {
    return this.layerOf(rel)?.st ?? null;
  }

  protected override readlink(rel: string): string {
    const l = this.layerOf(rel);
    if (!l) throw Object.assign(new Error(`${rel}: no such file`), { code: 'ENOENT' });
    return readlinkSync(`${l.root}/${rel}`);
  }
}

/** lstat of `rel` in one layer, if each directory above it is a directory there. */
function lstatIn(root: string, rel: string): Stats | null {
  const parts = rel.split('/');
  try {
    let p = root;
    for (const name of parts.slice(0, -1)) {
      p += '/' + name;
      if (!lstatSync(p).isDirectory()) return null;
    }
    return lstatSync(`${p}/${parts[parts.length - 1]}`);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}
