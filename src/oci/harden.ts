/**
 * moat's defaults applied to a caller's spec. Pure: the spec, the mode and allow-list, and the
 * host's architecture and kernel in; the spec runc gets and the list of changes out. Each change
 * is one line of the decision log; in audit mode they are listed and the spec is returned as it
 * came, in off mode there are none.
 *
 * - seccomp: moat's default profile (src/seccomp, resolved for the capabilities the container
 *   keeps) where the spec has none, an unconfined one (default action ALLOW or LOG and no rule
 *   that blocks) or one whose default action lets calls through (ALLOW, LOG, TRACE, NOTIFY: a
 *   short deny list). A caller's filter that blocks by default is kept, narrowed to moat's
 *   profile where it is looser (compareSeccomp): for each syscall it lets through further than
 *   moat's profile does (mount, unshare, keyctl, bpf, ptrace, ... or clone without moat's
 *   argument conditions), its rules that let the call through are removed and moat's rules for
 *   that syscall (none where moat blocks it outright) put in their place; architectures moat does
 *   not filter and SECCOMP_FILTER_FLAG_SPEC_ALLOW are removed. A filter still looser after that is
 *   replaced by moat's. The kind and what it loosens go to the policy (facts.oci.seccomp);
 * - capabilities: each set cut to the allow-list (Docker's default set unless configured);
 * - noNewPrivileges: true;
 * - masked and read-only paths: moat's (runtime/spec/security.ts) added to the caller's;
 * - pids: a limit where the spec sets none, only where the spec has a cgroup (cgroupsPath): a
 *   rootless caller without one (podman with cgroupfs) gets no cgroup from runc, and a limit
 *   there would fail the create.
 * - Landlock: moat-init at /dev/init before the command, last (it may allow its three calls in the
 *   seccomp filter worked out above): landlock.ts.
 */
import {
  compareSeccomp,
  defaultProfile,
  letsThrough,
  resolveSeccomp,
  type LinuxSeccomp,
} from '../seccomp/index.js';
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
  /** The caller's filter against moat's profile (every mode, off too). */
  seccomp?: SeccompFacts;
}

/** What the policy sees of the caller's filter (facts.oci.seccomp, beside its summary). */
export interface SeccompFacts {
  /**
   * none; unconfined (lets everything through); default-allow (lets through what its rules do
   * not name); custom (blocks by default).
   */
  kind: 'none' | 'unconfined' | 'default-allow' | 'custom';
  /** What it lets through that moat's profile does not (syscall names, defaultAction, architectures, flags; at most 20). */
  looser: string[];
  looser_count: number;
}

const NON_SYSCALL = new Set(['defaultAction', 'architectures', 'flags', 'unconfined']);

export function seccompKind(sc: unknown): SeccompFacts['kind'] {
  if (sc === undefined || sc === null) return 'none';
  if (seccompUnconfined(sc)) return 'unconfined';
  return letsThrough((sc as LinuxSeccomp).defaultAction) ? 'default-allow' : 'custom';
}

/**
 * A blocking-by-default filter narrowed to `reference` for what `loosened` names: rules that
 * let those syscalls through dropped, the reference's rules for them added. Pure.
 */
export function narrowSeccomp(
  sc: LinuxSeccomp,
  reference: LinuxSeccomp,
  loosened: readonly string[],
): LinuxSeccomp {
  const out = structuredClone(sc);
  const names = new Set(loosened.filter((n) => !NON_SYSCALL.has(n)));
  if (loosened.includes('architectures')) {
    const ref = new Set(reference.architectures ?? []);
    out.architectures = (out.architectures ?? []).filter((a) => ref.has(a));
  }
  if (loosened.includes('flags'))
    out.flags = (out.flags ?? []).filter((f) => f !== 'SECCOMP_FILTER_FLAG_SPEC_ALLOW');
  const rules = [];
  for (const r of out.syscalls ?? []) {
    const kept = letsThrough(r.action) ? r.names.filter((n) => !names.has(n)) : r.names;
    if (kept.length) rules.push({ ...r, names: kept });
  }
  for (const r of reference.syscalls ?? []) {
    const named = r.names.filter((n) => names.has(n));
    if (named.length) rules.push({ ...structuredClone(r), names: named });
  }
  out.syscalls = rules;
  return out;
}

const LOOSER_MAX = 20;

/** The caller's filter judged against moat's profile, and the filter runc is to get. */
function seccompFor(
  sc: unknown,
  reference: LinuxSeccomp,
): { facts: SeccompFacts; filter?: LinuxSeccomp; change?: string } {
  const kind = seccompKind(sc);
  const rules = `moat's default profile (${reference.syscalls?.length ?? 0} rules)`;
  if (kind !== 'custom') {
    const c = compareSeccomp(kind === 'none' ? null : (sc as LinuxSeccomp), reference, LOOSER_MAX);
    const facts = { kind, looser: c.loosened, looser_count: c.loosenedCount };
    const why =
      kind === 'none'
        ? 'set to'
        : kind === 'unconfined'
          ? 'unconfined filter replaced by'
          : `filter that lets through what it does not name (default action ${String((sc as LinuxSeccomp).defaultAction)}) replaced by`;
    return { facts, filter: reference, change: `${why} ${rules}` };
  }
  const c = compareSeccomp(sc as LinuxSeccomp, reference, Infinity);
  const facts = { kind, looser: c.loosened.slice(0, LOOSER_MAX), looser_count: c.loosenedCount };
  if (!c.looserThanDefault) return { facts };
  const narrowed = narrowSeccomp(sc as LinuxSeccomp, reference, c.loosened);
  const shown = c.loosened.slice(0, LOOSER_MAX).join(', ') + (c.loosenedCount > LOOSER_MAX ? ', ...' : '');
  if (compareSeccomp(narrowed, reference, 0).looserThanDefault)
    return { facts, filter: reference, change: `filter looser than moat's (${shown}) replaced by ${rules}` };
  return {
    facts,
    filter: narrowed,
    change: `narrowed to moat's default profile for what it let through further (${shown})`,
  };
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
  const spec = structuredClone(input);
  const changes: Change[] = [];
  const allow = new Set(o.capabilities.map(normalizeCap));

  const proc = (spec.process ??= {});
  const caps = (proc.capabilities ??= {});
  cutProcess(proc, allow, changes);

  const linux = (spec.linux ??= {});
  // moat's profile for the capabilities the container keeps (its bounding set, cut).
  const reference: LinuxSeccomp = resolveSeccomp(defaultProfile(), {
    capabilities: caps.bounding ?? [],
    arch: o.arch,
    kernelVersion: o.kernelVersion,
  });
  const sc = seccompFor(input.linux?.seccomp, reference);
  if (o.mode === 'off') return { spec: input, changes: [], applied: false, seccomp: sc.facts };
  if (sc.filter && sc.change) {
    linux.seccomp = sc.filter as unknown as Record<string, unknown>;
    changes.push({ field: 'linux.seccomp', change: sc.change });
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
    ? { spec, changes, applied: true, seccomp: sc.facts, landlock }
    : { spec: input, changes, applied: false, seccomp: sc.facts, landlock };
}
