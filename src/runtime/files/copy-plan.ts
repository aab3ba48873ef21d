/**
 * Where `cp SRC DEST` puts things, as docker's `archive.PrepareArchiveCopy` decides it (pure).
 * An archive of SRC has one top entry, SRC's base name (`.` for `DIR/.`: its contents); it is
 * extracted into an existing directory, its top entry renamed to DEST's base name when DEST names
 * the copy itself rather than a directory to copy into:
 *
 *   SRC file, DEST missing            → DEST's parent, renamed to DEST's base (`DEST/` refused)
 *   SRC file, DEST an existing file   → DEST's parent, renamed (overwrites it)
 *   SRC anything, DEST an existing dir→ DEST, as is (`DIR` copied into it, `DIR/.` its contents)
 *   SRC dir, DEST missing             → DEST's parent, renamed (DEST is created)
 *   SRC dir, DEST an existing file    → refused
 */
import * as path from 'node:path';
import { RuntimeError } from '../errors.js';
import { READ_ONLY_ROOT_TMPFS } from '../spec/mounts.js';

/** docker's SplitPathDirEntry: the directory and base of a path, `.` kept (`a/b/.` → a/b, .). */
export function splitDirEntry(p: string): { dir: string; base: string } {
  let cleaned = path.posix.normalize(p);
  if (specifiesCurrentDir(p)) cleaned = cleaned.replace(/\/?$/, '/.');
  cleaned = cleaned.length > 1 ? cleaned.replace(/\/+$/, '') : cleaned;
  return { dir: path.posix.dirname(cleaned), base: path.posix.basename(cleaned) || '/' };
}

/** `DIR/.` or `.`: the contents of a directory. */
export function specifiesCurrentDir(p: string): boolean {
  return p === '.' || p.endsWith('/.');
}

/** `DIR/` (or `DIR/.`): the path must be a directory. */
export function assertsDirectory(p: string): boolean {
  return p.endsWith('/') || specifiesCurrentDir(p);
}

/** The name an archive of `p` gives its top entry (docker's GET archive: the base, `.` kept). */
export function archiveBase(p: string): string {
  const { base } = splitDirEntry(p);
  return base === '/' ? '.' : base;
}

export interface CopySource {
  /** As the user gave it. */
  path: string;
  isDir: boolean;
  /** The top entry's name when it is not the path's base (`cp -L` of a symlink: the link's name). */
  rebaseName?: string;
}

export interface CopyDest {
  /** As the user gave it. */
  path: string;
  exists: boolean;
  isDir: boolean;
}

export interface CopyPlan {
  /** The existing directory the archive is extracted into. */
  dir: string;
  /** Rename the archive's top entry `from` to `to` (none: extract as is). */
  rebase?: { from: string; to: string };
}

function refused(message: string, hint?: string): RuntimeError {
  return new RuntimeError('RUNTIME_COPY_REFUSED', message, hint ? { hint } : {});
}

export function planCopy(src: CopySource, dst: CopyDest): CopyPlan {
  const { dir: dstDir, base: dstBase } = splitDirEntry(dst.path);
  const srcBase = src.rebaseName ?? archiveBase(src.path);
  if (dst.exists && dst.isDir) return { dir: dst.path };
  if (dst.exists && src.isDir)
    throw refused(`cannot copy a directory to ${JSON.stringify(dst.path)}: it is a file`);
  if (!dst.exists && !src.isDir && assertsDirectory(dst.path))
    throw refused(
      `no such directory: ${JSON.stringify(dst.path)}`,
      'a destination ending in / must be an existing directory',
    );
  if (specifiesCurrentDir(src.path) && !src.isDir)
    throw refused(`${JSON.stringify(src.path)}: not a directory`);
  return { dir: dstDir, rebase: { from: srcBase, to: dstBase } };
}

/** An archive entry's name with the top entry renamed (docker's RebaseArchiveEntries). */
export function rebaseName(name: string, rebase: CopyPlan['rebase']): string {
  if (!rebase) return name;
  const parts = name.replace(/^\/+/, '').split('/');
  if (parts[0] !== rebase.from) return name;
  return [rebase.to, ...parts.slice(1)].join('/');
}

/** What a stopped container mounts over its root when it runs: its volumes and tmpfs mounts. */
export interface RunMounts {
  volumes: readonly { container: string }[];
  tmpfs: readonly { path: string }[];
  /** A read-only root gets /tmp and /run as tmpfs where no mount of the user's covers them. */
  readWrite: boolean;
}

/**
 * The mount a copy into a stopped container would land under, if any. A stopped container is
 * written through its overlay, and what lands under a mount point (`-v`, `--tmpfs`, the /tmp and
 * /run of a read-only root) would be hidden by that mount as soon as the container runs: such a
 * copy is refused rather than written where nobody sees it. (Pure; `dir` is the container path
 * the archive is extracted into.)
 */
export function hiddenUnderMount(dir: string, m: RunMounts): string | undefined {
  const p = path.posix.normalize(path.posix.join('/', dir));
  const targets = [
    ...m.volumes.map((v) => v.container),
    ...m.tmpfs.map((t) => t.path),
    ...(m.readWrite ? [] : READ_ONLY_ROOT_TMPFS),
  ].map((t) => path.posix.normalize(path.posix.join('/', t)).replace(/(.)\/+$/, '$1'));
  return targets.find((t) => t !== '/' && (p === t || p.startsWith(`${t}/`)));
}
