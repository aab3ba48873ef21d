/**
 * The limits a container gets when the user names none. Pure: the run options and host facts in,
 * the effective limits out, so `moat info`, `inspect` and the policy all see the same numbers.
 *
 * Processes: without a limit a container inherits the user's RLIMIT_NPROC (often above the
 * kernel's pid_max) and a fork bomb exhausts the host's PIDs. Where the pids cgroup is delegated,
 * moat sets `pids.max`; otherwise it sets RLIMIT_NPROC in the container. The kernel counts
 * RLIMIT_NPROC per user ID *within the container's user namespace* (each container has its own),
 * so it caps each container user's processes, not the container as a whole: a container whose
 * processes run as several users may hold the limit once per user. Threads count in both.
 */
import type { CgroupFacts, Rlimit } from './host.js';
import type { Limits } from './cgroups.js';
import type { OciSpec } from './oci.js';
import type { RunOptions } from './options.js';

export const LIMIT_DEFAULTS = {
  /** Processes (and threads) per container: podman's default. */
  pids: 2048,
  /** Size of a `--tmpfs` mount that names no `size=` (tmpfs counts against memory). */
  tmpfsSize: '64m',
  /** Size of /dev/shm without `--shm-size` (Docker's default). */
  shmSize: 64 * 1024 * 1024,
} as const;

export interface EffectivePids {
  /** The limit, or undefined for none (`--pids-limit -1`). */
  value?: number;
  /** How it is enforced. */
  via: 'cgroup' | 'rlimit' | 'none';
  /** Whether the user asked for it (otherwise it is moat's default). */
  requested: boolean;
}

/** `--pids-limit`: a positive number is a limit, 0 or -1 is none (as Docker), unset is moat's default. */
export function effectivePids(
  opts: Pick<RunOptions, 'pidsLimit' | 'ulimits'>,
  cgroup: Pick<CgroupFacts, 'delegated'>,
  rlimits: Record<string, Rlimit>,
): EffectivePids {
  const asked = opts.pidsLimit;
  if (asked !== undefined && asked > 0) return { value: asked, via: 'cgroup', requested: true };
  if (asked !== undefined) return { via: 'none', requested: true };
  const nproc = opts.ulimits.find((u) => u.name === 'nproc');
  if (cgroup.delegated.pids) return { value: LIMIT_DEFAULTS.pids, via: 'cgroup', requested: false };
  if (nproc) return { value: nproc.soft, via: 'rlimit', requested: true };
  const hard = rlimits.RLIMIT_NPROC?.hard;
  const value = typeof hard === 'number' ? Math.min(hard, LIMIT_DEFAULTS.pids) : LIMIT_DEFAULTS.pids;
  return { value, via: 'rlimit', requested: false };
}

/** The cgroup limits of a run: what the user asked for, and moat's process limit where it is a cgroup's. */
export function limitsFor(opts: RunOptions, pids: EffectivePids): Limits {
  const set = <K extends keyof Limits>(k: K, v: Limits[K]) => (v !== undefined ? { [k]: v } : {});
  return {
    memory: opts.memory,
    ...set('memorySwap', opts.memorySwap),
    pids: pids.via === 'cgroup' ? pids.value : undefined,
    cpus: opts.cpus,
    ...set('cpuQuota', opts.cpuQuota),
    ...set('cpuPeriod', opts.cpuPeriod),
    ...set('cpusetCpus', opts.cpusetCpus),
  };
}

/** The RLIMIT_NPROC moat adds to the spec (only when it is the enforcement and the user gave none). */
export function defaultNproc(p: EffectivePids): number | undefined {
  return p.via === 'rlimit' && !p.requested ? p.value : undefined;
}

/** A user tmpfs's options with moat's default size when none is named. */
export function tmpfsOptions(options: string[]): string[] {
  return options.some((o) => o.startsWith('size='))
    ? options
    : [...options, `size=${LIMIT_DEFAULTS.tmpfsSize}`];
}

/**
 * The user's tmpfs mounts as the policy sees them (`run.tmpfs_mounts`): the options as mounted
 * (moat's nosuid,nodev first, a default size) and whether programs may run from it (`exec` or
 * `noexec`, the last one given wins; exec unless noexec is named).
 */
export function tmpfsMountFacts(tmpfs: RunOptions['tmpfs']) {
  return tmpfs.map((t) => {
    const last = t.options.filter((o) => o === 'exec' || o === 'noexec').pop();
    return {
      destination: t.path,
      options: ['nosuid', 'nodev', ...tmpfsOptions(t.options)],
      exec: last !== 'noexec',
    };
  });
}

/** What `inspect` shows: the limits a container runs with, however they are enforced. */
export function effectiveLimitsOf(rec: { limits?: Limits }, spec: Pick<OciSpec, 'process'> | null) {
  const nproc = spec?.process.rlimits?.find((r) => r.type === 'RLIMIT_NPROC');
  const pids =
    rec.limits?.pids !== undefined
      ? { value: rec.limits.pids, via: 'cgroup' as const }
      : nproc
        ? { value: nproc.soft, via: 'rlimit' as const }
        : { via: 'none' as const };
  const l = rec.limits ?? {};
  return {
    memory: l.memory ?? null,
    cpus: l.cpus ?? null,
    pids,
    // Shown when asked for (`--memory-swap`, `--cpu-quota`, `--cpu-period`, `--cpuset-cpus`).
    ...(l.memorySwap !== undefined ? { memorySwap: l.memorySwap } : {}),
    ...(l.cpuQuota !== undefined ? { cpuQuota: l.cpuQuota } : {}),
    ...(l.cpuPeriod !== undefined ? { cpuPeriod: l.cpuPeriod } : {}),
    ...(l.cpusetCpus !== undefined ? { cpusetCpus: l.cpusetCpus } : {}),
  };
}
