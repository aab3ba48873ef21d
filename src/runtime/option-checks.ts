/**
 * The checks every run option passes, whichever way it came in: the CLI's flags, `/v1`'s JSON and
 * the Docker API's create body all become RunOptions, and the engine runs these before it plans a
 * container (spec generation runs them again). An option is applied as checked here, or refused
 * with a message naming the docker flag: nothing is dropped. Pure: host facts are checked later
 * (cgroup delegation in cgroups.ts, the image's groups and the ID mapping in spec.ts).
 */
import { RuntimeError } from './errors.js';
import { networkProblems } from './network/plan.js';
import type { RunOptions, TmpfsSpec, UlimitSpec } from './options.js';

export interface Problem {
  message: string;
  hint?: string;
}

/**
 * The smallest memory limit a container can start with. Below a few MiB runc's own init (a Go
 * program) cannot even start: on cgroup v1 it then sits paused at the limit (moat sets
 * oom_kill_disable) and the run never ends. Docker refuses less than 6 MB; so does moat.
 */
export const MIN_MEMORY = 6 * 1024 * 1024;

/** `--ulimit` names and the rlimits they set: the only names accepted. */
export const RLIMIT_OF: Readonly<Record<string, string>> = Object.freeze({
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
  as: 'RLIMIT_AS',
});
export const ULIMIT_NAMES = Object.keys(RLIMIT_OF);

/**
 * Tmpfs options (`--tmpfs`, `--mount type=tmpfs`, the Docker API's `Tmpfs` and `Mounts`) that take
 * no value. `exec` is allowed, as Docker allows it (the policy sees it: `run.tmpfs_mounts`).
 * `suid` and `dev` are refused: moat mounts every tmpfs nosuid,nodev. Inside the user namespace
 * neither reaches the host, but a set-user-ID file or a device node on a writable tmpfs is a way
 * for one user of the container to become another.
 */
export const TMPFS_FLAGS = ['noexec', 'exec', 'nosuid', 'nodev', 'ro', 'rw'];
const TMPFS_REFUSED: Record<string, Problem> = {
  suid: {
    message: 'moat mounts every tmpfs nosuid',
    hint: 'a set-user-ID file on a tmpfs would let one container user become another; drop the option',
  },
  dev: {
    message: 'moat mounts every tmpfs nodev',
    hint: 'device nodes are not passed into containers; drop the option',
  },
};
/** Tmpfs options that take a value, and what the value must be. */
export const TMPFS_VALUES: Readonly<Record<string, { re: RegExp; must: string }>> = {
  size: {
    re: /^\d+[kmgKMG%]?$/,
    must: 'a size in bytes with an optional k, m or g (or a % of memory), e.g. size=64m',
  },
  mode: { re: /^[0-7]{3,4}$/, must: 'octal permissions, e.g. mode=1777' },
  nr_inodes: { re: /^\d+[kmgKMG]?$/, must: 'a number with an optional k, m or g, e.g. nr_inodes=10k' },
  uid: { re: /^\d+$/, must: 'a numeric user ID' },
  gid: { re: /^\d+$/, must: 'a numeric group ID' },
};

/** The first problem of a tmpfs's options, named as `--tmpfs PATH:OPTIONS`. */
export function tmpfsProblem(t: TmpfsSpec): Problem | undefined {
  const s = t.options.length ? `${t.path}:${t.options.join(',')}` : t.path;
  if (!t.path.startsWith('/'))
    return {
      message: `tmpfs target "${t.path}" must be an absolute path`,
      hint: 'use --tmpfs /path[:size=64m,mode=1777,...]',
    };
  for (const o of t.options) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    if (eq >= 0 && Object.hasOwn(TMPFS_VALUES, key)) {
      const rule = TMPFS_VALUES[key];
      if (!rule.re.test(o.slice(eq + 1)))
        return {
          message: `invalid tmpfs ${key} "${o.slice(eq + 1)}" in "${s}"`,
          hint: `${key}= takes ${rule.must}`,
        };
      continue;
    }
    if (eq < 0 && TMPFS_FLAGS.includes(o)) continue;
    if (eq < 0 && Object.hasOwn(TMPFS_REFUSED, o))
      return {
        message: `tmpfs option "${o}" in "${s}" is refused: ${TMPFS_REFUSED[o].message}`,
        hint: TMPFS_REFUSED[o].hint,
      };
    return {
      message: `unsupported tmpfs option "${o}" in "${s}"`,
      hint: `allowed: ${Object.keys(TMPFS_VALUES)
        .map((k) => `${k}=`)
        .join(', ')}, ${TMPFS_FLAGS.join(', ')}`,
    };
  }
  return undefined;
}

/** Sysctls of the container's IPC namespace (Docker's list, and the rest of kernel.shm*, kernel.msg*). */
const IPC_SYSCTL = /^kernel\.(shm[a-z_]*|msg[a-z_]*|sem)$/;

/**
 * `--sysctl KEY=VALUE`: namespaced parameters only, which runc sets inside the container's own
 * namespaces — `net.*` (its network namespace), `kernel.shm*`, `kernel.msg*`, `kernel.sem`,
 * `fs.mqueue.*` (its IPC namespace). Anything else would be a host setting.
 */
export function sysctlProblem(key: string, value: unknown): Problem | undefined {
  const flag = `--sysctl ${key.slice(0, 80)}`;
  const allowed =
    "moat sets namespaced sysctls only: net.* (the container's network namespace), kernel.shm*, kernel.msg*, kernel.sem and fs.mqueue.* (its IPC namespace)";
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_@:-]+)+$/.test(key))
    return {
      message: `invalid sysctl name "${key.slice(0, 80)}"`,
      hint: 'names are dotted: net.ipv4.ping_group_range',
    };
  if (key === 'kernel.hostname')
    return {
      message: `${flag} is refused: the container's hostname is set with --hostname`,
      hint: 'give --hostname NAME',
    };
  if (key === 'kernel.domainname')
    return { message: `${flag} is refused: moat does not offer --domainname`, hint: allowed };
  if (!key.startsWith('net.') && !key.startsWith('fs.mqueue.') && !IPC_SYSCTL.test(key))
    return { message: `${flag} is refused: it is not namespaced, so it would set the host's`, hint: allowed };
  if (typeof value !== 'string' || value.length > 1024 || /[\x00-\x08\x0a-\x1f\x7f]/.test(value))
    return {
      message: `invalid value for ${flag}`,
      hint: 'a single line of text, e.g. --sysctl net.ipv4.ping_group_range="0 1000"',
    };
  return undefined;
}

/** `--ulimit`: a name of RLIMIT_OF's own, whole numbers, soft ≤ hard. */
export function ulimitProblem(u: UlimitSpec): Problem | undefined {
  const text = `${u.name}=${u.soft}:${u.hard}`;
  if (typeof u.name !== 'string' || !Object.hasOwn(RLIMIT_OF, u.name))
    return {
      message: `invalid ulimit name "${String(u.name).slice(0, 40)}"`,
      hint: `one of ${ULIMIT_NAMES.join(', ')}`,
    };
  if (!Number.isSafeInteger(u.soft) || !Number.isSafeInteger(u.hard) || u.soft < 0 || u.hard < 0)
    return { message: `invalid ulimit "${text}": soft and hard are whole numbers ≥ 0` };
  if (u.soft > u.hard) return { message: `invalid ulimit "${text}": soft must be ≤ hard` };
  return undefined;
}

const CPUSET = /^\d{1,4}(-\d{1,4})?(,\d{1,4}(-\d{1,4})?)*$/;
const GROUP = /^(\d{1,10}|[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?)$/;

/** Every problem of these options, in the order of the flags (the first is reported). */
export function runOptionProblems(o: Partial<RunOptions>): Problem[] {
  const out: Problem[] = [];
  const p = (message: string, hint?: string) => out.push(hint ? { message, hint } : { message });
  if (o.memory !== undefined && o.memory < MIN_MEMORY)
    p(
      `a memory limit of ${o.memory} bytes is below the minimum of 6 MiB a container needs to start`,
      'give --memory 6m or more (the unit matters: --memory 1 is one byte)',
    );
  if (o.memorySwap !== undefined) {
    if (o.memory === undefined)
      p('--memory-swap needs --memory', '--memory-swap is the total of memory and swap: give --memory too');
    else if (o.memorySwap !== -1 && o.memorySwap < o.memory)
      p(
        `--memory-swap ${o.memorySwap} is below --memory ${o.memory}`,
        '--memory-swap is the total of memory and swap (at least --memory; -1 for unlimited swap)',
      );
  }
  if (o.shmSize !== undefined && !(Number.isSafeInteger(o.shmSize) && o.shmSize > 0))
    p(`invalid --shm-size ${o.shmSize}`, 'a positive size such as 64m');
  if (o.cpus !== undefined && (o.cpuQuota !== undefined || o.cpuPeriod !== undefined))
    p(
      `conflicting options: --cpus and ${o.cpuQuota !== undefined ? '--cpu-quota' : '--cpu-period'} cannot both be set`,
      'give --cpus, or --cpu-quota with --cpu-period',
    );
  if (o.cpuQuota !== undefined && !(Number.isSafeInteger(o.cpuQuota) && o.cpuQuota >= 1000))
    p(
      `invalid --cpu-quota ${o.cpuQuota}: the CFS quota cannot be less than 1ms (1000)`,
      'microseconds of CPU time per period',
    );
  if (
    o.cpuPeriod !== undefined &&
    !(Number.isSafeInteger(o.cpuPeriod) && o.cpuPeriod >= 1000 && o.cpuPeriod <= 1_000_000)
  )
    p(
      `invalid --cpu-period ${o.cpuPeriod}: the CFS period is from 1ms (1000) to 1s (1000000)`,
      'microseconds; the default is 100000',
    );
  if (o.cpusetCpus !== undefined) {
    const ok =
      CPUSET.test(o.cpusetCpus) &&
      o.cpusetCpus.split(',').every((r) => {
        const [a, b] = r.split('-').map(Number);
        return b === undefined || a <= b;
      });
    if (!ok) p(`invalid --cpuset-cpus "${o.cpusetCpus.slice(0, 40)}"`, 'a list of CPUs such as 0-2,4');
  }
  for (const g of o.groupAdd ?? [])
    if (!GROUP.test(g) || Number(g) > 0xfffffffe)
      p(
        `invalid --group-add "${g.slice(0, 40)}"`,
        "a numeric GID or a group name from the image's /etc/group",
      );
  for (const [k, v] of Object.entries(o.sysctls ?? {})) {
    const bad = sysctlProblem(k, v);
    if (bad) out.push(bad);
  }
  if (o.oomScoreAdj !== undefined) {
    if (!Number.isSafeInteger(o.oomScoreAdj) || o.oomScoreAdj > 1000 || o.oomScoreAdj < -1000)
      p(`invalid --oom-score-adj ${o.oomScoreAdj}`, 'a number from 0 to 1000');
    else if (o.oomScoreAdj < 0)
      p(
        `--oom-score-adj ${o.oomScoreAdj} is refused: a rootless container can only raise its OOM score`,
        'give 0 to 1000 (higher: the kernel kills it first when the host runs out of memory)',
      );
  }
  for (const u of o.ulimits ?? []) {
    const bad = ulimitProblem(u);
    if (bad) out.push(bad);
  }
  for (const t of o.tmpfs ?? []) {
    const bad = tmpfsProblem(t);
    if (bad) out.push(bad);
  }
  if (o.rm && o.restart && o.restart.name !== 'no')
    p(
      'conflicting options: --restart and --rm',
      'a container removed when it ends cannot be restarted: drop one of them',
    );
  out.push(...networkProblems(o));
  if (o.seccompLearn !== undefined && o.seccompProfile !== undefined)
    out.push({
      message:
        'a learning run records under its own profile: --seccomp-learn and --security-opt seccomp=FILE cannot go together',
      hint: 'learn first, then run with --security-opt seccomp=LEARNED.json (or merge with moat seccomp learn --merge FILE)',
    });
  if (o.landlock === 'off' && (o.landlockBind !== undefined || o.landlockConnect !== undefined))
    p(
      `conflicting options: --security-opt landlock=off and ${o.landlockBind !== undefined ? 'landlock-bind' : 'landlock-connect'}=`,
      "Landlock's TCP rules need Landlock: drop landlock=off, or drop landlock-bind/landlock-connect",
    );
  for (const e of o.expose ?? [])
    if (
      !/^\d{1,5}(\/(tcp|udp))?$/.test(e) ||
      !(Number(e.split('/')[0]) >= 1 && Number(e.split('/')[0]) <= 65535)
    )
      p(
        `invalid --expose "${e.slice(0, 40)}"`,
        'a container port 1-65535 with an optional /tcp or /udp, e.g. --expose 8080',
      );
  if (o.seccompAllowNamespaces && o.seccompLearn === undefined)
    out.push({
      message: '--allow-namespaces is for a learning run (moat seccomp learn, --seccomp-learn FILE)',
    });
  for (const v of o.volumes ?? []) {
    if (v.volume === undefined && !v.host.startsWith('/'))
      p(
        `the bind mount on ${v.container} has no host path`,
        'give -v /host/path:/ctr/path, or a volume name',
      );
    if (v.volume !== undefined && v.volume !== '' && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(v.volume))
      p(
        `invalid volume name "${v.volume.slice(0, 80)}"`,
        'a volume name has two or more of letters, digits, _ . -',
      );
  }
  const seen = new Set<string>();
  for (const dest of [...(o.volumes ?? []).map((v) => v.container), ...(o.tmpfs ?? []).map((t) => t.path)]) {
    const n = dest.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
    if (seen.has(n)) p(`duplicate mount point: ${n}`, 'mount each container path once');
    seen.add(n);
  }
  return out;
}

/**
 * Checks on run options that no schema can express, for every way in (CLI and API alike): the
 * engine runs them before it plans a container. Throws the first problem.
 */
export function checkRunOptions(o: Partial<RunOptions>): void {
  const problems = runOptionProblems(o);
  if (!problems.length) return;
  const [first] = problems;
  throw new RuntimeError('RUNTIME_INVALID_OPTION', first.message, {
    ...(first.hint ? { hint: first.hint } : {}),
    details: { problems: problems.map((x) => x.message) },
  });
}
