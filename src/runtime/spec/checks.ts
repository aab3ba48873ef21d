/**
 * Validation of a spec about to be generated: an ordered list of named checks whose failures are
 * errors (all reported together, never only the first), and a separate list of named warnings
 * that let the spec through. Errors found while building a section (an unknown `--group-add`
 * group, a `--ulimit` above the host's hard limit, a bad `-e`) are reported by that section.
 */
import * as path from 'node:path';
import type { IdMaps } from '../../userns/idmap.js';
import type { OciSeccomp } from '../oci.js';
import { runOptionProblems } from '../option-checks.js';
import { cpusProblem, type RunOptions } from '../options.js';
import { userMountTargets } from './mounts.js';
import { landlockNetUnavailable, landlockUnavailable, netAsked } from './landlock.js';
import type { LandlockFacts, SpecHost } from './types.js';
import type { MappedCounts, UserIds } from './user.js';

/** What the checks look at: the inputs, and what generation resolved from them. */
export interface CheckContext {
  opts: RunOptions;
  host: SpecHost;
  idmaps: IdMaps;
  ids: MappedCounts;
  user: UserIds;
  args: string[];
  cwd: string;
  /** The seccomp filter about to apply (Landlock needs its system calls allowed). */
  seccomp?: OciSeccomp | null;
}

export interface SpecCheck {
  name: string;
  /** A message when the check fails. */
  check: (c: CheckContext) => string | undefined;
}

export const SPEC_CHECKS: readonly SpecCheck[] = [
  {
    name: 'command',
    check: ({ args }) =>
      args.length === 0 ? 'no command: the image has no Entrypoint or Cmd and none was given' : undefined,
  },
  {
    name: 'uid-mapped',
    check: ({ user, ids, idmaps }) =>
      user.uid >= ids.uids
        ? `user ${user.uid} is not mapped into the container (${idmaps.mode} mapping covers ${ids.uids} IDs)`
        : undefined,
  },
  {
    name: 'gid-mapped',
    check: ({ user, ids, idmaps }) =>
      user.gid >= ids.gids
        ? `group ${user.gid} is not mapped into the container (${idmaps.mode} mapping covers ${ids.gids} IDs)`
        : undefined,
  },
  {
    name: 'workdir',
    check: ({ cwd }) =>
      path.posix.isAbsolute(cwd) ? undefined : `working directory "${cwd}" must be absolute`,
  },
  {
    name: 'init',
    check: ({ opts, host }) =>
      opts.init && !host.initPath && !host.moatInit
        ? "--init needs moat's init (moat-init, built with gcc) or a static init binary (tini-static from the Debian package tini)"
        : undefined,
  },
  {
    name: 'landlock-strict',
    check: ({ opts, host, seccomp }) => {
      const why = opts.landlock === 'strict' ? landlockUnavailable(host, seccomp) : undefined;
      return why ? `--security-opt landlock=strict: ${why}` : undefined;
    },
  },
  {
    // Asked for by name, not only by strict's implied bind rule: that one a kernel below ABI 4
    // cannot apply is a warning (landlock-net-unavailable), as strict ran there before.
    name: 'landlock-net-strict',
    check: ({ opts, host, seccomp }) => {
      if (opts.landlock !== 'strict' || !netAsked(opts) || landlockUnavailable(host, seccomp))
        return undefined;
      const why = landlockNetUnavailable(opts, host, seccomp);
      return why
        ? `--security-opt landlock=strict with landlock-bind/landlock-connect: Landlock's TCP rules cannot be applied: ${why}`
        : undefined;
    },
  },
  { name: 'cpus', check: ({ opts, host }) => cpusProblem(opts.cpus, host.cpus) },
  {
    name: 'mount-targets',
    check: ({ opts }) => {
      const bad = userMountTargets(opts).find(
        (p) => path.posix.normalize(p) === '/' || p.split('/').includes('..'),
      );
      return bad
        ? `mount target "${bad}" is not allowed (it must be absolute, not "/", without "..")`
        : undefined;
    },
  },
  {
    name: 'proc-sys-targets',
    check: ({ opts }) => {
      const bad = userMountTargets(opts).find((p) => /^\/(proc|sys|dev)(\/|$)/.test(path.posix.normalize(p)));
      return bad ? `mounting over ${bad} would undo the masked /proc, /sys and /dev paths` : undefined;
    },
  },
];

/**
 * The failed checks' messages, in order, then the option checks of every way in (the engine ran
 * them already; the spec is pure and says so too).
 */
export function checkErrors(c: CheckContext): string[] {
  const errors: string[] = [];
  for (const { check } of SPEC_CHECKS) {
    const msg = check(c);
    if (msg) errors.push(msg);
  }
  errors.push(...runOptionProblems(c.opts).map((p) => p.message));
  return errors;
}

/** What the warnings look at. */
export interface WarningContext {
  opts: RunOptions;
  idmaps: IdMaps;
  seccomp: OciSeccomp | null;
  landlock: LandlockFacts;
  host: SpecHost;
}

export interface SpecWarning {
  name: string;
  /** A message when the spec is weaker than moat's defaults, but allowed. */
  warn: (c: WarningContext) => string | undefined;
}

export const SPEC_WARNINGS: readonly SpecWarning[] = [
  {
    name: 'single-id-mapping',
    warn: ({ idmaps }) =>
      idmaps.mode === 'single'
        ? 'single-ID mapping: only container root exists; image files owned by other IDs belong to root'
        : undefined,
  },
  {
    name: 'seccomp-disabled',
    warn: ({ seccomp }) => (seccomp === null ? 'seccomp is disabled for this container' : undefined),
  },
  {
    name: 'landlock-unavailable',
    warn: ({ landlock, host, seccomp }) =>
      landlock.mode === 'default' && !landlock.enabled
        ? `Landlock is not applied: ${landlockUnavailable(host, seccomp)} (--security-opt landlock=strict refuses to run without it)`
        : undefined,
  },
  {
    name: 'landlock-net-unavailable',
    warn: ({ opts, landlock, host, seccomp }) => {
      if (landlock.mode === 'off' || landlock.net.bind || landlock.net.connect) return undefined;
      if (!netAsked(opts) && landlock.mode !== 'strict') return undefined;
      const why = landlockNetUnavailable(opts, host, seccomp);
      if (!why) return undefined;
      return netAsked(opts)
        ? `Landlock's TCP rules (--security-opt landlock-bind/landlock-connect) are not applied: ${why}; TCP bind and connect are not restricted (landlock=strict refuses to run without them)`
        : `landlock=strict's TCP bind rule (the declared ports) is not applied: ${why}; TCP bind is not restricted`;
    },
  },
];

export function specWarnings(c: WarningContext): string[] {
  const warnings: string[] = [];
  for (const { warn } of SPEC_WARNINGS) {
    const msg = warn(c);
    if (msg) warnings.push(msg);
  }
  return warnings;
}
