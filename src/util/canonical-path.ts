/**
 * The canonical form of a host path, as the kernel would resolve it now: what the policy judges
 * and what moat mounts or reads. A read of path names only: nothing is opened or created.
 */
import { realpathSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The canonical form of `p`: realpath(3) of its longest existing prefix (the kernel's own
 * resolution, so `link/..` is the link target's parent, unlike a textual normalisation), and the
 * rest of the path normalised as text. Relative paths are taken from `cwd`.
 */
export function canonicalPath(p: string, cwd = process.cwd()): string {
  const abs = path.isAbsolute(p) ? p : `${cwd}/${p}`;
  try {
    return realpathSync.native(abs);
  } catch {
    /* part of it does not exist (or cannot be searched): resolve what does */
  }
  const parts = abs.split('/');
  for (let n = parts.length - 1; n > 0; n--) {
    const head = parts.slice(0, n).join('/') || '/';
    let real: string;
    try {
      real = realpathSync.native(head);
    } catch {
      continue;
    }
    return path.resolve(real, parts.slice(n).join('/'));
  }
  return path.resolve(abs);
}
