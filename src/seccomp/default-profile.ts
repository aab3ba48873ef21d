import { ALLOWED, ALLOWED_BY_ARCH, ALLOWED_WITH_CAPABILITY } from './syscalls.js';
import type { SeccompArg, SeccompProfile, SeccompRule } from './types.js';

/** errno values the default profile returns. */
export const EPERM = 1;
export const ENOSYS = 38;

/**
 * clone() flags that create namespaces. Together 0x7e020000, the mask Docker uses too.
 * CLONE_NEWTIME (0x80) is not here because clone() reads those bits as the exit signal; a time
 * namespace can only come from clone3() or unshare(), both of which need CAP_SYS_ADMIN below.
 */
export const CLONE_NAMESPACE_FLAGS =
  0x00020000 | // CLONE_NEWNS
  0x02000000 | // CLONE_NEWCGROUP
  0x04000000 | // CLONE_NEWUTS
  0x08000000 | // CLONE_NEWIPC
  0x10000000 | // CLONE_NEWUSER
  0x20000000 | // CLONE_NEWPID
  0x40000000; // CLONE_NEWNET

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
/** The low bits of socket()'s type argument; the rest are SOCK_NONBLOCK / SOCK_CLOEXEC. */
export const SOCK_TYPE_MASK = 0xf;

/** personality() values ordinary programs use: PER_LINUX, PER_LINUX32, UNAME26 and the query. */
export const SAFE_PERSONALITIES = [0x0, 0x0008, 0x20000, 0x20008, 0xffffffff] as const;

const eq = (index: number, value: number): SeccompArg => ({ index, value, op: 'SCMP_CMP_EQ' });
const maskedEq = (index: number, mask: number, value: number): SeccompArg => ({
  index,
  value: mask,
  valueTwo: value,
  op: 'SCMP_CMP_MASKED_EQ',
});

/**
 * clone: allowed unless it asks for a new namespace. The flags are argument 0 on x86_64, x86,
 * x32, aarch64 and arm (s390/s390x swap the first two arguments; moat does not ship for them).
 * clone3 passes its flags in memory, which seccomp cannot read, so without CAP_SYS_ADMIN it
 * fails with ENOSYS and libc falls back to clone.
 */
function cloneRules(): SeccompRule[] {
  return [
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [maskedEq(0, CLONE_NAMESPACE_FLAGS, 0)],
      comment: 'clone without namespace flags',
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    },
    {
      names: ['clone3'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: ENOSYS,
      comment: 'flags are in memory: make libc fall back to clone',
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    },
    {
      names: ['clone', 'clone3'],
      action: 'SCMP_ACT_ALLOW',
      comment: 'any clone, namespaces included',
      includes: { caps: ['CAP_SYS_ADMIN'] },
    },
  ];
}

/**
 * socket: seccomp allows one comparison per argument in a rule, so each allowed (family, type)
 * pair is its own rule and the rules are ORed. Every rule only matches exact values, so junk in
 * the upper half of a 64-bit register can only turn an allowed call into a refused one.
 * Families not listed (AF_ALG, AF_VSOCK, AF_KEY, AF_BLUETOOTH, AF_TIPC, ...) get EPERM.
 *
 * Known gap: for 32-bit x86 programs libseccomp also emits socketcall(SYS_SOCKET, ...) for these
 * rules, and socketcall's real arguments are in memory, out of seccomp's reach; the family filter
 * therefore holds for 64-bit (and x32) programs only. socketcall itself is never allowed outright.
 */
function socketRules(): SeccompRule[] {
  const ipTypes = [SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET];
  const ip: SeccompRule[] = [AF_INET, AF_INET6].flatMap((family) =>
    ipTypes.map((type): SeccompRule => ({
      names: ['socket'],
      action: 'SCMP_ACT_ALLOW',
      args: [eq(0, family), maskedEq(1, SOCK_TYPE_MASK, type)],
    })),
  );
  const rawFamilies = [AF_INET, AF_INET6, AF_PACKET].map((family): SeccompRule => ({
    names: ['socket'],
    action: 'SCMP_ACT_ALLOW',
    args: [eq(0, family)],
    comment: 'raw IP and packet sockets',
    includes: { caps: ['CAP_NET_RAW'] },
  }));
  return [
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [eq(0, AF_UNIX)], comment: 'AF_UNIX, any type' },
    ...ip,
    { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [eq(0, AF_NETLINK)], comment: 'AF_NETLINK' },
    ...rawFamilies,
    // Only AF_UNIX socket pairs: the other families that support them add nothing for containers.
    { names: ['socketpair'], action: 'SCMP_ACT_ALLOW', args: [eq(0, AF_UNIX)] },
  ];
}

function personalityRules(): SeccompRule[] {
  return SAFE_PERSONALITIES.map((value) => ({
    names: ['personality'],
    action: 'SCMP_ACT_ALLOW',
    args: [eq(0, value)],
  }));
}

/**
 * moat's default profile: refuse with EPERM unless allowed below. A fresh object every call, so
 * callers may modify what they get.
 */
export function defaultProfile(): SeccompProfile {
  const rules: SeccompRule[] = [
    ...ALLOWED.map((g): SeccompRule => ({
      names: [...g.names],
      action: 'SCMP_ACT_ALLOW',
      comment: g.purpose,
    })),
    ...ALLOWED_BY_ARCH.map((g): SeccompRule => ({
      names: [...g.names],
      action: 'SCMP_ACT_ALLOW',
      comment: g.purpose,
      includes: { arches: [...g.arches] },
    })),
    ...personalityRules(),
    ...cloneRules(),
    ...socketRules(),
    ...ALLOWED_WITH_CAPABILITY.flatMap((g) =>
      g.anyOf.map((cap): SeccompRule => ({
        names: [...g.names],
        action: 'SCMP_ACT_ALLOW',
        comment: g.purpose,
        includes: { caps: [cap], ...(g.arches ? { arches: [...g.arches] } : {}) },
      })),
    ),
  ];
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    archMap: [
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
      { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    ],
    syscalls: rules,
  };
}
