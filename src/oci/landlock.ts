/**
 * moat's Landlock init for a caller's container (moat-runtime's create and run, and the service's
 * bundle route: both harden through harden(), which ends with applyLandlock). As in moat's own
 * containers (runtime/spec/landlock.ts), moat-init (native/moat-init.c) is bind-mounted read-only
 * at /dev/init and put before the command; it applies a Landlock ruleset and then runs the command
 * in its place (it is not kept as PID 1). Reading and executing are not restricted; the write-class
 * rights (write, truncate, create, remove, rename or link into) are kept to what the caller's spec
 * lets the container write by its mounts:
 * - the whole root when `root.readonly` is not true;
 * - else beneath each tmpfs and bind mount without `ro` (podman's /tmp, /run, /var/tmp of
 *   --read-only, its --tmpfs and -v), and /dev/shm and /dev/mqueue where mounted;
 * - in /dev and /proc only the writing of files that are there (/dev/null, the terminal,
 *   /proc/self/...): nothing can be created in /dev, although it is a tmpfs the container's root
 *   could otherwise write.
 * Landlock's rules add up: with a writable root, `/` grants everything beneath it, /dev included
 * (as in moat's own --read-write containers); the files-only rule for /dev and /proc holds with
 * a read-only root. podman --init mounts its init at /run/podman-init: moat-init runs it under
 * the ruleset. Where a caller mounts its own /dev/init, moat-init is mounted at /dev/moat-init
 * instead and runs the caller's command (its init) the same way.
 *
 * runc only checks that moat-init can be run; a createContainer hook (`moat-init --check-exec`,
 * run by runc in the container's mount namespace before pivot_root) looks the command up in the
 * container's root as runc would, so a missing command still fails the create with runc's message.
 *
 * The seccomp filter must let moat-init make its ruleset: where the spec's filter (after the rest
 * of the hardening) does not allow landlock_create_ruleset, landlock_add_rule and
 * landlock_restrict_self, allow rules for exactly those are added (they only restrict the caller).
 *
 * Applied in enforce mode where the kernel has Landlock (ABI ≥ 1) and moat-init was built; the
 * container runs without it otherwise (the reason is in the policy's facts, facts.oci.landlock).
 * What was applied is recorded in the annotation `io.moat.landlock`, which `moat-runtime exec`
 * reads back from the hardened spec to run an exec'd process under the same ruleset (exec.ts).
 * Pure, but for hostLandlock (the host's ABI and moat-init's path, passed in to the rest).
 */
import * as path from 'node:path';
import { landlockAbi, moatInitPath } from '../runtime/landlock.js';
import { INIT_PATH } from '../runtime/spec/mounts.js';
import { resolvePaths } from '../util/paths.js';
import {
  LANDLOCK_ANNOTATION,
  LANDLOCK_SYSCALLS,
  WRITE_FILES_ONLY,
  checkExecHook,
  landlockOfSpec,
  seccompAllowsLandlock,
} from '../runtime/spec/landlock.js';
import type { OciSeccomp } from '../runtime/oci.js';
import type { Change } from './harden.js';
import type { CallerSpec } from './spec.js';

/** Where moat-init goes when the caller mounts its own /dev/init (podman --init). */
export const ALT_INIT_PATH = '/dev/moat-init';

/** The host as Landlock needs it: the kernel's ABI (0: none) and moat-init's path (if built). */
export interface LandlockHost {
  abi: number;
  moatInit?: string;
}

export interface OciLandlock {
  enabled: boolean;
  abi: number;
  /** Where moat-init is mounted in the container (null: not used). */
  init: string | null;
  writable: string[];
  writable_files: string[];
  /** Why it is not applied, if it is not (null: it is, or in audit mode would be). */
  why_not: string | null;
}

type Mount = NonNullable<CallerSpec['mounts']>[number];

/** A container path normalized, without a trailing slash. */
const norm = (p: string): string => path.posix.normalize(`/${p}`).replace(/(.)\/+$/, '$1');

const isBind = (m: Mount) =>
  m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
const readonly = (m: Mount) => (m.options ?? []).includes('ro');

/** The container paths writable beneath, from the caller's root and mounts; sorted, each once. */
export function ociWritablePaths(spec: CallerSpec): string[] {
  if (spec.root?.readonly !== true) return ['/'];
  const out = new Set<string>();
  for (const m of spec.mounts ?? []) {
    if (typeof m?.destination !== 'string' || readonly(m)) continue;
    const d = norm(m.destination);
    // /dev and /proc: only the files there (podman's /dev is a tmpfs).
    if (WRITE_FILES_ONLY.includes(d)) continue;
    if (m.type === 'tmpfs' || isBind(m) || d === '/dev/shm' || d === '/dev/mqueue') out.add(d);
  }
  return [...out].sort();
}

/** Where moat-init can be mounted, or undefined when both places are the caller's. */
export function initPathFor(spec: CallerSpec): string | undefined {
  const taken = new Set((spec.mounts ?? []).map((m) => norm(String(m?.destination ?? ''))));
  return [INIT_PATH, ALT_INIT_PATH].find((p) => !taken.has(p));
}

/** Why Landlock cannot be applied to this spec on this host, if it cannot. */
export function landlockUnavailable(spec: CallerSpec, host: LandlockHost | undefined): string | undefined {
  if (!host) return "the host's Landlock was not looked up";
  if (!host.moatInit) return "moat's init (moat-init) was not built (it needs gcc at install)";
  if (!(host.abi >= 1)) return 'this kernel does not offer Landlock';
  const args = spec.process?.args;
  if (!Array.isArray(args) || args.length === 0 || typeof args[0] !== 'string')
    return 'the spec has no process.args';
  if (!initPathFor(spec)) return `the spec mounts its own ${INIT_PATH} and ${ALT_INIT_PATH}`;
  return undefined;
}

/** moat-init's options before `--` for a ruleset. */
export function landlockInitArgs(f: Pick<OciLandlock, 'writable' | 'writable_files'>): string[] {
  return [
    ...f.writable.flatMap((p) => ['--landlock-write', p]),
    ...f.writable_files.flatMap((p) => ['--landlock-write-files', p]),
  ];
}

/** The seccomp filter with the Landlock calls allowed (a copy), or undefined if it allows them. */
export function allowLandlockSyscalls(seccomp: unknown): Record<string, unknown> | undefined {
  if (seccomp === undefined || seccomp === null) return undefined;
  const sc = seccomp as OciSeccomp;
  const rules = Array.isArray(sc.syscalls) ? sc.syscalls : [];
  const valid = rules.every((r) => Array.isArray(r?.names));
  if (valid && seccompAllowsLandlock({ ...sc, syscalls: rules })) return undefined;
  const wanted = new Set(LANDLOCK_SYSCALLS);
  // The three calls' own rules are taken out (a second rule for a call could conflict in
  // libseccomp), then one rule allows them.
  const kept = rules
    .map((r) => (Array.isArray(r?.names) ? { ...r, names: r.names.filter((n) => !wanted.has(n)) } : r))
    .filter((r) => !Array.isArray(r?.names) || r.names.length > 0);
  return {
    ...(seccomp as Record<string, unknown>),
    syscalls: [...kept, { names: [...LANDLOCK_SYSCALLS], action: 'SCMP_ACT_ALLOW' }],
  };
}

/**
 * Landlock worked out for `spec` (the hardened copy, changed in place: harden returns it only in
 * enforce mode), each change recorded. `rootfs`: the container's root as the host sees it (the
 * check-exec hook's). Returns the facts for the policy.
 */
export function applyLandlock(
  spec: CallerSpec,
  host: LandlockHost | undefined,
  bundle: string,
  changes: Change[],
): OciLandlock {
  // A caller's own io.moat.landlock says nothing: the annotation is moat's.
  if (spec.annotations?.[LANDLOCK_ANNOTATION] !== undefined) {
    delete spec.annotations[LANDLOCK_ANNOTATION];
    changes.push({
      field: `annotations.${LANDLOCK_ANNOTATION}`,
      change: "removed (the caller's; it is moat's)",
    });
  }
  const whyNot = landlockUnavailable(spec, host);
  if (whyNot || !host?.moatInit)
    return {
      enabled: false,
      abi: host?.abi ?? 0,
      init: null,
      writable: [],
      writable_files: [],
      why_not: whyNot ?? null,
    };
  const init = initPathFor(spec)!;
  const f: OciLandlock = {
    enabled: true,
    abi: host.abi,
    init,
    writable: ociWritablePaths(spec),
    writable_files: [...WRITE_FILES_ONLY],
    why_not: null,
  };
  const linux = (spec.linux ??= {});
  const seccomp = allowLandlockSyscalls(linux.seccomp);
  if (seccomp) {
    linux.seccomp = seccomp;
    changes.push({
      field: 'linux.seccomp',
      change: `allowed ${LANDLOCK_SYSCALLS.join(', ')} (moat-init makes the Landlock ruleset; they only restrict the caller)`,
    });
  }
  (spec.mounts ??= []).push({
    destination: init,
    type: 'bind',
    source: host.moatInit,
    options: ['bind', 'ro', 'nosuid', 'nodev'],
  });
  changes.push({ field: 'mounts', change: `added moat-init at ${init} (read-only bind)` });
  const proc = spec.process!;
  const args = proc.args!;
  const env = Array.isArray(proc.env)
    ? (proc.env as unknown[]).filter((e): e is string => typeof e === 'string')
    : [];
  const cwd = typeof proc.cwd === 'string' ? proc.cwd : '/';
  proc.args = [init, ...landlockInitArgs(f), '--', ...args];
  changes.push({
    field: 'process.args',
    change: `run under Landlock by ${init}: writable ${f.writable.join(', ') || '(nothing)'}; files only in ${f.writable_files.join(', ')}`,
  });
  const hooks = (
    typeof spec.hooks === 'object' && spec.hooks !== null && !Array.isArray(spec.hooks) ? spec.hooks : {}
  ) as Record<string, unknown>;
  const rootfs = path.resolve(bundle, spec.root.path);
  hooks.createContainer = [
    ...(Array.isArray(hooks.createContainer) ? hooks.createContainer : []),
    checkExecHook(host.moatInit, rootfs, cwd, env, args[0]),
  ];
  spec.hooks = hooks;
  changes.push({
    field: 'hooks.createContainer',
    change: "added moat-init --check-exec (a missing command fails as runc's would)",
  });
  (spec.annotations ??= {})[LANDLOCK_ANNOTATION] = JSON.stringify({
    enabled: true,
    abi: f.abi,
    mode: 'default',
    writable: f.writable,
    writable_files: f.writable_files,
    init,
  });
  changes.push({ field: `annotations.${LANDLOCK_ANNOTATION}`, change: 'set to the ruleset applied' });
  return f;
}

/**
 * The exec'd command's prefix under the container's ruleset, from its hardened spec's
 * annotations ([] without Landlock). Without --error-fd: podman's exec (conmon) gives runc no
 * descriptor for it, so a command that cannot run is said by moat-init on stderr, status 127/126.
 */
export function execPrefixOf(annotations: Record<string, string> | undefined): string[] {
  const f = landlockOfSpec(annotations);
  if (!f.enabled) return [];
  let init = INIT_PATH;
  try {
    const j = JSON.parse(annotations![LANDLOCK_ANNOTATION]) as { init?: unknown };
    if (j.init === ALT_INIT_PATH) init = ALT_INIT_PATH;
  } catch {
    /* landlockOfSpec parsed it */
  }
  return [init, ...landlockInitArgs(f), '--'];
}

let cached: LandlockHost | undefined;

/** This host's Landlock (moat-init's path and the kernel's ABI), asked once per process. */
export function hostLandlock(env: NodeJS.ProcessEnv = process.env): LandlockHost {
  if (cached) return cached;
  const moatInit = moatInitPath();
  // The ABI is kept in moat's runtime directory, once per boot (runtime/landlock.ts).
  if (!moatInit) return (cached = { abi: 0 });
  let runtime: string | undefined;
  try {
    runtime = resolvePaths(env).runtime;
  } catch {
    /* no home: asked without keeping the answer */
  }
  // Without a runtime directory the answer is kept in a directory that is not there (not kept).
  cached = { abi: landlockAbi(runtime ?? '/nonexistent/moat', moatInit), moatInit };
  return cached;
}
