/**
 * moat's defaults applied to a caller's spec. Pure: the spec, the mode and allow-list, and the
 * host's architecture and kernel in; the spec runc gets and the list of changes out. Each change
 * is one line of the decision log; in audit mode they are listed and the spec is returned as it
 * came, in off mode there are none.
 *
 * - seccomp: moat's default profile (src/seccomp, resolved for the capabilities the container
 *   keeps) where the spec has none or an unconfined one (default action ALLOW or LOG and no rule
 *   that blocks); a caller's own filter is kept, and its summary goes to the policy;
 * - capabilities: each set cut to the allow-list (Docker's default set unless configured);
 * - noNewPrivileges: true;
 * - masked and read-only paths: moat's (runtime/spec/security.ts) added to the caller's;
 * - pids: a limit where the spec sets none, only where the spec has a cgroup (cgroupsPath): a
 *   rootless caller without one (podman with cgroupfs) gets no cgroup from runc, and a limit
 *   there would fail the create.
 * - Landlock: moat-init at /dev/init before the command, last (it may allow its three calls in the
 *   seccomp filter worked out above): landlock.ts.
 */
import { defaultProfile, resolveSeccomp, type LinuxSeccomp } from '../seccomp/index.js';
import { MASKED_PATHS, NO_NEW_PRIVILEGES, READONLY_PATHS } from '../runtime/spec/security.js';
import type { HardeningMode } from './config.js';
import { CAP_SETS, type CallerSpec } from './spec.js';
import { applyLandlock, type LandlockHost, type OciLandlock } from './landlock.js';

export interface Change {
  /** The spec field, dotted (`process.capabilities.bounding`). */
  field: string;
  /** What moat does (or, in audit mode, would do) to it. */
  change: string;
}

export interface HardenOptions {
  mode: HardeningMode;
  capabilities: readonly string[];
  pidsLimit: number;
  arch: NodeJS.Architecture;
  kernelVersion: string;
  /** The host's Landlock and the caller's bundle (root.path is relative to it); none: not applied. */
  landlock?: { host: LandlockHost; bundle: string };
}

export interface Hardened {
  /** The spec runc gets: hardened in enforce mode, the caller's otherwise. */
  spec: CallerSpec;
  changes: Change[];
  /** Whether the changes were applied (enforce). */
  applied: boolean;
  /** Landlock as worked out (facts.oci.landlock); absent in off mode. */
  landlock?: OciLandlock;
}

export const normalizeCap = (c: string): string => {
  const u = c.toUpperCase();
  return u.startsWith('CAP_') ? u : `CAP_${u}`;
};

const BLOCKING = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);

/** No filter, or one that lets everything through. */
export function seccompUnconfined(sc: unknown): boolean {
  if (sc === undefined || sc === null) return true;
  const s = sc as { defaultAction?: unknown; syscalls?: unknown };
  if (!BLOCKING.has(String(s.defaultAction))) return false;
  const rules = Array.isArray(s.syscalls) ? (s.syscalls as { action?: unknown }[]) : [];
  return rules.every((r) => BLOCKING.has(String(r?.action)));
}

type Process = NonNullable<CallerSpec['process']>;

/**
 * A process's capability sets cut to `allow` and no_new_privs set, in place, each change recorded:
 * the container's process at create (harden) and an exec'd one (exec.ts) alike.
 */
export function cutProcess(proc: Process, allow: ReadonlySet<string>, changes: Change[]): void {
  // A process without capability sets keeps none added (runc's exec then inherits the
  // container's, which create cut already).
  const caps = proc.capabilities ?? {};
  for (const set of CAP_SETS) {
    const list = caps[set];
    if (!list) continue;
    const dropped = list.filter((c) => !allow.has(normalizeCap(c)));
    if (dropped.length) {
      caps[set] = list.filter((c) => allow.has(normalizeCap(c)));
      changes.push({ field: `process.capabilities.${set}`, change: `dropped ${dropped.join(', ')}` });
    }
  }
  if (proc.noNewPrivileges !== NO_NEW_PRIVILEGES) {
    proc.noNewPrivileges = NO_NEW_PRIVILEGES;
    changes.push({ field: 'process.noNewPrivileges', change: 'set to true' });
  }
}

export function harden(input: CallerSpec, o: HardenOptions): Hardened {
  if (o.mode === 'off') return { spec: input, changes: [], applied: false };
  const spec = structuredClone(input);
  const changes: Change[] = [];
  const allow = new Set(o.capabilities.map(normalizeCap));

  const proc = (spec.process ??= {});
  const caps = (proc.capabilities ??= {});
  cutProcess(proc, allow, changes);

  const linux = (spec.linux ??= {});
  if (seccompUnconfined(linux.seccomp)) {
    const profile: LinuxSeccomp = resolveSeccomp(defaultProfile(), {
      capabilities: caps.bounding ?? [],
      arch: o.arch,
      kernelVersion: o.kernelVersion,
    });
    linux.seccomp = profile as unknown as Record<string, unknown>;
    changes.push({
      field: 'linux.seccomp',
      change: `${input.linux?.seccomp ? 'unconfined filter replaced by' : 'set to'} moat's default profile (${profile.syscalls?.length ?? 0} rules)`,
    });
  }
  for (const [field, wanted] of [
    ['maskedPaths', MASKED_PATHS],
    ['readonlyPaths', READONLY_PATHS],
  ] as const) {
    const have = linux[field] ?? [];
    const added = wanted.filter((p) => !have.includes(p));
    if (added.length) {
      linux[field] = [...have, ...added];
      changes.push({ field: `linux.${field}`, change: `added ${added.join(', ')}` });
    }
  }
  const pids = linux.resources?.pids?.limit;
  if (o.pidsLimit > 0 && (pids === undefined || pids <= 0) && linux.cgroupsPath) {
    const resources = (linux.resources ??= {});
    resources.pids = { ...(resources.pids ?? {}), limit: o.pidsLimit };
    changes.push({ field: 'linux.resources.pids.limit', change: `set to ${o.pidsLimit}` });
  }
  const landlock = applyLandlock(spec, o.landlock?.host, o.landlock?.bundle ?? '/', changes);
  return o.mode === 'enforce'
    ? { spec, changes, applied: true, landlock }
    : { spec: input, changes, applied: false, landlock };
}
