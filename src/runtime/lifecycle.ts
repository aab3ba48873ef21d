/**
 * What supervising, reconciling and removing containers need — the store, runc, the host and the
 * user-namespace tools — without the rest of the engine (images, seccomp, spec generation). The
 * Engine is one; a container's monitor opens its own (`openLifecycle`), so the process every run
 * starts loads only this part of moat.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { MoatError } from '../errors.js';
import type { UsernsTools } from '../userns/exec.js';
import { resolvePaths, type MoatPaths } from '../util/paths.js';
import { RuntimeError } from './errors.js';
import { detectHost, type HostFacts } from './host.js';
import type { RuncConfig } from './runc.js';
import { ContainerStore } from './state.js';
import type { SuperviseDeps } from './supervise.js';

export interface Lifecycle {
  readonly containers: ContainerStore;
  readonly runc: RuncConfig;
  readonly deps: {
    paths: MoatPaths;
    host: HostFacts;
    log?: (msg: string, extra?: Record<string, unknown>) => void;
  };
  /** The user-namespace tools, or a clear error saying what the host lacks. */
  tools(): UsernsTools;
}

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
    throw new MoatError('USERNS_UNAVAILABLE', `user namespaces are not available: ${h.userns.reason}`, {
      hint: 'moat needs unprivileged user namespaces (sysctl user.max_user_namespaces > 0)',
    });
  if ('error' in h.idmaps)
    throw new MoatError('USERNS_NO_SUBIDS', `${h.idmaps.error}: container root would be host root`, {
      hint: `add a range for ${h.user} to /etc/subuid and /etc/subgid, e.g. ${h.user}:100000:65536`,
    });
  if (h.uid === 0) {
    // Root's containers run as a subordinate user: it must be able to reach moat's directories
    // (which let it pass through as their group, see ensureDirs), so the ones above must too.
    const blocked = untraversable(path.dirname(paths.data));
    if (blocked) {
      throw new MoatError(
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
    throw new MoatError('USERNS_SETUP_FAILED', 'unshare and nsenter (util-linux) are required', {
      hint: 'apt-get install util-linux',
    });
  if (maps.mode === 'subordinate' && (!h.tools.newuidmap || !h.tools.newgidmap)) {
    throw new MoatError(
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

/** What supervise() needs, from a lifecycle. */
export function superviseDeps(l: Lifecycle): SuperviseDeps {
  const tools = l.tools();
  return {
    paths: l.deps.paths,
    store: l.containers,
    tools,
    runc: l.runc,
    cgroup: l.deps.host.cgroup,
    // For root, container root is the start of root's range: it must be able to join the cgroups.
    cgroupOwner: l.deps.host.uid === 0 ? { uid: tools.maps.rootUid, gid: tools.maps.rootGid } : undefined,
    log: l.deps.log,
  };
}

/**
 * A lifecycle from the environment, for a container's monitor: the directories exist already
 * (the container was created), so nothing is made here.
 */
export function openLifecycle(env: NodeJS.ProcessEnv = process.env): Lifecycle {
  const paths = resolvePaths(env);
  const host = detectHost(env);
  let tools: UsernsTools | undefined;
  return {
    containers: new ContainerStore(paths),
    runc: { runc: host.tools.runc ?? 'runc', root: paths.runcRoot },
    deps: { paths, host },
    tools: () => (tools ??= usernsTools(host, paths)),
  };
}
