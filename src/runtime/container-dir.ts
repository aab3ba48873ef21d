/**
 * Who may do what in a container's directory (`containers/<id>`). moat owns the directory and
 * everything it reads back later: the record, the spec, the log. Root's containers run as a
 * subordinate user, container root (the launcher, the overlay mount, runc): it must reach the
 * bundle, own the overlay's upper and work directories and write runc's log and pid file, but
 * must not be able to replace anything root's moat trusts. For root:
 *
 *   <id>/                     root, group container root, 0710: passed through, not listed
 *   <id>/container.json       root 0600 (written by state.ts), the record
 *   <id>/container.log        root 0600 (written by the monitor)
 *   <id>/bundle/              root, group container root, 0710
 *   <id>/bundle/config.json   root, group container root, 0640: runc reads the spec
 *   <id>/bundle/rootfs/       root, group container root, 0710: the overlay's mount point
 *   <id>/upper/               container root 0755: the container's writable layer, its "/"
 *   <id>/work/                container root 0700: overlayfs's work directory
 *   <id>/hosts, hostname      container root 0644: bind-mounted into the container
 *   <id>/run/                 container root 0700: what runc and the launcher write (runc's
 *                             log, its pid files, the exit status), read back only as checked
 *                             values (supervise.ts: the init's pid must be the launcher's)
 *
 * An ordinary user's containers have the same layout, every entry the user's own, no group bits.
 * Modes are set explicitly, never left to the umask.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { ContainerRoot } from '../util/paths.js';
import { RUN_DIR } from './state.js';

interface Entry {
  path: string;
  mode: number;
  /** 'moat': root (group container root); 'container': container root. */
  owner: 'moat' | 'container';
  /** Only some containers have it. */
  optional?: boolean;
}

const LAYOUT: readonly Entry[] = [
  { path: '', mode: 0o710, owner: 'moat' },
  { path: 'bundle', mode: 0o710, owner: 'moat' },
  { path: 'bundle/config.json', mode: 0o640, owner: 'moat' },
  { path: 'bundle/rootfs', mode: 0o710, owner: 'moat' },
  { path: 'upper', mode: 0o755, owner: 'container' },
  { path: 'work', mode: 0o700, owner: 'container' },
  { path: 'hosts', mode: 0o644, owner: 'container' },
  { path: 'hostname', mode: 0o644, owner: 'container' },
  // A container with a network: its resolv.conf, and the hook's configuration (read by the hook,
  // which runs as container root).
  { path: 'resolv.conf', mode: 0o644, owner: 'container', optional: true },
  { path: 'network.json', mode: 0o640, owner: 'moat', optional: true },
  { path: 'container.log', mode: 0o600, owner: 'moat' },
  { path: RUN_DIR, mode: 0o700, owner: 'container' },
];

/**
 * Give a container directory being created (`<id>.tmp`, not yet visible: no one else can have
 * touched it) the owners and modes above, making `run/`. `cr`: for root, container root's IDs.
 */
export async function settleContainerDir(dir: string, cr?: ContainerRoot): Promise<void> {
  await fsp.mkdir(path.join(dir, RUN_DIR), { recursive: true, mode: 0o700 });
  for (const e of LAYOUT) {
    const p = path.join(dir, e.path);
    if (e.optional && !(await fsp.lstat(p).catch(() => undefined))) continue;
    if (cr) {
      if (e.owner === 'container') await fsp.lchown(p, cr.uid, cr.gid);
      // Container root's group only where it may read or pass through.
      else await fsp.lchown(p, process.getuid?.() ?? 0, e.mode & 0o070 ? cr.gid : (process.getgid?.() ?? 0));
    }
    // Without a container root of another user, group bits would only open it to the user's group.
    await fsp.chmod(p, e.owner === 'moat' && !cr ? e.mode & 0o700 : e.mode);
  }
}

/**
 * Before each start: an empty `run/` for runc and the launcher (a pid file, a log or an exit
 * status of an earlier run must not be taken for this one's). Removed and made again by moat, so
 * whatever container root left there goes with it; lchown, so a symlink put in its place (a
 * container made by an older moat, whose directory container root owned) is never followed.
 */
export async function freshRunDir(dir: string, cr?: ContainerRoot): Promise<string> {
  const run = path.join(dir, RUN_DIR);
  await fsp.rm(run, { recursive: true, force: true });
  await fsp.mkdir(run, { mode: 0o700 });
  if (cr) await fsp.lchown(run, cr.uid, cr.gid);
  await fsp.chmod(run, 0o700);
  return run;
}
