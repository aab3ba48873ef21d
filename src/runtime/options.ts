/**
 * Run options as the user gives them (after the API schema check) and the small parsers that turn
 * CLI strings into them. Everything here is pure.
 */
import { SeccompError } from '../seccomp/errors.js';
import { PROFILE_NAME } from '../lsm/apparmor/profile.js';
import { tmpfsProblem, ulimitProblem, ULIMIT_NAMES } from './option-checks.js';
import { RuntimeError } from './errors.js';
import type { LogOptions } from './logs/config.js';
import type { RestartPolicy } from './restart.js';
import type { HealthOptions } from './health/config.js';
import { checkVolumeName } from './volumes/store.js';
import type { PortSpec } from './network/ports.js';

/**
 * A mount of a host directory or file (a bind) or of a volume. For a volume, `volume` is its name
 * ('' for an anonymous one not named yet) and `host` is set by planning to the volume's directory,
 * never taken from the request.
 */
export interface VolumeSpec {
  host: string;
  container: string;
  readonly: boolean;
  /** A volume's name: set for `-v NAME:/path`, `--mount type=volume`, `-v /path`, image VOLUMEs. */
  volume?: string;
  /** Made for this container alone (`-v /path`, the image's VOLUME): `rm -v` removes it. */
  anonymous?: boolean;
  /** Not filled from the image's files at the mount point when new (docker's `nocopy`). */
  nocopy?: boolean;
  /** Labels and driver options of the volume, when this mount creates it (`--mount volume-label=`). */
  volumeLabels?: Record<string, string>;
  volumeOptions?: Record<string, string>;
}

export interface TmpfsSpec {
  path: string;
  options: string[];
}

export interface UlimitSpec {
  name: string; // e.g. "nofile"
  soft: number;
  hard: number;
}

export interface RunOptions {
  image: string;
  name?: string;
  cmd?: string[];
  /** undefined: the image's; [] or [""]: none (docker's `--entrypoint ""`). */
  entrypoint?: string[];
  env: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  volumes: VolumeSpec[];
  tmpfs: TmpfsSpec[];
  readWrite: boolean;
  capAdd: string[];
  memory?: number;
  pidsLimit?: number;
  cpus?: number;
  /** CFS quota and period in microseconds (cgroup cpu; not with `cpus`). */
  cpuQuota?: number;
  cpuPeriod?: number;
  /** CPUs the container may run on, e.g. `0-1,3` (cgroup cpuset, where it is delegated). */
  cpusetCpus?: string;
  /** Memory plus swap in bytes, or -1 for unlimited swap (with `memory`). Unset: no swap. */
  memorySwap?: number;
  /** Size of /dev/shm in bytes (unset: 64 MiB). */
  shmSize?: number;
  /** Supplementary groups: GIDs, or names from the image's /etc/group (docker's --group-add). */
  groupAdd?: string[];
  /** Namespaced kernel parameters (see option-checks.ts), over moat's own. */
  sysctls?: Record<string, string>;
  /** The container process's OOM score adjustment, 0 to 1000 (a rootless one can only raise it). */
  oomScoreAdj?: number;
  ulimits: UlimitSpec[];
  init: boolean;
  rm: boolean;
  interactive: boolean;
  /**
   * A pseudo-terminal as the process's controlling terminal (-t): stdout and stderr are one
   * stream, and TERM defaults to xterm (docker's -t).
   */
  tty: boolean;
  /** Its health check, over the image's HEALTHCHECK (health/config.ts). */
  health?: HealthOptions;
  /** Run it again when it ends (restart.ts); unset: never. */
  restart?: RestartPolicy;
  /** Path of a custom seccomp profile (already validated), or undefined for moat's default. */
  seccompProfile?: string;
  /**
   * A learning run (`moat seccomp learn`, `--seccomp-learn FILE`): every call is let through and
   * recorded, and the learned profile is written to this absolute path when the container ends.
   */
  seccompLearn?: string;
  /** A learning run keeps the namespace calls loosened (clone flags, unshare, setns). */
  seccompAllowNamespaces?: boolean;
  /**
   * An AppArmor profile loaded on the host, by name (`--security-opt apparmor=NAME`), or
   * `unconfined` for none even where `moat-default` is loaded. Unset: `moat-default` where it is
   * loaded, else none (plan.ts).
   */
  apparmorProfile?: string;
  /**
   * Landlock (`--security-opt landlock=`): unset, applied where the host has it (else a warning);
   * `strict`, the run is refused without it; `off`, not applied (spec/landlock.ts).
   */
  landlock?: 'off' | 'strict';
  /**
   * Landlock's TCP bind rule (`--security-opt landlock-bind=PORTS|declared|none`, ABI ≥ 4): the
   * ports a process may bind, or `declared` (the container's -p and --expose ports and the image's
   * EXPOSEd tcp ones, resolved by spec/landlock.ts). Unset: not restricted, except that
   * landlock=strict means `declared`.
   */
  landlockBind?: number[] | 'declared';
  /** Landlock's TCP connect rule (`--security-opt landlock-connect=PORTS|none`); unset: not restricted. */
  landlockConnect?: number[];
  /** `--expose PORT[/tcp|/udp]` (docker's; Config.ExposedPorts): declared ports, not published. */
  expose?: string[];
  labels: Record<string, string>;
  /** Log rotation (`--log-opt max-size=10m --log-opt max-file=3`); unset: the defaults. */
  log?: LogOptions;
  /** Containers whose volumes and binds it mounts too (`NAME[:ro|:rw]`, docker's --volumes-from). */
  volumesFrom?: string[];
  /**
   * Its network: `none` (loopback only), a user-mode stack giving outbound access and published
   * ports (`slirp4netns`, `pasta`), a user-defined network by name (network/store.ts), or
   * `container:NAME` (that container's network namespace). Unset: `none`, or `slirp4netns` when
   * ports are published (-p, -P).
   */
  network?: string;
  /** Its other names on its user-defined network (--network-alias). */
  networkAliases?: string[];
  /** Published ports (-p; -P adds the image's EXPOSEd ones when the container is planned). */
  ports?: PortSpec[];
  publishAll?: boolean;
  /** DNS servers for its /etc/resolv.conf (--dns); unset: the stack's own resolver. */
  dns?: string[];
  /** Extra /etc/hosts lines (--add-host NAME:IP). */
  addHosts?: string[];
}

export function defaultRunOptions(image: string): RunOptions {
  return {
    image,
    env: [],
    volumes: [],
    tmpfs: [],
    readWrite: false,
    capAdd: [],
    ulimits: [],
    init: false,
    rm: false,
    interactive: false,
    tty: false,
    labels: {},
  };
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Docker's memory size syntax: 32m, 1g, 512k, 1048576. */
export function parseBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(s.trim());
  if (!m)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid size "${s}"`, {
      hint: 'use a number with an optional unit: 512k, 32m, 1g',
    });
  const n = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid size "${s}"`);
  return n;
}

// The checks every way in shares (the CLI, /v1, the Docker API): option-checks.ts.
export { checkRunOptions, MIN_MEMORY, ULIMIT_NAMES } from './option-checks.js';

/**
 * `-v`: `/host/path:/ctr/path[:OPTS]` (a bind), `NAME:/ctr/path[:OPTS]` (a named volume, created
 * on first use) or `/ctr/path` (an anonymous volume). OPTS, comma-separated as docker's: `ro`/`rw`,
 * `nocopy` (a volume not filled from the image), `private`/`rprivate` (what binds always are; the
 * other propagations would let mounts cross into or out of the host and are refused), and the
 * SELinux relabels `z`/`Z`, refused: moat sets no labels.
 */
export function parseVolume(s: string): VolumeSpec {
  const parts = s.split(':');
  const bad = (
    msg: string,
    hint = 'use -v /host/path:/ctr/path[:ro], -v NAME:/ctr/path[:ro] or -v /ctr/path',
  ): never => {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', msg, { hint });
  };
  if (parts.length === 1) {
    if (!s.startsWith('/'))
      bad(`invalid volume "${s}": a single path must be absolute (an anonymous volume)`);
    return { host: '', container: s, readonly: false, volume: '', anonymous: true };
  }
  if (parts.length > 3 || !parts[0] || !parts[1]) bad(`invalid volume "${s}"`);
  const spec: VolumeSpec = { host: '', container: parts[1], readonly: false };
  if (parts[0].startsWith('/')) spec.host = parts[0];
  else {
    checkVolumeName(parts[0]);
    spec.volume = parts[0];
  }
  for (const mode of (parts[2] ?? '').split(',')) {
    if (mode === '' || mode === 'rw') continue;
    if (mode === 'ro') spec.readonly = true;
    else if (mode === 'nocopy') {
      if (spec.volume === undefined) bad(`volume mode "nocopy" in "${s}" applies to volumes, not to binds`);
      spec.nocopy = true;
    } else if (mode === 'z' || mode === 'Z')
      bad(
        `volume mode "${mode}" in "${s}" is refused: moat sets no SELinux labels`,
        'drop :z/:Z; the files keep their labels',
      );
    else if (mode === 'private' || mode === 'rprivate') continue;
    else if (['shared', 'rshared', 'slave', 'rslave'].includes(mode))
      bad(
        `volume mode "${mode}" in "${s}" is refused: mounts never propagate into or out of the host`,
        'binds are always rprivate; drop the mode',
      );
    else if (['consistent', 'cached', 'delegated'].includes(mode))
      continue; // macOS only, as docker
    else bad(`invalid volume mode "${mode}" in "${s}"`, 'the modes are ro, rw, nocopy, private and rprivate');
  }
  if (!parts[1].startsWith('/')) bad(`volume target "${parts[1]}" must be an absolute path`);
  return spec;
}

export function parseTmpfs(s: string): TmpfsSpec {
  const i = s.indexOf(':');
  const t: TmpfsSpec = {
    path: i < 0 ? s : s.slice(0, i),
    options:
      i < 0
        ? []
        : s
            .slice(i + 1)
            .split(',')
            .filter(Boolean),
  };
  const bad = tmpfsProblem(t);
  if (bad) throw new RuntimeError('RUNTIME_INVALID_OPTION', bad.message, bad.hint ? { hint: bad.hint } : {});
  return t;
}

/**
 * `--security-opt`: `seccomp=FILE` (a profile; its path as given), `apparmor=NAME` (a profile
 * loaded on the host; `unconfined`: none, which the policy sees), `landlock=off|strict`,
 * `landlock-bind=PORTS|declared|none` and `landlock-connect=PORTS|none` (Landlock's TCP rules,
 * spec/landlock.ts), `no-new-privileges` (always on, so accepted and a no-op, as the API accepts
 * it). Anything that would loosen the isolation is refused with a code of its own:
 * `seccomp=unconfined`, `no-new-privileges=false`.
 */
export function parseSecurityOpt(s: string): {
  seccompProfile?: string;
  apparmorProfile?: string;
  landlock?: 'off' | 'strict';
  landlockBind?: number[] | 'declared';
  landlockConnect?: number[];
} {
  if (/^no-new-privileges([=:]true)?$/.test(s)) return {};
  const net = /^landlock-(bind|connect)[=:](.*)$/s.exec(s);
  if (net) {
    if (net[1] === 'bind' && net[2] === 'declared') return { landlockBind: 'declared' };
    const ports = parseLandlockPorts(net[2], `landlock-${net[1]}`);
    return net[1] === 'bind' ? { landlockBind: ports } : { landlockConnect: ports };
  }
  const ll = /^landlock[=:](.*)$/.exec(s);
  if (ll) {
    if (ll[1] === 'off' || ll[1] === 'strict') return { landlock: ll[1] };
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --security-opt ${s}`, {
      hint: 'landlock=off (none) or landlock=strict (refuse to run without it); by default it applies where the kernel has it',
    });
  }
  if (/^no-new-privileges[=:]false$/.test(s))
    throw new RuntimeError(
      'RUNTIME_INVALID_OPTION',
      `--security-opt ${s} is refused: no_new_privs is always set`,
      {
        hint: 'moat never lets a container gain privileges through setuid files; drop the option',
      },
    );
  const aa = /^apparmor[=:](.*)$/s.exec(s);
  if (aa) {
    if (!PROFILE_NAME.test(aa[1]))
      throw new RuntimeError(
        'RUNTIME_INVALID_OPTION',
        `invalid --security-opt apparmor=${aa[1].replace(/[\x00-\x1f\x7f]/g, '?')}: not a profile name`,
        {
          hint: 'name a loaded profile: letters, digits, _ . + - (starting with a letter or digit); or apparmor=unconfined',
        },
      );
    return { apparmorProfile: aa[1] };
  }
  const m = /^seccomp[=:](.*)$/.exec(s);
  if (m && m[1] === 'unconfined')
    throw new SeccompError('SECCOMP_UNCONFINED_REFUSED', `--security-opt ${s} is refused`, {
      hint: 'moat always applies a seccomp profile: give a profile file that allows what the container needs (--security-opt seccomp=FILE; ./unconfined for a file of that name)',
    });
  if (m && m[1]) return { seccompProfile: m[1] };
  throw new RuntimeError('RUNTIME_INVALID_OPTION', `unsupported --security-opt "${s}"`, {
    hint: 'moat takes seccomp=FILE (a profile), apparmor=NAME (a loaded profile), landlock=off|strict, landlock-bind=PORTS|declared, landlock-connect=PORTS and no-new-privileges (always on); it sets no SELinux labels',
  });
}

/**
 * The most ports one Landlock port option lists (the API schema's bound too). moat-init itself keeps
 * any list in a bitmap of the 65536 ports: this bound is the command line's length, not its.
 */
export const LANDLOCK_MAX_PORTS = 1024;

/**
 * `landlock-bind=` / `landlock-connect=`'s PORTS: TCP ports 0-65535, comma-separated (`none`: no
 * port at all), sorted, each once. Port 0 is only what it says: binding port 0 (an ephemeral port
 * the kernel picks) is refused unless 0 is listed, which is Landlock's rule.
 */
export function parseLandlockPorts(text: string, opt: string): number[] {
  const shown = text.slice(0, 60).replace(/[\x00-\x1f\x7f]/g, '?');
  const hint = `${opt}=PORT[,PORT]... with TCP ports 0-65535 (e.g. ${opt}=8080,8443), or ${opt}=none${opt === 'landlock-bind' ? '; landlock-bind=declared: the -p, --expose and image EXPOSE ports' : ''}`;
  const bad = (why: string): never => {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --security-opt ${opt}=${shown}: ${why}`, {
      hint,
    });
  };
  if (text === 'none') return [];
  if (text === '') bad('no ports given');
  const out = new Set<number>();
  for (const p of text.split(',')) {
    if (!/^\d{1,5}$/.test(p))
      bad(`"${p.slice(0, 20).replace(/[\x00-\x1f\x7f]/g, '?')}" is not a port number`);
    const n = Number(p);
    if (n > 65535) bad(`port ${n} is out of range (0-65535)`);
    out.add(n);
  }
  if (out.size > LANDLOCK_MAX_PORTS) bad(`more than ${LANDLOCK_MAX_PORTS} ports`);
  return [...out].sort((a, b) => a - b);
}

/**
 * `--cpus` against the host's CPUs (a host fact, passed in): docker's range, 0.01 to the number
 * of CPUs. Returns the problem, if any, for the spec's checks.
 */
export function cpusProblem(cpus: number | undefined, hostCpus: number | undefined): string | undefined {
  if (cpus === undefined || hostCpus === undefined || !(hostCpus > 0)) return undefined;
  if (cpus >= 0.01 && cpus <= hostCpus) return undefined;
  return `--cpus ${cpus}: the range of CPUs is from 0.01 to ${hostCpus.toFixed(2)}, as there are only ${hostCpus} CPUs available`;
}

/** `--ulimit nofile=1024:2048` or `--ulimit nproc=64`, checked as the API's ulimits are (option-checks.ts). */
export function parseUlimit(s: string): UlimitSpec {
  const m = /^([a-z_]+)=(\d+)(?::(\d+))?$/.exec(s);
  if (!m) {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid ulimit "${s}"`, {
      hint: `use NAME=SOFT[:HARD] with NAME one of ${ULIMIT_NAMES.join(', ')}`,
    });
  }
  const soft = Number(m[2]);
  const u = { name: m[1], soft, hard: m[3] === undefined ? soft : Number(m[3]) };
  const bad = ulimitProblem(u);
  if (bad) throw new RuntimeError('RUNTIME_INVALID_OPTION', bad.message, bad.hint ? { hint: bad.hint } : {});
  return u;
}

export function parseCpus(s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0 || n > 1024)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --cpus "${s}"`, {
      hint: 'a positive number such as 0.5 or 2',
    });
  return n;
}

/** A whole number, negative too (`--oom-score-adj -500` is then refused with its own reason). */
export function parseInteger(s: string, what: string): number {
  const n = Number(s);
  if (!/^-?\d+$/.test(s.trim()) || !Number.isSafeInteger(n))
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid ${what} "${s}"`, { hint: 'a whole number' });
  return n;
}

/** `--memory-swap`: a size (memory plus swap), or -1 for unlimited swap. */
export function parseMemorySwap(s: string): number {
  return s.trim() === '-1' ? -1 : parseBytes(s);
}

/** `--sysctl KEY=VALUE` (what may be set is checked with the other options: option-checks.ts). */
export function parseSysctl(s: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --sysctl "${s}"`, {
      hint: 'use --sysctl KEY=VALUE, e.g. --sysctl net.ipv4.ping_group_range="0 1000"',
    });
  return [s.slice(0, i).trim(), s.slice(i + 1)];
}

export function parsePositiveInt(s: string, what: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n <= 0)
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid ${what} "${s}"`, {
      hint: 'a positive whole number',
    });
  return n;
}

export const ALL_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
];

/** Normalise `net_raw` / `CAP_NET_RAW` to `CAP_NET_RAW`; refuse unknown names and ALL. */
export function normalizeCap(c: string): string {
  const up = c.toUpperCase().replace(/^CAP_/, '');
  if (up === 'ALL')
    throw new RuntimeError('RUNTIME_INVALID_OPTION', '--cap-add ALL is refused', {
      hint: 'name each capability the container needs',
    });
  if (!ALL_CAPS.includes(up))
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `unknown capability "${c}"`, {
      hint: `known: ${ALL_CAPS.join(', ')}`,
    });
  return `CAP_${up}`;
}
