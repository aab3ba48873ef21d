/**
 * Two shapes live here:
 *
 * - `SeccompProfile`: what users write and what `defaultProfile()` returns. It is the shape of
 *   Docker's seccomp JSON (`archMap`, per-rule `includes`/`excludes`), so existing profiles load.
 * - `LinuxSeccomp`: the flat OCI runtime-spec `linux.seccomp` object runc 1.1.5 reads. It has no
 *   conditions left in it; `resolveSeccomp()` turns the first into the second.
 *
 * The value lists below are the ones runc 1.1.5 understands; anything else is refused when a
 * profile is parsed, rather than at `runc create`.
 */

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_NOTIFY',
  'SCMP_ACT_LOG',
  'SCMP_ACT_ALLOW',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOperator = (typeof SECCOMP_OPERATORS)[number];

export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_RISCV64',
] as const;
export type SeccompArch = (typeof SECCOMP_ARCHES)[number];

/** `SECCOMP_FILTER_FLAG_TSYNC` is accepted and ignored by runc; the other two are applied. */
export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

/**
 * One comparison on a syscall argument. For `SCMP_CMP_MASKED_EQ`, `value` is the mask and
 * `valueTwo` the datum: the rule matches when `(arg & value) === valueTwo`.
 */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

/**
 * When a rule applies. `caps` are capability names as in the OCI spec (`CAP_NET_RAW`); `arches`
 * are host architectures, in Docker's (Go) spelling (`amd64`, `arm64`); `minKernel` is
 * `major.minor`.
 */
export interface SeccompIncludes {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

export interface SeccompExcludes {
  caps?: string[];
  arches?: string[];
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  /** All comparisons must hold (AND). At most one comparison per argument index. */
  args?: SeccompArg[];
  comment?: string;
  /** Every listed capability must be granted, and the host arch must be listed. */
  includes?: SeccompIncludes;
  /** The rule is dropped if any listed capability is granted, or the host arch is listed. */
  excludes?: SeccompExcludes;
}

export interface SeccompArchMapEntry {
  architecture: SeccompArch;
  subArchitectures?: SeccompArch[];
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** Used as is when there is no `archMap`. */
  architectures?: SeccompArch[];
  /** The entry whose `architecture` is the host's is used, with its sub-architectures. */
  archMap?: SeccompArchMapEntry[];
  flags?: SeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[];
}

/** OCI runtime-spec `linux.seccomp.syscalls[]`. */
export interface LinuxSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** OCI runtime-spec `linux.seccomp`. */
export interface LinuxSeccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures?: SeccompArch[];
  flags?: SeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}
