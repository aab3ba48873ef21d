/**
 * A container's root as a directory descriptor, and paths resolved inside it with chroot
 * semantics, the way runc's securejoin and docker's cp do, but by descriptors:
 *
 *   - a path is walked one component at a time from the root's descriptor; each directory on the
 *     way is opened through `/proc/self/fd/N/name` with O_DIRECTORY|O_NOFOLLOW, so the kernel
 *     follows no symlink of the container's (a directory swapped for a symlink between our lstat
 *     and our open makes the open fail instead of leaving the root);
 *   - a symlink met on the way is read and its target walked again by us: an absolute target
 *     starts at the container's root, never the host's, and `..` stops at the root (`/..` is `/`
 *     in a chroot as on the host). The host path of the root is never joined with a name;
 *   - `..` is never handed to the kernel: the walk keeps its own stack of opened directories.
 *
 * Sync calls on purpose: short metadata syscalls, as in unpack-resolver.ts.
 */
import {
  closeSync,
  fstatSync,
  constants as C,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  type Stats,
} from 'node:fs';
import { errnoCode } from '../../errors.js';
import { RuntimeError } from '../errors.js';

/** As the kernel's MAXSYMLINKS. */
export const MAX_SYMLINKS = 40;

const OPEN_DIR = C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW;

/** The path the kernel resolves for `name` in the directory open as `fd` ('' : the directory). */
export function at(fd: number, name = ''): string {
  return name === '' ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}

/** lstat, or null when nothing is there. */
export function lstatAt(fd: number, name: string): Stats | null {
  try {
    return lstatSync(at(fd, name));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** Open the directory `name` in `fd` without following a symlink there. */
export function openDirAt(fd: number, name: string): number {
  return openSync(at(fd, name), OPEN_DIR);
}

/** The components of a path in a container: `.` and empty ones dropped, `..` kept for the walk. */
export function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

export interface Resolved {
  /** The directory that holds the result, open (close with `close()`). */
  dir: number;
  /**
   * The result's name in `dir`; '' when the result is `dir` itself (the root, or a path that
   * ended in `..`).
   */
  name: string;
  /** What is there (not followed when `name` is a symlink and followLast was off); null: nothing. */
  st: Stats | null;
  /** The path in the container it resolved to (symlinks resolved), for messages and tests. */
  path: string;
  close(): void;
}

export interface ResolveOptions {
  /** Follow a symlink in the last component too (`cp -L`, a path ending in `/`). */
  followLast: boolean;
  /** Make missing directories on the way (0755), as tar does for parents an archive omits. */
  create?: boolean;
  /**
   * Refuse a symlink anywhere before the last component instead of following it: for trees
   * where nothing but the entries themselves should be written (a host directory receiving a
   * container's archive).
   */
  noSymlinks?: boolean;
}

function refused(message: string): RuntimeError {
  return new RuntimeError('RUNTIME_COPY_REFUSED', message);
}

export function notFound(path: string): RuntimeError {
  return new RuntimeError('RUNTIME_PATH_NOT_FOUND', `no such file or directory: ${JSON.stringify(path)}`);
}

/**
 * A root directory held open: everything resolved here stays below it.
 */
export class FdRoot {
  readonly fd: number;

  /** `root` is trusted (moat's own mount point, or /proc/PID/root of a container moat runs). */
  constructor(root: string | number) {
    this.fd = typeof root === 'number' ? root : openSync(root, C.O_RDONLY | C.O_DIRECTORY);
  }

  close(): void {
    closeSync(this.fd);
  }

  /**
   * Resolve `p` (absolute or not: always from the root). A missing component on the way throws
   * RUNTIME_PATH_NOT_FOUND (unless `create`); a missing last component gives `st: null`.
   */
  resolve(p: string, o: ResolveOptions): Resolved {
    // The stack of directories walked: [root, ...]; names parallel, for the resolved path.
    const fds: number[] = [this.fd];
    const names: string[] = [];
    const queue = splitPath(p);
    let links = 0;
    const closeFrom = (depth: number) => {
      while (fds.length > depth) {
        const fd = fds.pop()!;
        names.pop();
        if (fd !== this.fd) closeSync(fd);
      }
    };
    const done = (name: string, st: Stats | null): Resolved => {
      const resolved = '/' + [...names, ...(name ? [name] : [])].join('/');
      const fd = fds.pop()!;
      names.splice(fds.length - 1);
      // Every other directory on the stack is closed; the one returned is the caller's.
      closeFrom(1);
      const owned = fd !== this.fd;
      return {
        dir: fd,
        name,
        st,
        path: resolved,
        close: () => {
          if (owned) closeSync(fd);
        },
      };
    };
    try {
      for (;;) {
        const c = queue.shift();
        const top = fds[fds.length - 1];
        if (c === undefined) {
          // The path ended on a directory already walked (the root, or `..`).
          return done('', fstatSync(top));
        }
        if (c === '..') {
          if (fds.length > 1) closeFrom(fds.length - 1);
          continue;
        }
        const last = queue.length === 0;
        const st = lstatAt(top, c);
        if (st === null) {
          if (last) return done(c, null);
          if (!o.create) throw notFound(p);
          mkdirSync(at(top, c), 0o755);
          fds.push(openDirAt(top, c));
          names.push(c);
          continue;
        }
        if (st.isSymbolicLink() && (!last || o.followLast)) {
          if (o.noSymlinks && !last)
            throw refused(
              `${JSON.stringify(p)}: ${JSON.stringify(c)} is a symlink; nothing is written through one here`,
            );
          if (++links > MAX_SYMLINKS) throw refused(`${JSON.stringify(p)}: too many levels of symlinks`);
          const target = readlinkSync(at(top, c));
          if (target.startsWith('/')) closeFrom(1);
          queue.unshift(...splitPath(target));
          continue;
        }
        if (last) return done(c, st);
        if (!st.isDirectory()) throw refused(`${JSON.stringify(p)}: ${JSON.stringify(c)} is not a directory`);
        fds.push(openDirAt(top, c));
        names.push(c);
      }
    } catch (e) {
      closeFrom(1);
      if (e instanceof RuntimeError) throw e;
      const code = errnoCode(e);
      // A directory replaced by a symlink since its lstat (a running container racing us).
      if (code === 'ELOOP') throw refused(`${JSON.stringify(p)} changed while it was resolved`);
      if (code === 'ENOENT') throw notFound(p);
      throw e;
    }
  }

  /**
   * The directory `p` resolves to, open (`name` ''), symlinks followed inside the root unless
   * `noSymlinks`; with `create`, made (0755) where missing. Anything else is refused.
   */
  directory(p: string, o: { create?: boolean; noSymlinks?: boolean } = {}): Resolved {
    const r = this.resolve(p, { followLast: !o.noSymlinks, create: o.create, noSymlinks: o.noSymlinks });
    if (r.name === '') return r;
    try {
      if (!r.st) {
        if (!o.create) throw notFound(p);
        mkdirSync(at(r.dir, r.name), 0o755);
      } else if (!r.st.isDirectory()) {
        throw refused(`${JSON.stringify(p)} is not a directory`);
      }
      const fd = openDirAt(r.dir, r.name);
      return { dir: fd, name: '', st: r.st ?? fstatSync(fd), path: r.path, close: () => closeSync(fd) };
    } catch (e) {
      if (errnoCode(e) === 'ELOOP') throw refused(`${JSON.stringify(p)} changed while it was resolved`);
      throw e;
    } finally {
      r.close();
    }
  }
}
