/**
 * The host's tools, checked: whether the tools a container needs are there (unshare and nsenter,
 * newuidmap/newgidmap for a subordinate range, runc) and can be used from moat's directories, as
 * the user-namespace tools or the error that names what is missing; the runc a container is run
 * with; and who container root is on the host. Checks over the host facts (host.ts), which find
 * the tools; runc's version and advisories are runtime-facts.ts's.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { UsernsError } from '../userns/errors.js';
import type { UsernsTools } from '../userns/exec.js';
import type { MoatPaths } from '../util/paths.js';
import { RuntimeError } from './errors.js';
import type { HostFacts } from './host.js';
import type { RuncConfig } from './runc.js';

/** The first ancestor of `dir` (or dir itself) that others cannot search, if any. */
function untraversable(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return d;
    } catch {
      /* not created yet: its parent decides */
    }
    if (d === path.dirname(d)) return undefined;
  }
}

/** The user-namespace tools this host offers, or the error that says what it lacks. */
export function usernsTools(h: HostFacts, paths: MoatPaths): UsernsTools {
  if (!h.userns.available)
    throw new UsernsError('USERNS_UNAVAILABLE', `user namespaces are not available: ${h.userns.reason}`, {
      hint: 'moat needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0)',
    });
  if ('error' in h.idmaps)
    throw new UsernsError('USERNS_NO_SUBIDS', `${h.idmaps.error}: container root would be host root`, {
      hint: `add a range for ${h.user} to /etc/subuid and /etc/subgid, e.g. ${h.user}:100000:65536`,
    });
  if (h.uid === 0) {
    // Root's containers run as a subordinate user: it must be able to reach moat's directories
    // (which let it pass through as their group, see ensureDirs), so the ones above must too.
    const blocked = untraversable(path.dirname(paths.data));
    if (blocked) {
      throw new UsernsError(
        'USERNS_SETUP_FAILED',
        `${blocked} is not searchable by other users, so root's containers (which run as a subordinate user) cannot reach ${paths.data}`,
        {
          hint: 'as root, leave XDG_DATA_HOME unset (moat then uses /var/lib/moat), or make that path searchable (chmod o+x)',
        },
      );
    }
  }
  const maps = h.idmaps;
  if (!h.tools.unshare || !h.tools.nsenter)
    throw new UsernsError('USERNS_SETUP_FAILED', 'unshare and nsenter (util-linux) are required', {
      hint: 'apt-get install util-linux',
    });
  if (maps.mode === 'subordinate' && (!h.tools.newuidmap || !h.tools.newgidmap)) {
    throw new UsernsError(
      'USERNS_NO_NEWUIDMAP',
      'newuidmap/newgidmap are missing, so the subordinate ID ranges cannot be used',
      { hint: 'apt-get install uidmap' },
    );
  }
  if (!h.tools.runc)
    throw new RuntimeError('RUNTIME_RUNC_MISSING', 'runc was not found in PATH', {
      hint: 'apt-get install runc (or set MOAT_RUNTIME to its path)',
    });
  return { unshare: h.tools.unshare, nsenter: h.tools.nsenter, callerUid: h.uid, maps };
}

/** The runc containers run with: the one found (or `runc` on PATH), with moat's state root. */
export function runcConfig(h: HostFacts, paths: MoatPaths): RuncConfig {
  return { runc: h.tools.runc ?? 'runc', root: paths.runcRoot };
}

/**
 * For root: the host IDs of container root (the start of root's range), who must own the files
 * runc reads and be able to join the cgroups; undefined for a user (container root is the user).
 */
export function containerRootOwner(
  h: HostFacts,
  tools: () => UsernsTools,
): { uid: number; gid: number } | undefined {
  if (h.uid !== 0) return undefined;
  const m = tools().maps;
  return { uid: m.rootUid, gid: m.rootGid };
}
