/**
 * Landlock: the write set of a container and how its first process applies it. moat-init
 * (native/moat-init.c), mounted at /dev/init, applies a Landlock ruleset and then runs the command
 * (it stays PID 1 only with --init). Reading and executing are not restricted; the write-class
 * rights (write, truncate, create, remove, rename or link into) are kept to what the container may
 * write by its mounts: its tmpfs mounts, its rw volumes and binds, the whole root with
 * --read-write, and in /dev and /proc only the writing of files that are there (devices such as
 * /dev/null and the terminal; /proc/self/...): nothing can be created in /dev.
 *
 * Landlock rules name inodes, not path strings: a directory reached any other way than through
 * the container's own mounts (a descriptor leaked in from the host, another process's root) is
 * outside every rule and cannot be written, whatever its mount allows. Every process of the
 * container inherits the ruleset (processes started by `moat exec` do not: runc starts them).
 *
 * Modes (`--security-opt landlock=off|strict`): by default it is applied where the kernel has it
 * (ABI ≥ 1) and moat-init was built, else the container runs without it with a warning; `strict`
 * refuses to create the container then (and moat-init refuses to start it on a kernel without
 * Landlock); `off` applies none. Pure: the host's ABI and moat-init's path are passed in.
 *
 * TCP (ABI ≥ 4; `--security-opt landlock-bind=PORTS|declared|none`, `landlock-connect=PORTS|none`):
 * binding (resp. connecting) a TCP socket is allowed only to the ports listed; `declared` is the
 * container's tcp ports of -p, --expose and the image's EXPOSE. By default there is no TCP rule;
 * `strict` means landlock-bind=declared unless landlock-bind is given. On a kernel below ABI 4 the
 * rules are not applied (a warning), and a strict container that asked for them is refused. UDP and
 * other protocols are not covered by Landlock.
 */
import * as path from 'node:path';
import type { OciHook, OciSeccomp } from '../oci.js';
import type { RunOptions } from '../options.js';
import { INIT_PATH, READ_ONLY_ROOT_TMPFS, userMountTargets } from './mounts.js';
import type { ImageRunConfig, LandlockFacts, LandlockMode, LandlockNet, SpecHost } from './types.js';

export const LANDLOCK_ANNOTATION = 'io.moat.landlock';
/** Tmpfs mounts every container gets (mounts.ts): writable beneath. */
const ALWAYS_WRITABLE = ['/dev/shm', '/dev/mqueue'];
/** Files there may be written (devices, /proc/self/...), nothing created: mounts.ts, security.ts. */
export const WRITE_FILES_ONLY = ['/dev', '/proc'];

export function landlockMode(opts: RunOptions): LandlockMode {
  return opts.landlock ?? 'default';
}

/** A container path as moat-init is given it: normalized, without a trailing slash. */
const norm = (p: string): string => path.posix.normalize(p).replace(/(.)\/+$/, '$1');

/** The container paths writable beneath, sorted, each once. */
export function writablePaths(opts: RunOptions): string[] {
  if (opts.readWrite) return ['/'];
  const user = new Set(userMountTargets(opts).map(norm));
  const out = new Set<string>(ALWAYS_WRITABLE);
  for (const d of READ_ONLY_ROOT_TMPFS) if (!user.has(d)) out.add(d);
  for (const t of opts.tmpfs) if (!t.options.includes('ro')) out.add(norm(t.path));
  for (const v of opts.volumes) if (!v.readonly) out.add(norm(v.container));
  return [...out].sort();
}

export const LANDLOCK_SYSCALLS = ['landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self'];

/**
 * Whether the seccomp filter lets moat-init make its ruleset (moat's default profile does; a
 * custom one may not, and then moat-init would find no Landlock and run without it).
 */
export function seccompAllowsLandlock(seccomp: OciSeccomp | null | undefined): boolean {
  if (!seccomp) return true;
  // NOTIFY: a learning run's recorder lets every call through (seccomp/learn), moat-init's too, so
  // the profile it learns has them.
  const allows = (a: string) => a === 'SCMP_ACT_ALLOW' || a === 'SCMP_ACT_LOG' || a === 'SCMP_ACT_NOTIFY';
  const ruled = new Map<string, boolean>();
  for (const r of seccomp.syscalls ?? [])
    for (const n of r.names) if (!ruled.has(n)) ruled.set(n, allows(r.action) && !r.args?.length);
  return LANDLOCK_SYSCALLS.every((n) => ruled.get(n) ?? allows(seccomp.defaultAction));
}

/** Why Landlock cannot be applied to this container, if it cannot. */
export function landlockUnavailable(host: SpecHost, seccomp?: OciSeccomp | null): string | undefined {
  if (!host.moatInit) return "moat's init (moat-init) was not built (it needs gcc at install)";
  if (!host.landlockAbi) return 'this kernel does not offer Landlock';
  if (!seccompAllowsLandlock(seccomp))
    return `the seccomp profile does not allow ${LANDLOCK_SYSCALLS.join(', ')}`;
  return undefined;
}

/** The Landlock ABI that brought TCP rules (LANDLOCK_ACCESS_NET_BIND_TCP, _CONNECT_TCP). */
export const LANDLOCK_NET_ABI = 4;
const unrestricted = (): LandlockNet => ({ bind: null, connect: null });

const sortedOnce = (ports: Iterable<number>): number[] => [...new Set(ports)].sort((a, b) => a - b);

/**
 * The container's declared TCP ports: those of -p (and -P's, added to the ports by then), of
 * --expose, and the image's EXPOSEd ones (`80`, `80/tcp`; udp, ranges and junk are not TCP ports).
 */
export function declaredPorts(opts: RunOptions, image: Pick<ImageRunConfig, 'ExposedPorts'>): number[] {
  const out: number[] = [];
  for (const p of opts.ports ?? []) if (p.protocol === 'tcp') out.push(p.containerPort);
  for (const k of [...(opts.expose ?? []), ...Object.keys(image.ExposedPorts ?? {})]) {
    const m = /^(\d{1,5})(?:\/tcp)?$/.exec(k);
    if (m && Number(m[1]) >= 1 && Number(m[1]) <= 65535) out.push(Number(m[1]));
  }
  return sortedOnce(out);
}

/** Whether the run asked for TCP rules itself (not only by landlock=strict's implied bind rule). */
export function netAsked(opts: RunOptions): boolean {
  return opts.landlockBind !== undefined || opts.landlockConnect !== undefined;
}

/** The TCP rules the run asks for, whatever the kernel offers. */
export function requestedNet(opts: RunOptions, image: Pick<ImageRunConfig, 'ExposedPorts'>): LandlockNet {
  const bind = opts.landlockBind ?? (landlockMode(opts) === 'strict' ? 'declared' : undefined);
  return {
    bind: bind === undefined ? null : bind === 'declared' ? declaredPorts(opts, image) : sortedOnce(bind),
    connect: opts.landlockConnect === undefined ? null : sortedOnce(opts.landlockConnect),
  };
}

/** Why the TCP rules the run asks for are not applied, if they are not (and it asks for some). */
export function landlockNetUnavailable(
  opts: RunOptions,
  host: SpecHost,
  seccomp?: OciSeccomp | null,
): string | undefined {
  if (landlockMode(opts) === 'off') return undefined;
  const why = landlockUnavailable(host, seccomp);
  if (why) return why;
  const abi = host.landlockAbi ?? 0;
  return abi < LANDLOCK_NET_ABI
    ? `this kernel's Landlock ABI is ${abi}; TCP rules need ABI ${LANDLOCK_NET_ABI} (Linux 6.7)`
    : undefined;
}

export function landlockFacts(
  opts: RunOptions,
  host: SpecHost,
  seccomp?: OciSeccomp | null,
  image: Pick<ImageRunConfig, 'ExposedPorts'> = {},
): LandlockFacts {
  const mode = landlockMode(opts);
  const enabled = mode !== 'off' && !landlockUnavailable(host, seccomp);
  const net =
    enabled && !landlockNetUnavailable(opts, host, seccomp) ? requestedNet(opts, image) : unrestricted();
  return {
    enabled,
    abi: host.landlockAbi ?? 0,
    mode,
    writable: enabled ? writablePaths(opts) : [],
    writable_files: enabled ? WRITE_FILES_ONLY : [],
    net,
  };
}

/** moat-init's list of ports: `none`, or the ports comma-separated. */
const portList = (ports: number[]): string => (ports.length ? ports.join(',') : 'none');

/** moat-init's options before `--` (none: moat-init is not used). */
export function initArgs(f: LandlockFacts, reap: boolean): string[] {
  if (!f.enabled && !reap) return [];
  return [
    ...(f.enabled
      ? [
          ...f.writable.flatMap((p) => ['--landlock-write', p]),
          ...f.writable_files.flatMap((p) => ['--landlock-write-files', p]),
          ...(f.net.bind ? ['--landlock-bind', portList(f.net.bind)] : []),
          ...(f.net.connect ? ['--landlock-connect', portList(f.net.connect)] : []),
          ...(f.mode === 'strict' ? ['--landlock-strict'] : []),
        ]
      : ['--landlock-off']),
    ...(reap ? ['--reap'] : []),
  ];
}

/**
 * `moat exec`'s command under the container's ruleset: moat-init (at /dev/init, mounted when the
 * container applies Landlock) before it, telling why the command cannot run on fd 3 (runc exec
 * --preserve-fds 1); [] when the container has no Landlock.
 */
export function execPrefix(f: LandlockFacts): string[] {
  if (!f.enabled) return [];
  return [INIT_PATH, ...initArgs(f, false), '--error-fd', '3', '--'];
}

/**
 * runc only checks that its first argument (moat-init) can be run; this createContainer hook
 * (run by runc in the container's mount namespace, before pivot_root) looks the command up in the
 * container's root as runc would, so a command that is not there still fails the start with
 * runc's message and docker's status (moat-init's header says how).
 */
export function checkExecHook(
  moatInit: string,
  rootfs: string,
  cwd: string,
  env: string[],
  cmd: string,
): OciHook {
  const pathEnv = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
  return { path: moatInit, args: ['moat-init', '--check-exec', rootfs, cwd, pathEnv, cmd] };
}

/**
 * Landlock as the spec applies it (`enabled`, `abi`, `mode`, `writable`, `net`: spec/landlock.ts),
 * from its annotation; a spec made before moat applied Landlock has none: not enabled (and one made
 * before TCP rules has no `net`: not restricted).
 */
export function landlockOfSpec(
  annotations: Record<string, string> | undefined,
  mode?: 'off' | 'strict',
): LandlockFacts {
  const none: LandlockFacts = {
    enabled: false,
    abi: 0,
    mode: mode ?? 'default',
    writable: [],
    writable_files: [],
    net: unrestricted(),
  };
  const text = annotations?.[LANDLOCK_ANNOTATION];
  if (!text) return none;
  try {
    const f = JSON.parse(text) as Partial<LandlockFacts>;
    const strings = (a: unknown): string[] =>
      Array.isArray(a) ? a.filter((x) => typeof x === 'string') : [];
    // A list that is not all ports says nothing reliable: taken as not restricted.
    const ports = (a: unknown): number[] | null =>
      Array.isArray(a) && a.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 65535)
        ? (a as number[])
        : null;
    const net = (f.net ?? {}) as Partial<Record<keyof LandlockNet, unknown>>;
    return {
      enabled: f.enabled === true,
      abi: typeof f.abi === 'number' ? f.abi : 0,
      mode: f.mode === 'off' || f.mode === 'strict' ? f.mode : 'default',
      writable: strings(f.writable),
      writable_files: strings(f.writable_files),
      net: { bind: ports(net.bind), connect: ports(net.connect) },
    };
  } catch {
    return none;
  }
}
