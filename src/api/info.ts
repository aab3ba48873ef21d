/**
 * `moat info`: what the host offers, as the host facts (src/runtime/host.ts, host-tools.ts) and the
 * runtime's facts (runtime-facts.ts) know it, and the Landlock ABI (asked of the kernel once per
 * boot by moat-init: runtime/landlock.ts).
 */
import { effectivePids, LIMIT_DEFAULTS } from '../runtime/default-limits.js';
import { toWire, unpackLimitsFromEnv } from '../image/unpack-limits.js';
import type { Engine } from '../runtime/engine.js';
import { landlockStatus } from '../runtime/host.js';
import { defaultProfileFor, LOADED_PROFILES_FILE, POLICY_PROFILES_DIR } from '../lsm/apparmor/loaded.js';
import { DEFAULT_PROFILE_NAME } from '../lsm/apparmor/profile.js';
import { landlockAbi, moatInitPath } from '../runtime/landlock.js';
import {
  groupsReachContainers,
  RUNC_ADVISORIES,
  runtimeFacts,
  runtimeVersionText,
} from '../runtime/runtime-facts.js';
import { defaultSocket } from '../util/paths.js';

/**
 * The moat profiles the host has loaded (`moat-…`, from securityfs's list), and the one runs get
 * when they name none. The list is unknown where AppArmor is off or the list is not readable.
 */
function apparmorInfo(h: Engine['deps']['host']): Record<string, unknown> {
  if (!h.apparmor) return { moat: [], default: null, note: 'AppArmor is not enabled: runs get no profile' };
  if (!h.apparmorProfiles)
    return {
      moat: null,
      default: null,
      note: `neither ${LOADED_PROFILES_FILE} nor ${POLICY_PROFILES_DIR} is readable here: which profiles are loaded is unknown`,
    };
  return {
    moat: h.apparmorProfiles.filter((n) => n.startsWith('moat-')),
    default: defaultProfileFor(h) ?? null,
    ...(defaultProfileFor(h)
      ? {}
      : {
          note: `no ${DEFAULT_PROFILE_NAME} profile is loaded: runs get none unless --security-opt apparmor=NAME`,
        }),
  };
}

/** What the host offers, for `moat info`. */
export function hostInfo(engine: Engine): Record<string, unknown> {
  const h = engine.deps.host;
  const maps = 'error' in h.idmaps ? undefined : h.idmaps;
  const groupsReach = groupsReachContainers(maps ? maps.mode : 'unavailable');
  const rt = runtimeFacts(h.tools.runc, engine.deps.paths.runtime);
  const moatInit = moatInitPath();
  const abi = landlockAbi(engine.deps.paths.runtime, moatInit);
  return {
    user: {
      name: h.user,
      uid: h.uid,
      gid: h.gid,
      supplementaryGroups: h.groups,
      supplementaryGroupsReachContainers: groupsReach,
    },
    userNamespaces: {
      available: h.userns.available,
      ...(h.userns.reason ? { reason: h.userns.reason } : {}),
      subuid: h.subuids,
      subgid: h.subgids,
      newuidmap: h.tools.newuidmap ?? null,
      newgidmap: h.tools.newgidmap ?? null,
      mapping: maps ? maps.mode : 'unavailable',
      ...(maps
        ? { uidMap: maps.uidMap, gidMap: maps.gidMap }
        : { error: (h.idmaps as { error: string }).error }),
      note:
        maps?.mode === 'single'
          ? 'no subordinate ID range: single-ID mapping, only container root exists (add a range to /etc/subuid and /etc/subgid); setgroups is denied in it, so the supplementary groups above reach the container (as the overflow group 65534 unless mapped)'
          : "the namespace allows setgroups, so runc replaces the supplementary groups above with the image user's: they do not reach the container",
    },
    cgroups: { version: h.cgroup.version, delegated: h.cgroup.delegated, notDelegated: h.cgroup.missing },
    // What a container gets when it names no limit (see src/runtime/default-limits.ts).
    defaultLimits: {
      pids: effectivePids({ ulimits: [] }, h.cgroup, h.rlimits),
      tmpfsSize: LIMIT_DEFAULTS.tmpfsSize,
      memory: null,
      cpus: null,
      // Per image, over all its layers (null: no limit); MOAT_UNPACK_MAX_BYTES / _ENTRIES.
      unpack: toWire(unpackLimitsFromEnv()),
    },
    security: {
      seccomp: h.seccomp,
      // The kernel's own answer when moat-init could ask it; else what securityfs tells.
      landlock: abi > 0 ? `enabled (ABI ${abi})` : landlockStatus(h),
      // The ABI the kernel answers moat-init with (0: none), and whether containers get it.
      landlockAbi: abi,
      landlockInit: moatInit ?? null,
      landlockByDefault: abi > 0 && moatInit !== undefined,
      apparmor: h.apparmor ? 'enabled' : 'not enabled in this kernel',
      apparmorProfiles: apparmorInfo(h),
      noNewPrivileges: true,
    },
    overlayfs: h.overlay,
    runtime: {
      ...rt,
      versionText: runtimeVersionText(h.tools.runc, engine.deps.paths.runtime) ?? null,
      advisories: RUNC_ADVISORIES.filter((a) => rt.unfixed.includes(a.id)).map((a) => ({
        id: a.id,
        summary: a.summary,
        fixedIn: a.fixedIn,
        mitigation: a.mitigation,
      })),
    },
    init: h.tools.init ?? null,
    paths: {
      data: engine.deps.paths.data,
      runtime: engine.deps.paths.runtime,
      // Where `moat system service` listens by default: what DOCKER_HOST should name.
      socket: defaultSocket(engine.deps.paths),
    },
  };
}
