import { execFile } from 'node:child_process';
import { errnoCode } from '../errors.js';
import { SeccompError } from './errors.js';
import type { LinuxSeccomp, SeccompAction } from './types.js';

/**
 * runc hands each syscall name to libseccomp and silently skips the names libseccomp does not
 * know. For a rule that allows something in a default-deny profile that only means the call stays
 * denied; for a rule that blocks something in a default-allow profile it means the call is
 * allowed after all. So names in narrowing rules are checked against the libseccomp on this host,
 * through its `scmp_sys_resolver` tool (Debian package `seccomp`), and unknown ones are refused.
 */

export const DEFAULT_RESOLVER = '/usr/bin/scmp_sys_resolver';

export interface CheckOptions {
  /** Path to `scmp_sys_resolver`. Default `/usr/bin/scmp_sys_resolver`. */
  resolver?: string;
  /** Native architecture runc will resolve names for. Default `process.arch`. */
  arch?: NodeJS.Architecture;
  /**
   * Also resolve names of rules that do not narrow the default, and report unknown ones as
   * warnings. Off by default: it costs one resolver process per name (a few hundred for a
   * typical allowlist) and such names cannot widen anything.
   */
  warnUnknownAllowed?: boolean;
}

export interface SeccompWarning {
  code: 'SECCOMP_UNKNOWN_ALLOWED_SYSCALL' | 'SECCOMP_UNVERIFIED_ALLOWED_SYSCALL';
  message: string;
  names: string[];
}

export interface CheckResult {
  /** Names resolved (both checked and, with `warnUnknownAllowed`, merely reported). */
  checked: string[];
  warnings: SeccompWarning[];
}

/**
 * How much an action lets through, least first. A rule narrows the profile when its action
 * ranks below the default action. TRACE and NOTIFY hand the decision to another process (and
 * TRACE without a tracer fails the call), so they rank below LOG/ALLOW and above the denials.
 */
const PERMISSIVENESS: Record<SeccompAction, number> = {
  SCMP_ACT_KILL_PROCESS: 0,
  SCMP_ACT_KILL: 1,
  SCMP_ACT_KILL_THREAD: 1,
  SCMP_ACT_TRAP: 2,
  SCMP_ACT_ERRNO: 3,
  SCMP_ACT_TRACE: 4,
  SCMP_ACT_NOTIFY: 4,
  SCMP_ACT_LOG: 5,
  SCMP_ACT_ALLOW: 5,
};

export function narrows(action: SeccompAction, defaultAction: SeccompAction): boolean {
  return PERMISSIVENESS[action] < PERMISSIVENESS[defaultAction];
}

/** `scmp_sys_resolver -a` spellings. */
const RESOLVER_ARCH: Partial<Record<NodeJS.Architecture, string>> = {
  x64: 'x86_64',
  arm64: 'aarch64',
  ia32: 'x86',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** Each name costs a process (the tool takes one name per run); a handful run at once. */
const CONCURRENCY = 8;
const TIMEOUT_MS = 10_000;

type Lookup = { known: boolean } | { failed: string };

/** Answers per resolver+arch+name: the syscall table of an installed libseccomp does not change. */
const cache = new Map<string, Promise<Lookup>>();

function lookup(resolver: string, arch: string, name: string): Promise<Lookup> {
  const key = `${resolver}\0${arch}\0${name}`;
  let answer = cache.get(key);
  if (!answer) {
    answer = new Promise<Lookup>((resolve) => {
      execFile(resolver, ['-a', arch, name], { timeout: TIMEOUT_MS }, (err, stdout) => {
        if (err) {
          const code = errnoCode(err);
          resolve({ failed: code === 'ENOENT' || code === 'EACCES' ? code : String(err.message) });
          return;
        }
        const n = Number(stdout.trim());
        // -1 is __NR_SCMP_ERROR: unknown. Other negative numbers are libseccomp's pseudo numbers
        // for calls that exist on some other ABI; runc accepts those, so they count as known.
        if (stdout.trim() === '' || !Number.isInteger(n))
          resolve({ failed: `unexpected output "${stdout.trim()}"` });
        else resolve({ known: n !== -1 });
      });
    });
    // A failure may be fixed (package installed) before the next call; do not remember it.
    void answer.then((a) => {
      if ('failed' in a) cache.delete(key);
    });
    cache.set(key, answer);
  }
  return answer;
}

async function lookupAll(resolver: string, arch: string, names: string[]): Promise<Map<string, Lookup>> {
  const out = new Map<string, Lookup>();
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++];
      out.set(name, await lookup(resolver, arch, name));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, names.length) }, worker));
  return out;
}

/**
 * Refuse a resolved seccomp spec whose narrowing rules name syscalls the host's libseccomp does
 * not know (`SECCOMP_UNKNOWN_SYSCALL`), or cannot be checked (`SECCOMP_CANNOT_VERIFY`). A spec
 * without narrowing rules, like moat's default profile, needs no resolver at all.
 */
export async function checkSyscallsKnown(spec: LinuxSeccomp, opts: CheckOptions = {}): Promise<CheckResult> {
  const resolver = opts.resolver ?? DEFAULT_RESOLVER;
  const nodeArch = opts.arch ?? process.arch;
  const narrowing = new Set<string>();
  const other = new Set<string>();
  for (const rule of spec.syscalls ?? []) {
    const into = narrows(rule.action, spec.defaultAction) ? narrowing : other;
    for (const name of rule.names) into.add(name);
  }
  for (const name of narrowing) other.delete(name);

  const toCheck = [...narrowing, ...(opts.warnUnknownAllowed ? other : [])];
  if (toCheck.length === 0) return { checked: [], warnings: [] };

  const arch = RESOLVER_ARCH[nodeArch];
  if (!arch) {
    if (narrowing.size === 0) return { checked: [], warnings: [] };
    throw new SeccompError(
      'SECCOMP_CANNOT_VERIFY',
      `cannot check syscall names for architecture ${nodeArch}`,
      {
        details: { arch: nodeArch, names: [...narrowing] },
      },
    );
  }

  const answers = await lookupAll(resolver, arch, toCheck);
  const unknown = (names: Iterable<string>) =>
    [...names].filter((n) => (answers.get(n) as { known?: boolean }).known === false);
  const failed = (names: Iterable<string>) =>
    [...names].filter((n) => 'failed' in (answers.get(n) as Lookup));

  const unverifiable = failed(narrowing);
  if (unverifiable.length > 0) {
    const reason = (answers.get(unverifiable[0]) as { failed: string }).failed;
    const missing = reason === 'ENOENT';
    throw new SeccompError(
      'SECCOMP_CANNOT_VERIFY',
      missing
        ? `${resolver} not found: cannot check that the blocked syscalls are known to libseccomp`
        : `${resolver} failed (${reason}): cannot check that the blocked syscalls are known to libseccomp`,
      {
        hint: missing
          ? 'install the "seccomp" package (apt-get install seccomp), or pass the path of scmp_sys_resolver'
          : 'check that scmp_sys_resolver runs for this architecture',
        details: { resolver, arch, names: unverifiable, reason },
      },
    );
  }
  const unknownNarrowing = unknown(narrowing);
  if (unknownNarrowing.length > 0) {
    throw new SeccompError(
      'SECCOMP_UNKNOWN_SYSCALL',
      `syscalls unknown to libseccomp in rules that block them: ${unknownNarrowing.join(', ')}; runc would skip them and leave them allowed`,
      {
        hint: 'fix the spelling, or upgrade libseccomp if the syscall is newer than it',
        details: { arch, names: unknownNarrowing },
      },
    );
  }

  const warnings: SeccompWarning[] = [];
  const unknownOther = unknown(other);
  if (opts.warnUnknownAllowed && unknownOther.length > 0) {
    warnings.push({
      code: 'SECCOMP_UNKNOWN_ALLOWED_SYSCALL',
      message: `syscalls unknown to libseccomp will stay at the default action: ${unknownOther.join(', ')}`,
      names: unknownOther,
    });
  }
  const unverifiedOther = failed(other);
  if (opts.warnUnknownAllowed && unverifiedOther.length > 0) {
    warnings.push({
      code: 'SECCOMP_UNVERIFIED_ALLOWED_SYSCALL',
      message: `${resolver} could not check: ${unverifiedOther.join(', ')}`,
      names: unverifiedOther,
    });
  }
  return { checked: toCheck, warnings };
}
