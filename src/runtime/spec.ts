/**
 * OCI spec generation: a pure function of (run options, image config, ID maps, host facts). No
 * I/O here, so every hardening default is asserted by unit tests without starting a container.
 * Validation is an ordered list of named checks; warnings are kept apart from errors.
 */
import * as path from 'node:path';
import type { IdMaps } from '../userns/idmap.js';
import { mappedSize } from '../userns/idmap.js';
import { RuntimeError } from './errors.js';
import type { Rlimit } from './host.js';
import { LIMIT_DEFAULTS, tmpfsOptions } from './default-limits.js';
import type { OciMount, OciRlimit, OciSeccomp, OciSpec } from './oci.js';
import { RLIMIT_OF, runOptionProblems } from './option-checks.js';
import { cpusProblem, type RunOptions } from './options.js';

/**
 * Namespaced kernel parameters every container gets, as Docker sets them: in the container's own
 * network namespace (loopback only) any user may bind a port below 1024 (`httpd -p 80` as a
 * non-root user); the host's own setting is untouched.
 */
export const SYSCTLS: Readonly<Record<string, string>> = { 'net.ipv4.ip_unprivileged_port_start': '0' };

/** The `config` object of an OCI image config (the parts a run uses). */
export interface ImageRunConfig {
  User?: string;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
}

export interface SpecHost {
  arch: string;
  rlimits: Record<string, Rlimit>;
  /** Static init binary for --init (tini-static), if installed. */
  initPath?: string;
  /** CPUs available to containers (the bound of --cpus), if known. */
  cpus?: number;
}

export interface SpecPaths {
  rootfs: string;
  /** Files moat writes for the container and bind-mounts read-only. */
  hosts?: string;
  hostname?: string;
}

export interface SpecInput {
  id: string;
  opts: RunOptions;
  image: ImageRunConfig;
  idmaps: IdMaps;
  host: SpecHost;
  paths: SpecPaths;
  /** The resolved seccomp filter, or null for none (only with an explicit unconfined opt-in). */
  seccomp: OciSeccomp | null;
  /** The image's /etc/passwd and /etc/group text, to resolve user names and primary groups. */
  passwd?: string;
  group?: string;
  /** RLIMIT_NPROC moat sets when it is the process limit (no delegated pids cgroup), see default-limits.ts. */
  defaultNproc?: number;
}

export interface SpecResult {
  spec: OciSpec;
  warnings: string[];
}

export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
export const INIT_PATH = '/dev/init';
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface UserIds {
  uid: number;
  gid: number;
  home: string;
  additionalGids: number[];
}

function passwdLines(text: string | undefined): string[][] {
  return (text ?? '')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/** Resolve `uid`, `uid:gid`, `name`, `name:group` against the image's passwd/group files. */
export function resolveUser(spec: string | undefined, passwd?: string, group?: string): UserIds {
  const s = spec && spec.length ? spec : '0';
  const [u, g] = s.split(':', 2);
  const pw = passwdLines(passwd);
  const gr = passwdLines(group);
  let uid: number;
  let entry: string[] | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    entry = pw.find((e) => e[2] === u);
  } else {
    entry = pw.find((e) => e[0] === u);
    if (!entry)
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `user "${u}" not found in the image's /etc/passwd`, {
        hint: 'use a numeric UID[:GID]',
      });
    uid = Number(entry[2]);
  }
  let gid: number;
  if (g === undefined) gid = entry ? Number(entry[3]) : 0;
  else if (/^\d+$/.test(g)) gid = Number(g);
  else {
    const ge = gr.find((e) => e[0] === g);
    if (!ge)
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `group "${g}" not found in the image's /etc/group`, {
        hint: 'use a numeric GID',
      });
    gid = Number(ge[2]);
  }
  if (
    !Number.isSafeInteger(uid) ||
    !Number.isSafeInteger(gid) ||
    uid < 0 ||
    gid < 0 ||
    uid > 0xfffffffe ||
    gid > 0xfffffffe
  ) {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid user "${s}"`);
  }
  const name = entry?.[0];
  const additionalGids = name
    ? gr
        .filter((e) => (e[3] ?? '').split(',').includes(name))
        .map((e) => Number(e[2]))
        .filter((x) => x !== gid)
    : [];
  return { uid, gid, home: entry?.[5] || (uid === 0 ? '/root' : '/'), additionalGids };
}

/**
 * `--group-add`: GIDs, or names from the image's /etc/group (docker's), each mapped into the
 * container's ID range (a GID outside it is refused, not dropped).
 */
export function resolveGroupAdd(
  groups: string[] | undefined,
  group: string | undefined,
  gidMapped: (g: number) => boolean,
  errors: string[],
): number[] {
  const out: number[] = [];
  const gr = passwdLines(group);
  for (const g of groups ?? []) {
    let gid: number;
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const e = gr.find((x) => x[0] === g);
      if (!e || !/^\d+$/.test(e[2] ?? '')) {
        errors.push(`--group-add ${g}: no such group in the image's /etc/group`);
        continue;
      }
      gid = Number(e[2]);
    }
    if (!gidMapped(gid)) errors.push(`--group-add ${g}: group ${gid} is not mapped into the container`);
    else out.push(gid);
  }
  return out;
}

function mergeEnv(base: string[], over: string[]): string[] {
  const m = new Map<string, string>();
  for (const e of [...base, ...over]) {
    const i = e.indexOf('=');
    if (i <= 0)
      throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid environment entry "${e}"`, {
        hint: 'use -e KEY=VALUE',
      });
    m.set(e.slice(0, i), e.slice(i + 1));
  }
  return [...m].map(([k, v]) => `${k}=${v}`);
}

function commandLine(opts: RunOptions, image: ImageRunConfig): string[] {
  const ep =
    opts.entrypoint !== undefined ? opts.entrypoint.filter((x) => x !== '') : (image.Entrypoint ?? []);
  // Docker: overriding the entrypoint drops the image's Cmd.
  const cmd = opts.cmd && opts.cmd.length ? opts.cmd : opts.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  return [...ep, ...cmd];
}

function buildRlimits(
  opts: RunOptions,
  host: SpecHost,
  errors: string[],
  defaultNproc?: number,
): OciRlimit[] {
  const out = new Map<string, OciRlimit>();
  if (defaultNproc !== undefined)
    out.set('RLIMIT_NPROC', { type: 'RLIMIT_NPROC', soft: defaultNproc, hard: defaultNproc });
  // No core dumps by default: they would land inside the container's files with its secrets.
  const coreHard = host.rlimits.RLIMIT_CORE?.hard;
  out.set('RLIMIT_CORE', { type: 'RLIMIT_CORE', soft: 0, hard: typeof coreHard === 'number' ? coreHard : 0 });
  for (const u of opts.ulimits) {
    // Names are checked (runOptionProblems): only RLIMIT_OF's own keys reach here.
    if (!Object.hasOwn(RLIMIT_OF, u.name)) continue;
    const type = RLIMIT_OF[u.name];
    const hostHard = host.rlimits[type]?.hard;
    // An unprivileged process cannot raise a hard limit; say so instead of letting runc fail late.
    if (typeof hostHard === 'number' && u.hard > hostHard) {
      errors.push(
        `--ulimit ${u.name}=${u.soft}:${u.hard} exceeds the host's hard limit ${hostHard} for ${type}`,
      );
    }
    out.set(type, { type, soft: u.soft, hard: u.hard });
  }
  return [...out.values()];
}

function mounts(input: SpecInput, gidMapped: (g: number) => boolean): OciMount[] {
  const { opts, paths, host } = input;
  const userTargets = new Set(
    [...opts.volumes.map((v) => v.container), ...opts.tmpfs.map((t) => t.path)].map((p) =>
      path.posix.normalize(p),
    ),
  );
  const ms: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: [
        'nosuid',
        'noexec',
        'newinstance',
        'ptmxmode=0666',
        'mode=0620',
        ...(gidMapped(5) ? ['gid=5'] : []),
      ],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: [
        'nosuid',
        'noexec',
        'nodev',
        'mode=1777',
        `size=${Math.ceil((opts.shmSize ?? LIMIT_DEFAULTS.shmSize) / 1024)}k`,
      ],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
  if (!opts.readWrite) {
    // A read-only root still needs scratch space where programs expect it.
    for (const d of ['/tmp', '/run']) {
      if (!userTargets.has(d))
        ms.push({
          destination: d,
          type: 'tmpfs',
          source: 'tmpfs',
          options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'],
        });
    }
  }
  const ro = opts.readWrite ? [] : ['ro'];
  if (paths.hosts)
    ms.push({
      destination: '/etc/hosts',
      type: 'bind',
      source: paths.hosts,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', ...ro],
    });
  if (paths.hostname)
    ms.push({
      destination: '/etc/hostname',
      type: 'bind',
      source: paths.hostname,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec', ...ro],
    });
  for (const t of opts.tmpfs) {
    ms.push({
      destination: path.posix.normalize(t.path),
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', ...tmpfsOptions(t.options)],
    });
  }
  for (const v of opts.volumes) {
    ms.push({
      destination: path.posix.normalize(v.container),
      type: 'bind',
      source: v.host,
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', ...(v.readonly ? ['ro'] : [])],
    });
  }
  if (opts.init && host.initPath) {
    ms.push({
      destination: INIT_PATH,
      type: 'bind',
      source: host.initPath,
      options: ['bind', 'ro', 'nosuid', 'nodev'],
    });
  }
  return ms;
}

/** Generate the hardened OCI spec, or throw RUNTIME_INVALID_OPTION listing every failed check. */
export function generateSpec(input: SpecInput): SpecResult {
  const { opts, image, idmaps, host, paths, id } = input;
  const errors: string[] = [];
  const warnings: string[] = [];
  const size = mappedSize(idmaps.uidMap);
  const gsize = mappedSize(idmaps.gidMap);
  const gidMapped = (g: number) => g < gsize;

  const user = resolveUser(opts.user ?? image.User, input.passwd, input.group);
  const args = commandLine(opts, image);
  const hostname =
    opts.hostname ??
    (opts.name && /^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(opts.name) ? opts.name : id.slice(0, 12));
  let env: string[] = [];
  try {
    env = mergeEnv(
      [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`, `HOME=${user.home}`, ...(image.Env ?? [])],
      opts.env,
    );
  } catch (e) {
    errors.push((e as Error).message);
  }
  const cwd = opts.workdir ?? (image.WorkingDir || '/');

  const checks: [string, () => string | undefined][] = [
    [
      'command',
      () =>
        args.length === 0 ? 'no command: the image has no Entrypoint or Cmd and none was given' : undefined,
    ],
    [
      'uid-mapped',
      () =>
        user.uid >= size
          ? `user ${user.uid} is not mapped into the container (${idmaps.mode} mapping covers ${size} IDs)`
          : undefined,
    ],
    [
      'gid-mapped',
      () =>
        user.gid >= gsize
          ? `group ${user.gid} is not mapped into the container (${idmaps.mode} mapping covers ${gsize} IDs)`
          : undefined,
    ],
    [
      'workdir',
      () => (path.posix.isAbsolute(cwd) ? undefined : `working directory "${cwd}" must be absolute`),
    ],
    [
      'init',
      () =>
        opts.init && !host.initPath
          ? '--init needs a static init binary (tini-static from the Debian package tini)'
          : undefined,
    ],
    ['cpus', () => cpusProblem(opts.cpus, host.cpus)],
    [
      'mount-targets',
      () => {
        const bad = [...opts.volumes.map((v) => v.container), ...opts.tmpfs.map((t) => t.path)].find(
          (p) => path.posix.normalize(p) === '/' || p.split('/').includes('..'),
        );
        return bad
          ? `mount target "${bad}" is not allowed (it must be absolute, not "/", without "..")`
          : undefined;
      },
    ],
    [
      'proc-sys-targets',
      () => {
        const bad = [...opts.volumes.map((v) => v.container), ...opts.tmpfs.map((t) => t.path)].find((p) =>
          /^\/(proc|sys|dev)(\/|$)/.test(path.posix.normalize(p)),
        );
        return bad ? `mounting over ${bad} would undo the masked /proc, /sys and /dev paths` : undefined;
      },
    ],
  ];
  for (const [, check] of checks) {
    const msg = check();
    if (msg) errors.push(msg);
  }
  // The option checks of every way in (the engine ran them already; the spec is pure and says so too).
  errors.push(...runOptionProblems(opts).map((p) => p.message));
  const groupAdd = resolveGroupAdd(opts.groupAdd, input.group, gidMapped, errors);
  const rlimits = buildRlimits(opts, host, errors, input.defaultNproc);
  if (idmaps.mode === 'single')
    warnings.push(
      'single-ID mapping: only container root exists; image files owned by other IDs belong to root',
    );
  if (input.seccomp === null) warnings.push('seccomp is disabled for this container');
  if (errors.length) {
    throw new RuntimeError('RUNTIME_INVALID_OPTION', errors.join('; '), { details: { errors } });
  }
  const additionalGids = [...new Set([...user.additionalGids.filter(gidMapped), ...groupAdd])];
  const caps = [...new Set(opts.capAdd)].sort();
  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: user.uid, gid: user.gid, ...(additionalGids.length ? { additionalGids } : {}) },
      args: opts.init ? [INIT_PATH, '--', ...args] : args,
      env,
      cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits,
      noNewPrivileges: true,
      ...(opts.oomScoreAdj !== undefined ? { oomScoreAdj: opts.oomScoreAdj } : {}),
    },
    root: { path: paths.rootfs, readonly: !opts.readWrite },
    hostname,
    mounts: mounts(input, gidMapped),
    linux: {
      // The user namespace is created by moat's launcher around runc (see src/userns), so that
      // the overlay root can be mounted inside it; runc's own namespaces nest inside that one.
      namespaces: ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup'].map((type) => ({ type })),
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      // The user's namespaced sysctls (checked: option-checks.ts) over moat's own.
      sysctl: { ...SYSCTLS, ...(opts.sysctls ?? {}) },
      ...(input.seccomp ? { seccomp: input.seccomp } : {}),
    },
    annotations: { 'io.moat.id': id, 'io.moat.image': opts.image },
  };
  return { spec, warnings };
}
