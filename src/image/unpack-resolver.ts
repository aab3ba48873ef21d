import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { errnoCode } from '../errors.js';
import { ImageError } from './errors.js';
import { quote } from './unpack-path.js';

/** Like the kernel's MAXSYMLINKS: a resolution that follows more links than this is a loop. */
const MAX_SYMLINKS = 40;

/**
 * Turns directory names inside a rootfs into host paths with chroot semantics, without ever
 * handing the kernel a path whose parent components could be symlinks.
 *
 * Node has no openat(2) or O_NOFOLLOW-per-component, so the walk is done here: one component at
 * a time with lstat. A symlink met on the way is read and resolved by us, inside the rootfs
 * (absolute targets start at the rootfs; `..` at the rootfs is clamped for absolute targets, and
 * refused for relative ones, which would have escaped lexically). Every path this returns is
 * "real": made only of directories that were lstat'ed or created by us, so the kernel follows
 * no symlink when it is used as a parent.
 *
 * The calls are synchronous on purpose: they are short metadata syscalls, and a round trip
 * through libuv's thread pool costs several times the syscall itself (see unpack-writer.ts).
 *
 * Assumption (TOCTOU): the rootfs is private to moat while a layer is applied; nothing else
 * renames or replaces its directories between our lstat and our use. Under that assumption the
 * cache below is exact as long as the writer calls {@link invalidate} whenever it removes or
 * replaces a directory or a symlink.
 */
export class RootResolver {
  /** name of a directory (relative, '' = rootfs) → its real path relative to the rootfs. */
  private readonly dirs = new Map<string, string>([['', '']]);

  constructor(readonly root: string) {}

  /** Host path of a real relative path. */
  abs(rel: string): string {
    return rel === '' ? this.root : this.root + '/' + rel;
  }

  /** Forget every cached lookup (after a removal or replacement). */
  invalidate(): void {
    this.dirs.clear();
    this.dirs.set('', '');
  }

  /** Record a directory the caller has just created or verified at real path `rel`. */
  remember(name: string, rel: string): void {
    this.dirs.set(name, rel);
    this.dirs.set(rel, rel);
  }

  /**
   * Resolve directory components to a real directory. With `create`, missing components are made
   * (0755, like docker and containerd do for parents a layer does not list); without it a missing
   * component gives `null`. A component that is a file, or a symlink to a file or to nothing, is
   * refused: tar cannot put an entry under it either.
   */
  dir(parts: readonly string[], create: boolean): string | null {
    const name = parts.join('/');
    const hit = this.dirs.get(name);
    if (hit !== undefined) return hit;
    const parent = this.dir(parts.slice(0, -1), create);
    if (parent === null) return null;
    const real = this.step(parent, parts[parts.length - 1], create, { links: 0 }, name);
    if (real !== null) this.dirs.set(name, real);
    return real;
  }

  private step(
    parent: string,
    component: string,
    create: boolean,
    budget: { links: number },
    name: string,
  ): string | null {
    const rel = parent === '' ? component : parent + '/' + component;
    const hit = this.dirs.get(rel);
    if (hit !== undefined) return hit;
    const st = this.lstat(rel);
    if (st === null) {
      if (!create) return null;
      mkdirSync(this.abs(rel), 0o755);
      this.dirs.set(rel, rel);
      return rel;
    }
    if (st.isDirectory()) {
      this.dirs.set(rel, rel);
      return rel;
    }
    if (!st.isSymbolicLink()) {
      throw new ImageError(
        'IMAGE_UNSAFE_ENTRY',
        `cannot put ${quote(name)} under ${quote(rel)}: not a directory`,
        {
          details: { name, component: rel },
        },
      );
    }
    if (++budget.links > MAX_SYMLINKS) {
      throw new ImageError('IMAGE_UNSAFE_LINK', `too many levels of symlinks resolving ${quote(name)}`, {
        details: { name },
      });
    }
    const target = this.readlink(rel);
    const real = this.walk(target.startsWith('/') ? '' : parent, target, budget, name, rel);
    if (real === null) {
      if (!create) return null;
      throw new ImageError(
        'IMAGE_UNSAFE_ENTRY',
        `cannot put ${quote(name)} under ${quote(rel)}: a symlink to a missing directory`,
        { details: { name, component: rel, target } },
      );
    }
    this.dirs.set(rel, real);
    return real;
  }

  /**
   * Resolve a whole path, its last component included, as the container would: the real path
   * (relative to the rootfs) of what it names, never a symlink itself; `null` when a component is
   * missing (or a symlink on the way points at nothing). Creates nothing. A component on the way
   * that is not a directory throws IMAGE_UNSAFE_ENTRY, a loop or an escape IMAGE_UNSAFE_LINK.
   */
  resolve(parts: readonly string[]): string | null {
    if (parts.length === 0) return '';
    const name = parts.join('/');
    const budget = { links: 0 };
    let parent = this.dir(parts.slice(0, -1), false);
    let leaf = parts[parts.length - 1];
    for (;;) {
      if (parent === null) return null;
      const rel = parent === '' ? leaf : parent + '/' + leaf;
      const st = this.lstat(rel);
      if (st === null) return null;
      if (!st.isSymbolicLink()) return rel;
      if (++budget.links > MAX_SYMLINKS) {
        throw new ImageError('IMAGE_UNSAFE_LINK', `too many levels of symlinks resolving ${quote(name)}`, {
          details: { name },
        });
      }
      const target = this.readlink(rel);
      const start = target.startsWith('/') ? '' : parent;
      const comps = target.split('/').filter((c) => c !== '' && c !== '.');
      const last = comps[comps.length - 1];
      if (last === undefined || last === '..') {
        // `/`, `..`, `a/..`: a directory, reached by walking the whole target.
        return this.walk(start, target, budget, name, rel);
      }
      // The target's directory part, then its last component again through this loop.
      const dirPart = (target.startsWith('/') ? '/' : '') + comps.slice(0, -1).join('/');
      parent = this.walk(start, dirPart, budget, name, rel);
      leaf = last;
    }
  }

  /**
   * lstat of a real relative path; `null` when nothing is there. The one place the walk looks at
   * the disk (with {@link readlink}): a subclass may look elsewhere (an overlay's layers).
   */
  protected lstat(rel: string): Stats | null {
    try {
      return lstatSync(this.abs(rel));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return null;
      throw e;
    }
  }

  /** The target of the symlink at a real relative path (which {@link lstat} saw). */
  protected readlink(rel: string): string {
    return readlinkSync(this.abs(rel));
  }

  /** Follow a symlink target from the real directory `start`; never creates anything. */
  private walk(
    start: string,
    target: string,
    budget: { links: number },
    name: string,
    link: string,
  ): string | null {
    const absolute = target.startsWith('/');
    let cur = start;
    for (const c of target.split('/')) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (cur === '') {
          if (absolute) continue; // "/.." is "/", in a chroot as on the host
          throw new ImageError(
            'IMAGE_UNSAFE_LINK',
            `refusing ${quote(name)}: symlink ${quote(link)} -> ${quote(target)} escapes the rootfs`,
            { details: { name, link, target } },
          );
        }
        const i = cur.lastIndexOf('/');
        cur = i < 0 ? '' : cur.slice(0, i);
        continue;
      }
      const next = this.step(cur, c, false, budget, name);
      if (next === null) return null;
      cur = next;
    }
    return cur;
  }
}
