import type { LinuxSeccomp, SeccompAction, SeccompArg } from '../../../src/seccomp/index.js';

/**
 * What a resolved filter does with one call, the way libseccomp evaluates it: a rule matches when
 * every comparison holds (64-bit unsigned); no matching rule means the default action. Rules that
 * match with different actions are a bug in the profile (libseccomp's choice would be arbitrary
 * from the profile author's point of view), so that throws.
 */
export interface Outcome {
  action: SeccompAction;
  errno?: number;
}

const U64 = (1n << 64n) - 1n;

function holds(arg: SeccompArg, args: readonly (number | bigint)[]): boolean {
  const a = BigInt(args[arg.index] ?? 0) & U64;
  const v = BigInt(arg.value);
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      return a === v;
    case 'SCMP_CMP_NE':
      return a !== v;
    case 'SCMP_CMP_LT':
      return a < v;
    case 'SCMP_CMP_LE':
      return a <= v;
    case 'SCMP_CMP_GT':
      return a > v;
    case 'SCMP_CMP_GE':
      return a >= v;
    case 'SCMP_CMP_MASKED_EQ':
      return (a & v) === BigInt(arg.valueTwo ?? 0);
  }
}

export function simulate(spec: LinuxSeccomp, name: string, args: readonly (number | bigint)[] = []): Outcome {
  const hits = (spec.syscalls ?? []).filter(
    (r) => r.names.includes(name) && (r.args ?? []).every((c) => holds(c, args)),
  );
  const outcomes = hits.map((r) => ({ action: r.action, errno: r.errnoRet }));
  const distinct = new Set(outcomes.map((o) => `${o.action}/${o.errno ?? ''}`));
  if (distinct.size > 1) throw new Error(`${name}: rules disagree: ${[...distinct].join(', ')}`);
  if (outcomes.length > 0) return outcomes[0];
  return { action: spec.defaultAction, errno: spec.defaultErrnoRet };
}

export const allows = (
  spec: LinuxSeccomp,
  name: string,
  args: readonly (number | bigint)[] = [],
): boolean => {
  const { action } = simulate(spec, name, args);
  return action === 'SCMP_ACT_ALLOW' || action === 'SCMP_ACT_LOG';
};

/** Names that some ALLOW/LOG rule lets through for at least some arguments. */
export function reachable(spec: LinuxSeccomp): Set<string> {
  return new Set(
    (spec.syscalls ?? [])
      .filter((r) => r.action === 'SCMP_ACT_ALLOW' || r.action === 'SCMP_ACT_LOG')
      .flatMap((r) => r.names),
  );
}

/** Every capability Linux 6.x knows. */
// prettier-ignore
export const ALL_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The capabilities Docker and Podman grant by default. */
// prettier-ignore
export const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];
