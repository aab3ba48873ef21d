/**
 * Shifted ownership for root's containers: after root unpacks an image with the owners written in
 * the layers (0 = root, 1000 = a user...), every file is handed to the host ID the container
 * will see it as — container root is the start of root's subordinate range, never host root.
 * The tree must be private to root while this runs (moat unpacks into a 0700 directory), so no
 * one can reach a file while it still belongs to a real host user.
 */
import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { toHost, type IdMapping } from './idmap.js';
import { UsernsError } from './errors.js';

export interface ShiftStats {
  entries: number;
}

export function shiftOwnership(dir: string, uidMap: IdMapping[], gidMap: IdMapping[]): ShiftStats {
  let entries = 0;
  const stack = [dir];
  // A file with several hard links is one inode: shift it once (twice would move it past the range).
  const seen = new Set<string>();
  while (stack.length) {
    const p = stack.pop()!;
    const st = lstatSync(p);
    if (!st.isDirectory() && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const uid = toHost(uidMap, st.uid);
    const gid = toHost(gidMap, st.gid);
    if (uid === undefined || gid === undefined) {
      throw new UsernsError(
        'USERNS_SETUP_FAILED',
        `${p} is owned by ${st.uid}:${st.gid}, which the container's mapping does not cover`,
        {
          hint: 'give root a larger range in /etc/subuid and /etc/subgid (65536 IDs cover ordinary images)',
        },
      );
    }
    lchownSync(p, uid, gid);
    // chown clears set-user-ID and set-group-ID bits, even for root: put them back.
    if (!st.isSymbolicLink() && st.mode & 0o6000) chmodSync(p, st.mode & 0o7777);
    entries++;
    if (st.isDirectory()) for (const name of readdirSync(p)) stack.push(path.join(p, name));
  }
  return { entries };
}
