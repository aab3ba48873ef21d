/**
 * A container's own layer: the overlay's upper directory, read next to the image's root (the
 * lower directory) and the two merged (the overlay mounted read-only, upper over lower). From it:
 *
 *   - `changes` (docker diff): every name in the upper layer is added (A), or changed (C) when the
 *     image has it; a whiteout (a 0:0 character device) is a deletion (D); a directory the image
 *     has too and that kept its mode, size and time is not listed unless something below it
 *     changed (then it is C), as docker reports directories;
 *   - `layerEntries` (docker commit): the upper layer as an OCI layer, whiteouts as `.wh.NAME`
 *     files and opaque directories with `.wh..wh..opq`.
 *
 * An opaque directory (removed and made again in the container) is marked by an extended
 * attribute Node cannot read; it is found by its effect instead: the merged view lacks a name
 * the image has there and the upper layer neither holds nor whites out. (If every name of the
 * image's directory is in the upper one, opacity changes nothing and is not reported.)
 *
 * Nothing is followed: each layer is walked by descriptors with O_NOFOLLOW (root.ts); the image's
 * side of a path counts only where each directory above it is a real directory there, as
 * overlayfs looks names up.
 */
import { closeSync, fstatSync, readdirSync, type Stats } from 'node:fs';
import { RuntimeError } from '../errors.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../../image/whiteout.js';
import type { Archive } from './pack.js';
import { at, lstatAt, openDirAt } from './root.js';

/** docker's kinds: 0 changed, 1 added, 2 deleted. */
export type ChangeKind = 0 | 1 | 2;

export interface Change {
  Path: string;
  Kind: ChangeKind;
}

export const KIND_LETTER: Record<ChangeKind, string> = { 0: 'C', 1: 'A', 2: 'D' };

/** Where the three trees are open: directory descriptors of the same path in each. */
export interface LayerDirs {
  upper: number;
  /** The image's directory at this path; undefined where the image has none (or not a real one). */
  lower?: number;
  /** The merged view's; undefined where there is no directory (should not happen for upper's). */
  merged?: number;
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function names(fd: number | undefined): string[] {
  return fd === undefined ? [] : readdirSync(at(fd)).sort();
}

/** Names of the image's directory hidden by an opaque upper directory. */
export function hiddenByOpaque(dirs: LayerDirs): string[] {
  if (dirs.lower === undefined || dirs.merged === undefined) return [];
  const upper = new Set(names(dirs.upper));
  const merged = new Set(names(dirs.merged));
  return names(dirs.lower).filter((n) => !upper.has(n) && !merged.has(n));
}

function openIf(fd: number | undefined, name: string): number | undefined {
  if (fd === undefined) return undefined;
  const st = lstatAt(fd, name);
  if (!st?.isDirectory()) return undefined;
  return openDirAt(fd, name);
}

/** The same directory in each tree, open; close with closeDirs. */
function child(dirs: LayerDirs, name: string): LayerDirs {
  return {
    upper: openDirAt(dirs.upper, name),
    lower: openIf(dirs.lower, name),
    merged: openIf(dirs.merged, name),
  };
}

function closeDirs(d: LayerDirs): void {
  for (const fd of [d.upper, d.lower, d.merged]) if (fd !== undefined) closeSync(fd);
}

function sameDir(a: Stats, b: Stats): boolean {
  return a.mode === b.mode && a.size === b.size && Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs);
}

/** docker diff's list, in path order. */
export function changes(root: LayerDirs): Change[] {
  const out = new Map<string, ChangeKind>();
  const changedDirs = new Set<string>(['/']);
  const parentChanged = (p: string) => {
    const parent = p.slice(0, p.lastIndexOf('/')) || '/';
    if (changedDirs.has(parent)) return;
    changedDirs.add(parent);
    out.set(parent, 0);
  };
  const walk = (dirs: LayerDirs, prefix: string) => {
    // The root is never opaque (overlayfs merges it always).
    for (const n of prefix === '' ? [] : hiddenByOpaque(dirs)) {
      out.set(`${prefix}/${n}`, 2);
      parentChanged(`${prefix}/${n}`);
    }
    for (const n of names(dirs.upper)) {
      const p = `${prefix}/${n}`;
      const st = lstatAt(dirs.upper, n);
      if (!st) continue;
      if (isWhiteout(st)) {
        // A whiteout of a name the image does not have (made and deleted here) is no change.
        if (dirs.lower !== undefined && lstatAt(dirs.lower, n)) {
          out.set(p, 2);
          parentChanged(p);
        }
        continue;
      }
      const lower = dirs.lower === undefined ? null : lstatAt(dirs.lower, n);
      if (!lower) {
        out.set(p, 1);
        parentChanged(p);
        if (st.isDirectory()) changedDirs.add(p);
      } else if (!(st.isDirectory() && lower.isDirectory() && sameDir(st, lower))) {
        out.set(p, 0);
        if (st.isDirectory()) changedDirs.add(p);
      }
      if (st.isDirectory()) {
        const c = child(dirs, n);
        try {
          walk(c, p);
        } finally {
          closeDirs(c);
        }
      }
    }
  };
  walk(root, '');
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([Path, Kind]) => ({ Path, Kind }));
}

/**
 * Write the upper layer to `archive` as an OCI layer (names relative, no leading `./`).
 * A name of the container's own that starts with `.wh.` is refused: in a layer it would delete.
 */
export async function layerEntries(archive: Archive, root: LayerDirs): Promise<void> {
  const walk = async (dirs: LayerDirs, prefix: string) => {
    if (prefix !== '' && hiddenByOpaque(dirs).length > 0) {
      const st = fstatSync(dirs.upper);
      await archive.empty({
        ...archive.header(st, `${prefix}/${WHITEOUT_OPAQUE}`, 'file'),
        mode: 0o100000,
        size: 0,
      });
    }
    for (const n of names(dirs.upper)) {
      const p = prefix === '' ? n : `${prefix}/${n}`;
      if (n.startsWith(WHITEOUT_PREFIX))
        throw new RuntimeError(
          'RUNTIME_COPY_REFUSED',
          `the container has a file named ${JSON.stringify('/' + p)}`,
          {
            hint: `a name starting with ${WHITEOUT_PREFIX} would delete files in an image layer: remove or rename it, then commit`,
          },
        );
      const st = lstatAt(dirs.upper, n);
      if (!st) continue;
      if (isWhiteout(st)) {
        const wh = prefix === '' ? `${WHITEOUT_PREFIX}${n}` : `${prefix}/${WHITEOUT_PREFIX}${n}`;
        await archive.empty({ ...archive.header(st, wh, 'file'), mode: 0o100000, size: 0, uid: 0, gid: 0 });
        continue;
      }
      if (!st.isDirectory()) {
        await archive.tree(dirs.upper, n, p, st);
        continue;
      }
      await archive.empty(archive.header(st, p, 'directory'));
      const c = child(dirs, n);
      try {
        await walk(c, p);
      } finally {
        closeDirs(c);
      }
    }
  };
  await walk(root, '');
}
