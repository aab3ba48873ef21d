/**
 * Extracting a tar into a directory below a root (root.ts), for `cp` into a container (in the
 * worker) and out of one (on the host, as the calling user). The archive is the other side's to
 * shape, so:
 *
 *   - names are cleaned as tar does (leading `/` and `./` dropped) and a `..` component refuses
 *     the copy: nothing is written outside the directory through a name;
 *   - every entry's directory is resolved from the root by descriptors, so no symlink (the
 *     container's, or one the archive made) leads out of the root. In a container, symlinks on
 *     the way are followed inside it, as docker's chrooted extraction does; on the host
 *     (`noSymlinks`) an entry under a symlink is refused, so only the directory named is written;
 *   - what is in the way is replaced, never written through: a file or symlink there is removed
 *     and the entry made with O_CREAT|O_EXCL|O_NOFOLLOW; a directory is never replaced by a
 *     non-directory nor the other way round (docker cp's noOverwriteDirNonDir, always);
 *   - a hard link must name an entry below the same directory (resolved the same way), never a
 *     directory; devices and fifos are not made (a rootless namespace cannot mknod them): they are
 *     listed as skipped;
 *   - owners are given only where asked (`owner`), modes applied after the owner (chown clears
 *     set-user-ID bits), directories' modes and times once their contents are in.
 */
import {
  closeSync,
  constants as C,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  unlinkSync,
  write,
} from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { errnoCode, MoatError } from '../../errors.js';
import { RuntimeError } from '../errors.js';
import { rebaseName, type CopyPlan } from './copy-plan.js';
import { at, FdRoot, lstatAt, type Resolved } from './root.js';

const writeAsync = promisify(write);
const CREATE = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW;

export interface ExtractOptions {
  /** The existing directory (a path below the root) the archive is extracted into. */
  dir: string;
  /** Rename the archive's top entry (copy-plan.ts). */
  rebase?: CopyPlan['rebase'];
  /** Refuse entries below a symlink (the host side) instead of following it inside the root. */
  noSymlinks?: boolean;
  /**
   * Who owns what is made: the same owner for everything, the archive's owners (translated
   * for chown here; undefined: not mapped), or nobody in particular (the caller).
   */
  owner:
    | { kind: 'fixed'; uid: number; gid: number }
    | { kind: 'archive'; local: (uid: number, gid: number) => { uid: number; gid: number } | undefined }
    | { kind: 'caller' };
  /** Permission bits kept from the archive (the host side drops set-ID and sticky bits). */
  modeMask: number;
  /**
   * The directory itself takes the owner, mode and time of the archive's top `./` entry (a new
   * volume filled from the image's mount point, as docker does); otherwise they are left alone.
   */
  topAttributes?: boolean;
}

export interface ExtractResult {
  entries: number;
  /** Entries not made (devices, fifos), by name. */
  skipped: string[];
}

function refused(message: string, hint?: string): RuntimeError {
  return new RuntimeError('RUNTIME_COPY_REFUSED', message, hint ? { hint } : {});
}

/**
 * The components of an entry's name below the extraction directory; a `..` anywhere refuses
 * the copy. `.` and empty components and a leading `/` are dropped, as tar does.
 */
export function entryParts(name: string): string[] {
  if (name.includes('\0')) throw refused(`refusing an archive entry whose name holds a NUL byte`);
  const parts: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw refused(`refusing archive entry ${JSON.stringify(name)}: it names a '..'`);
    parts.push(c);
  }
  return parts;
}

const q = JSON.stringify;

export async function extractArchive(
  root: FdRoot,
  input: Readable,
  o: ExtractOptions,
): Promise<ExtractResult> {
  const top = root.resolve(o.dir, { followLast: true });
  const base = top.path;
  try {
    if (!top.st?.isDirectory()) {
      if (!top.st) throw refused(`no such directory: ${q(o.dir)}`);
      throw refused(`${q(o.dir)} is not a directory`);
    }
  } finally {
    top.close();
  }
  const extract = tar.extract();
  const result: ExtractResult = { entries: 0, skipped: [] };
  /** Directories made or updated: their modes and times, once everything is in. */
  const dirs: { path: string; mode: number; mtime?: Date; owner?: { uid: number; gid: number } }[] = [];
  const below = (parts: string[]) => (base === '/' ? '/' : base + '/') + parts.join('/');

  const ownerOf = (h: tar.Header): { uid: number; gid: number } | undefined => {
    if (o.owner.kind === 'caller') return undefined;
    if (o.owner.kind === 'fixed') return { uid: o.owner.uid, gid: o.owner.gid };
    const local = o.owner.local(h.uid ?? 0, h.gid ?? 0);
    if (!local)
      throw refused(
        `${q(h.name)} is owned by ${h.uid}:${h.gid}, which the container's mapping does not cover`,
        'copy without -a (the files then belong to the owner of the directory they land in)',
      );
    return local;
  };

  const one = async (h: tar.Header, body: AsyncIterable<Buffer>): Promise<void> => {
    const parts = entryParts(rebaseName(h.name, o.rebase));
    const mode = (h.mode ?? 0o644) & o.modeMask;
    // The directory itself (`./` of a `DIR/.` archive): its attributes are left as they are,
    // unless asked for.
    if (parts.length === 0) {
      if (o.topAttributes && h.type === 'directory')
        dirs.push({ path: base, mode, mtime: h.mtime, owner: ownerOf(h) });
      return;
    }
    if (
      h.type !== 'file' &&
      h.type !== 'contiguous-file' &&
      h.type !== 'directory' &&
      h.type !== 'symlink' &&
      h.type !== 'link'
    ) {
      result.skipped.push(parts.join('/'));
      return;
    }
    const leaf = parts[parts.length - 1];
    const parent = root.directory(below(parts.slice(0, -1)), { create: true, noSymlinks: o.noSymlinks });
    try {
      const owner = ownerOf(h);
      const there = lstatAt(parent.dir, leaf);
      const name = parts.join('/');
      if (there?.isDirectory() && h.type !== 'directory')
        throw refused(`cannot overwrite directory ${q(name)} with a non-directory`);
      if (there && !there.isDirectory() && h.type === 'directory')
        throw refused(`cannot overwrite non-directory ${q(name)} with a directory`);
      if (there && !there.isDirectory()) unlinkSync(at(parent.dir, leaf));
      result.entries++;
      switch (h.type) {
        case 'directory': {
          if (!there) mkdirSync(at(parent.dir, leaf), 0o700);
          dirs.push({
            path: `${parent.path === '/' ? '' : parent.path}/${leaf}`,
            mode,
            mtime: h.mtime,
            owner,
          });
          return;
        }
        case 'symlink': {
          if (!h.linkname) throw refused(`symlink ${q(name)} has no target`);
          symlinkSync(h.linkname, at(parent.dir, leaf));
          if (owner) lchownSync(at(parent.dir, leaf), owner.uid, owner.gid);
          if (h.mtime) lutimesSync(at(parent.dir, leaf), h.mtime, h.mtime);
          return;
        }
        case 'link': {
          const target = hardlinkTarget(root, below, h, o);
          try {
            linkSync(at(target.dir, target.name), at(parent.dir, leaf));
          } finally {
            target.close();
          }
          return;
        }
        default:
          await writeFile(parent, leaf, body, mode, owner, h.mtime);
      }
    } finally {
      parent.close();
    }
  };

  // Fed by hand: the extractor is a streamx stream, `input` a Node one.
  const feed = (async () => {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      if (extract.destroyed) return;
      if (!extract.write(chunk))
        await new Promise<void>((resolve) => {
          extract.once('drain', () => resolve());
          extract.once('close', () => resolve());
        });
    }
    extract.end(null);
  })();
  feed.catch((e: unknown) => extract.destroy(e as Error));
  try {
    for await (const entry of extract) {
      await one(entry.header, entry as AsyncIterable<Buffer>);
      entry.resume();
    }
    await feed;
  } catch (e) {
    extract.destroy();
    throw asCopyError(e);
  }
  // Deepest first: a directory made read-only must not stop its parent's times being set.
  for (const d of dirs.reverse()) {
    const r = root.resolve(d.path, { followLast: false, noSymlinks: o.noSymlinks });
    try {
      if (!r.st?.isDirectory()) continue;
      // '' names the directory held open itself (the extraction's own, topAttributes).
      const fd =
        r.name === '' ? r.dir : openSync(at(r.dir, r.name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      try {
        if (d.owner) fchownSync(fd, d.owner.uid, d.owner.gid);
        fchmodSync(fd, d.mode);
        if (d.mtime) futimesSync(fd, d.mtime, d.mtime);
      } finally {
        if (fd !== r.dir) closeSync(fd);
      }
    } finally {
      r.close();
    }
  }
  return result;
}

/** A hard link's target: an entry below the extraction directory, not a directory. */
function hardlinkTarget(
  root: FdRoot,
  below: (parts: string[]) => string,
  h: tar.Header,
  o: ExtractOptions,
): Resolved {
  const parts = entryParts(rebaseName(h.linkname ?? '', o.rebase));
  if (parts.length === 0) throw refused(`hard link ${q(h.name)} has no target`);
  const r = root.resolve(below(parts), { followLast: false, noSymlinks: o.noSymlinks });
  if (!r.st || r.st.isDirectory()) {
    r.close();
    throw refused(
      `hard link ${q(h.name)} -> ${q(h.linkname ?? '')}: no such file in the archive's directory`,
    );
  }
  return r;
}

async function writeFile(
  parent: Resolved,
  leaf: string,
  body: AsyncIterable<Buffer>,
  mode: number,
  owner: { uid: number; gid: number } | undefined,
  mtime: Date | undefined,
): Promise<void> {
  const fd = openSync(at(parent.dir, leaf), CREATE, 0o600);
  try {
    for await (const chunk of body) {
      let off = 0;
      while (off < chunk.length) off += (await writeAsync(fd, chunk, off, chunk.length - off)).bytesWritten;
    }
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode);
    if (mtime) futimesSync(fd, mtime, mtime);
  } finally {
    closeSync(fd);
  }
}

/** What the kernel said, as a copy error: a read-only root and a full disk are said plainly. */
export function asCopyError(e: unknown): unknown {
  if (e instanceof MoatError) return e;
  const code = errnoCode(e);
  if (code === 'EROFS')
    return refused(
      "the container's root filesystem is read-only here",
      'copy into a writable mount (/tmp, a volume), or into the container while it is stopped',
    );
  if (code === 'EINVAL' && /chown/.test((e as Error).message))
    return refused(`an owner is not mapped into the container: ${(e as Error).message}`);
  if (code === 'ELOOP')
    return refused(`a path changed into a symlink while it was copied: ${(e as Error).message}`);
  if (code === 'EXDEV') return refused(`a hard link crosses filesystems: ${(e as Error).message}`);
  return new RuntimeError('RUNTIME_COPY_FAILED', `copy failed: ${(e as Error).message}`, { cause: e });
}
