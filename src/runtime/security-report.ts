/**
 * What protects a container (`moat inspect --security`, `GET /containers/{id}/security`): the
 * layers moat applied, read from the spec runc was given and the record, and for a running
 * container checked against what its init process itself has (/proc/PID/status: capability sets,
 * NoNewPrivs, Seccomp mode and filter count; its uid_map/gid_map). A layer the spec says is there
 * but the process does not show is reported as a mismatch, never papered over.
 */
import { readFileSync } from 'node:fs';
import type { IdMapping, IdMaps } from '../userns/idmap.js';
import type { OciSpec } from './oci.js';
import { ALL_CAPS } from './options.js';
import { landlockOfSpec, type LandlockFacts } from './spec/index.js';
import type { ContainerRecord } from './state.js';

export interface SecurityReport {
  id: string;
  name: string;
  running: boolean;
  userNamespace: {
    uidMap: { containerID: number; hostID: number; size: number }[];
    gidMap: { containerID: number; hostID: number; size: number }[];
    /** Container root is a host user other than root. */
    rootIsHostRoot: boolean;
  };
  capabilities: { effective: string[]; bounding: string[]; ambient: string[]; permitted: string[] };
  noNewPrivileges: boolean;
  seccomp: { profile: string; defaultAction?: string; ruleCount: number; listener: boolean } | null;
  apparmor: string | null;
  /**
   * Landlock as moat-init applies it (spec/landlock.ts: enabled, ABI, mode, the paths writable
   * beneath and those where only existing files may be written, and `net`: the TCP ports it may
   * bind and connect to, null where not restricted). The kernel shows no Landlock domain in
   * /proc, so this one is the spec's word alone.
   */
  landlock: LandlockFacts;
  readOnlyRoot: boolean;
  readOnlyPaths: string[];
  maskedPaths: string[];
  namespaces: { type: string; shared?: string }[];
  mounts: { destination: string; type: string; source?: string; readonly: boolean }[];
  limits: Record<string, unknown>;
  /** For a running container: each limit set, and whether a cgroup of its controller holds it. */
  limitsEnforced?: Record<string, boolean>;
  supplementaryGroups: number[];
  /** From the running init's /proc/PID/status and maps (absent when it is not running). */
  live?: {
    capEff: string[];
    capBnd: string[];
    capAmb: string[];
    capPrm: string[];
    noNewPrivs: boolean;
    seccompMode: number;
    seccompFilters?: number;
    uidMap: string;
  };
  /** Where the spec and the process disagree (empty when they agree). */
  mismatches: string[];
}

/** Capability names of a /proc status hex mask (bit n is ALL_CAPS[n]). */
export function capsOfMask(hex: string): string[] {
  let mask = BigInt(`0x${hex || '0'}`);
  const out: string[] = [];
  for (let bit = 0; mask > 0n; bit++, mask >>= 1n) if (mask & 1n) out.push(ALL_CAPS[bit] ?? `CAP_${bit}`);
  return out;
}

const strip = (caps: readonly string[] | undefined) => (caps ?? []).map((c) => c.replace(/^CAP_/, '')).sort();

function statusField(status: string, key: string): string | undefined {
  return new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim();
}

/** The report (pure): the spec and record, and what the process showed (status and uid_map text). */
export function securityReport(
  rec: Pick<
    ContainerRecord,
    'id' | 'name' | 'status' | 'limits' | 'supplementaryGroups' | 'seccompDigest' | 'options'
  > & { cgroups?: ContainerRecord['cgroups'] },
  spec: OciSpec,
  maps: Pick<IdMaps, 'uidMap' | 'gidMap'>,
  proc?: { status: string; uidMap: string },
): SecurityReport {
  const l = spec.linux ?? {};
  const caps = spec.process.capabilities ?? {};
  const seccomp = l.seccomp
    ? {
        profile: rec.options?.seccompLearn
          ? 'learning'
          : rec.options?.seccompProfile
            ? `custom (${rec.options.seccompProfile})`
            : 'default',
        defaultAction: l.seccomp.defaultAction,
        ruleCount: l.seccomp.syscalls?.length ?? 0,
        listener: Boolean((l.seccomp as { listenerPath?: string }).listenerPath),
      }
    : null;
  // The user namespace is the launcher's (unshare with these maps), not runc's: no spec field.
  const asMap = (m: IdMapping) => ({ containerID: m.containerID, hostID: m.hostID, size: m.size });
  const root = spec.mounts?.find((m) => m.destination === '/');
  const report: SecurityReport = {
    id: rec.id,
    name: rec.name,
    running: rec.status === 'running' && Boolean(proc),
    userNamespace: {
      uidMap: maps.uidMap.map(asMap),
      gidMap: maps.gidMap.map(asMap),
      rootIsHostRoot: maps.uidMap.some((m) => m.containerID === 0 && m.hostID === 0),
    },
    capabilities: {
      effective: strip(caps.effective),
      bounding: strip(caps.bounding),
      ambient: strip(caps.ambient),
      permitted: strip(caps.permitted),
    },
    noNewPrivileges: spec.process.noNewPrivileges === true,
    seccomp,
    apparmor: (spec.process as { apparmorProfile?: string }).apparmorProfile ?? null,
    landlock: landlockOfSpec(spec.annotations, rec.options?.landlock),
    readOnlyRoot: spec.root?.readonly === true || Boolean(root?.options?.includes('ro')),
    readOnlyPaths: [...(l.readonlyPaths ?? [])],
    maskedPaths: [...(l.maskedPaths ?? [])],
    namespaces: (l.namespaces ?? []).map((n) => ({ type: n.type, ...(n.path ? { shared: n.path } : {}) })),
    mounts: (spec.mounts ?? []).map((m) => ({
      destination: m.destination,
      type: m.type ?? 'bind',
      ...(m.type === 'bind' || !m.type ? { source: m.source } : {}),
      readonly: Boolean(m.options?.includes('ro')),
    })),
    limits: { ...rec.limits },
    supplementaryGroups: rec.supplementaryGroups ?? [],
    mismatches: [],
  };
  if (proc) {
    const live = {
      capEff: capsOfMask(statusField(proc.status, 'CapEff') ?? ''),
      capBnd: capsOfMask(statusField(proc.status, 'CapBnd') ?? ''),
      capAmb: capsOfMask(statusField(proc.status, 'CapAmb') ?? ''),
      capPrm: capsOfMask(statusField(proc.status, 'CapPrm') ?? ''),
      noNewPrivs: statusField(proc.status, 'NoNewPrivs') === '1',
      seccompMode: Number(statusField(proc.status, 'Seccomp') ?? 0),
      ...(statusField(proc.status, 'Seccomp_filters') !== undefined
        ? { seccompFilters: Number(statusField(proc.status, 'Seccomp_filters')) }
        : {}),
      uidMap: proc.uidMap.trim().replace(/\s+/g, ' '),
    };
    report.live = live;
    const m = report.mismatches;
    // A limit is held by its controller's cgroup (the record names the ones the container joined).
    const controllerOf: Record<string, string> = {
      memory: 'memory',
      memorySwap: 'memory',
      pids: 'pids',
      cpus: 'cpu',
      cpuQuota: 'cpu',
      cpuPeriod: 'cpu',
      cpusetCpus: 'cpuset',
    };
    const joined = (rec.cgroups ?? {}) as Record<string, string | undefined>;
    report.limitsEnforced = Object.fromEntries(
      Object.keys(rec.limits ?? {})
        .filter((k) => (rec.limits as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, Boolean(joined[controllerOf[k] ?? k])]),
    );
    for (const [k, held] of Object.entries(report.limitsEnforced))
      if (!held) m.push(`limit ${k} is set but no ${controllerOf[k] ?? k} cgroup holds it`);
    const same = (a: string[], b: string[]) => a.join() === [...b].sort().join();
    // The process's sets are what the kernel enforces; a wider one than the spec's is a mismatch.
    if (!same(report.capabilities.bounding, live.capBnd))
      m.push(
        `bounding capabilities: spec ${report.capabilities.bounding.join(',') || '-'}, process ${live.capBnd.join(',') || '-'}`,
      );
    if (live.capEff.some((c) => !report.capabilities.effective.includes(c)))
      m.push(
        `effective capabilities beyond the spec: ${live.capEff.filter((c) => !report.capabilities.effective.includes(c)).join(',')}`,
      );
    if (report.noNewPrivileges && !live.noNewPrivs) m.push('no_new_privs is not set on the process');
    if (seccomp && live.seccompMode !== 2)
      m.push(`seccomp: the process is in mode ${live.seccompMode}, not filtered (2)`);
    // uid_map inside the namespace: "0 <host id> <size>" lines; container root must not be host 0.
    const rootLine = proc.uidMap
      .split('\n')
      .map((x) => x.trim().split(/\s+/).map(Number))
      .find((f) => f[0] === 0);
    if (rootLine && rootLine[1] === 0) {
      report.userNamespace.rootIsHostRoot = true;
      m.push('container root is host root');
    }
  }
  return report;
}

/** The running init's status and uid_map (undefined if it is gone or unreadable). */
export function readLive(pid: number | undefined): { status: string; uidMap: string } | undefined {
  if (!pid) return undefined;
  try {
    return {
      status: readFileSync(`/proc/${pid}/status`, 'utf8').slice(0, 65536),
      uidMap: readFileSync(`/proc/${pid}/uid_map`, 'utf8').slice(0, 65536),
    };
  } catch {
    return undefined;
  }
}
