import type { LayerEntry } from '../types.js';

/**
 * Tar entry names as the scanners see them. Names are normalised the way tar and the unpacker
 * read them (`./a//b/` is `a/b`); what makes a name hostile (`..`, a leading `/`) is kept as a
 * flag for the hazard rules instead of being silently fixed.
 */

export interface EntryName {
  /** Normalised path; '' for the root itself. */
  path: string;
  absolute: boolean;
  /** A `..` component (the entry is not handed to scanners: it names no path in the image). */
  traversal: boolean;
}

export function normalizeEntryName(raw: string): EntryName {
  const absolute = raw.startsWith('/');
  const parts: string[] = [];
  let traversal = false;
  for (const c of raw.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') traversal = true;
    parts.push(c);
  }
  return { path: parts.join('/'), absolute, traversal };
}

/** tar-stream's header types as LayerEntry types. */
export function entryType(t: string | null | undefined): LayerEntry['type'] {
  switch (t) {
    case 'file':
    case 'contiguous-file':
    case null:
    case undefined:
      return 'file';
    case 'directory':
      return 'dir';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
      return 'char';
    case 'block-device':
      return 'block';
    case 'fifo':
      return 'fifo';
    default:
      return 'other';
  }
}

/** The parent directory of a normalised path ('' for a top-level name). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The last component of a normalised path. */
export function leafOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
