/**
 * Seccomp profiles learned from a run (pure): the recording profile a learning run gets, and the
 * profile made from what it saw; merging, comparing and explaining profiles.
 *
 * The recording profile lets every call through (SCMP_ACT_ALLOW by default) and marks every call
 * of the host's table SCMP_ACT_NOTIFY, so the recorder (native/moat-seccomp-listen.c) hears each
 * one and answers CONTINUE. runc refuses NOTIFY as the default action and for `write` (it needs it
 * after the filter is loaded): `write` is let through unrecorded and always in a learned profile.
 *
 * A learned profile is moat's default profile cut down to the calls seen: for each call, the
 * default profile's rules for it are kept as they are (argument filters on clone, socket,
 * socketpair, personality; capability conditions), so it is never looser than the default for a
 * call both allow. A call the default profile does not allow at all is added, and reported (the
 * caller says so loudly); namespace calls (clone/clone3 with namespace flags, unshare, setns) stay
 * as the default has them unless `allowNamespaces`.
 */
import { defaultProfile } from '../default-profile.js';
import { ALLOWED, ALLOWED_BY_ARCH, ALLOWED_WITH_CAPABILITY } from '../syscalls.js';
import type { SeccompProfile, SeccompRule } from '../types.js';

/** Calls runc will not let a profile mark NOTIFY: let through, always in a learned profile. */
export const NOTIFY_REFUSED = ['write'] as const;

/**
 * Calls runc's init may make between loading the filter and the command's execve: it is a Go
 * program, and its runtime's background work (scheduling, signals for preemption, memory) comes
 * when it comes, so a recording run may not see it and the next run would fail at random ("cannot
 * start an already running container"). All are in moat's default profile; always allowed.
 */
export const RUNTIME_CALLS = [
  'futex',
  'nanosleep',
  'clock_nanosleep',
  'sched_yield',
  'rt_sigreturn',
  'rt_sigprocmask',
  'rt_sigaction',
  'sigaltstack',
  'tgkill',
  'tkill',
  'getpid',
  'gettid',
  'madvise',
  'mmap',
  'munmap',
  'mprotect',
  'epoll_pwait',
  'epoll_wait',
  'epoll_ctl',
  'clock_gettime',
  'gettimeofday',
  'exit',
  'exit_group',
  'write',
  'read',
  'close',
  'fcntl',
  'execve',
  'getppid',
] as const;

/** The namespace calls `allowNamespaces` lets through whatever their flags. */
export const NAMESPACE_CALLS = ['clone', 'clone3', 'unshare', 'setns'] as const;

export function recordingProfile(allNames: readonly string[], listenerPath: string): SeccompProfile {
  const refused = new Set<string>(NOTIFY_REFUSED);
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    archMap: defaultProfile().archMap,
    listenerPath,
    syscalls: [
      {
        names: [...new Set(allNames)].filter((n) => !refused.has(n)).sort(),
        action: 'SCMP_ACT_NOTIFY',
        comment: 'recording: every call is heard and let through (moat seccomp learn)',
      },
    ],
  };
}

export interface Learned {
  profile: SeccompProfile;
  /** Calls seen that moat's default profile does not allow (allowed here: say so loudly). */
  notInDefault: string[];
  /** Calls the default allows only with a capability (kept with that condition). */
  withCapability: { name: string; caps: string[] }[];
  /** Every call the profile names, sorted. */
  names: string[];
}

/** The profile that lets `seen` (and `write`, and what runc's init needs) through, nothing else. */
export function learnedProfile(seen: Iterable<string>, o: { allowNamespaces?: boolean } = {}): Learned {
  const def = defaultProfile();
  const defRules = def.syscalls ?? [];
  const names = [...new Set([...seen, ...NOTIFY_REFUSED, ...RUNTIME_CALLS])].sort();
  const rules: SeccompRule[] = [];
  const plain: string[] = [];
  const notInDefault: string[] = [];
  const withCapability: { name: string; caps: string[] }[] = [];
  const loosened = new Set<string>(o.allowNamespaces ? NAMESPACE_CALLS : []);
  for (const name of names) {
    if (loosened.has(name)) {
      plain.push(name);
      continue;
    }
    const own = defRules.filter((r) => r.names.includes(name));
    if (!own.some((r) => r.action === 'SCMP_ACT_ALLOW')) {
      plain.push(name);
      notInDefault.push(name);
      continue;
    }
    const unconditional = own.every(
      (r) => !r.args?.length && !r.includes && !r.excludes && r.action === 'SCMP_ACT_ALLOW',
    );
    if (unconditional) {
      plain.push(name);
      continue;
    }
    // Argument filters and conditions, as the default has them, for this call only.
    for (const r of own) rules.push({ ...r, names: [name] });
    const caps = own.flatMap((r) => (r.action === 'SCMP_ACT_ALLOW' && r.includes?.caps) || []);
    if (caps.length && own.every((r) => r.action !== 'SCMP_ACT_ALLOW' || r.includes?.caps))
      withCapability.push({ name, caps: [...new Set(caps)] });
  }
  return {
    profile: {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: def.defaultErrnoRet,
      archMap: def.archMap,
      syscalls: [
        ...(plain.length
          ? [{ names: plain, action: 'SCMP_ACT_ALLOW' as const, comment: 'seen in the learning run' }]
          : []),
        ...rules,
      ],
    },
    notInDefault,
    withCapability,
    names,
  };
}

/** The calls a profile lets through in some case (any ALLOW rule names them), sorted. */
export function allowedNames(p: SeccompProfile): string[] {
  const out = new Set<string>();
  for (const r of p.syscalls ?? []) {
    if (r.action !== 'SCMP_ACT_ALLOW') continue;
    for (const n of r.names ?? []) out.add(n);
  }
  return [...out].sort();
}

/** The calls only `a` allows and only `b` allows. */
export function diffProfiles(
  a: SeccompProfile,
  b: SeccompProfile,
): { onlyA: string[]; onlyB: string[]; both: number } {
  const A = new Set(allowedNames(a));
  const B = new Set(allowedNames(b));
  return {
    onlyA: [...A].filter((n) => !B.has(n)),
    onlyB: [...B].filter((n) => !A.has(n)),
    both: [...A].filter((n) => B.has(n)).length,
  };
}

export interface Explained {
  name: string;
  purpose: string;
  /**
   * `default`: moat's default allows it (as this profile does); `capability`: the default allows it
   * only with one of `caps`; `loosened`: this profile lets it through without the capability or the
   * argument filters the default requires; `not-in-default`: the default refuses it.
   */
  risk: 'default' | 'capability' | 'loosened' | 'not-in-default';
  caps?: string[];
}

/** What each call a profile allows is for, and whether moat's default profile would allow it. */
export function explainProfile(p: SeccompProfile): Explained[] {
  const groups = [
    ...ALLOWED.map((g) => ({ ...g, caps: undefined as readonly string[] | undefined })),
    ...ALLOWED_BY_ARCH.map((g) => ({ ...g, caps: undefined })),
    ...ALLOWED_WITH_CAPABILITY.map((g) => ({ ...g, caps: g.anyOf })),
  ];
  const defRules = defaultProfile().syscalls ?? [];
  const mine = p.syscalls ?? [];
  const plainHere = (name: string) =>
    mine.some(
      (r) => r.action === 'SCMP_ACT_ALLOW' && r.names?.includes(name) && !r.args?.length && !r.includes?.caps,
    );
  const plainInDefault = (name: string) =>
    defRules.some(
      (r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name) && !r.args?.length && !r.includes?.caps,
    );
  return allowedNames(p).map((name): Explained => {
    const e = explainOne(name);
    if ((e.risk === 'capability' || e.risk === 'default') && plainHere(name) && !plainInDefault(name))
      return { ...e, risk: 'loosened' };
    return e;
  });
  function explainOne(name: string): Explained {
    const g = groups.find((x) => x.names.includes(name));
    const rules = defRules.filter((r) => r.names.includes(name) && r.action === 'SCMP_ACT_ALLOW');
    if (g?.caps) return { name, purpose: g.purpose, risk: 'capability', caps: [...g.caps] };
    if (g) return { name, purpose: g.purpose, risk: 'default' };
    if (rules.length) {
      const comment = rules.find((r) => r.comment)?.comment ?? 'allowed with argument filters';
      const caps = rules.every((r) => r.includes?.caps) ? rules.flatMap((r) => r.includes!.caps!) : undefined;
      return caps
        ? { name, purpose: comment, risk: 'capability', caps: [...new Set(caps)] }
        : { name, purpose: `${comment} (argument filters)`, risk: 'default' };
    }
    return { name, purpose: "not in moat's default profile", risk: 'not-in-default' };
  }
}
