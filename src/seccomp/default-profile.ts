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
 * These rules hold only because the filter covers the 64-bit ABI alone (see ARCH_MAP): on 32-bit
 * x86 libseccomp also turns each of them into a socketcall(SYS_SOCKET, ...) rule that can only
 * compare the call number, since socketcall's real arguments are in memory — which would let
 * `int $0x80` open a socket of any family.
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
 * The ABIs the default filter covers: the host's 64-bit one and no other. A call through a 32-bit
 * compat ABI (`int $0x80` or a 32-bit program on x86_64, x32, AArch32 on arm64) meets libseccomp's
 * bad-architecture action and kills the calling thread with SIGSYS, whatever the call. Docker adds
 * the compat ABIs as sub-architectures; moat does not, because:
 * - on x86 libseccomp turns the socket() and socketpair() family rules into socketcall() rules
 *   that can only compare the call number (the real arguments are in memory), so `int $0x80`
 *   from any program opened sockets of every family (AF_VSOCK reaches the host); ipc(2)
 *   multiplexes the System V IPC calls the same way;
 * - the compat layers (compat ioctl, setsockopt and netfilter translation) are extra kernel code
 *   with a record of their own privilege escalations (CVE-2021-22555 needed the 32-bit ABI);
 * - container images are 64-bit programs; the few that need 32-bit binaries can say so with a
 *   custom profile whose archMap lists the sub-architectures (docs/seccomp.md), which the policy
 *   then sees as looser than the default (`loosened: ["architectures"]`).
 */
const ARCH_MAP = [{ architecture: 'SCMP_ARCH_X86_64' }, { architecture: 'SCMP_ARCH_AARCH64' }] as const;

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
    archMap: ARCH_MAP.map((e) => ({ ...e })),
    syscalls: rules,
  };
}
