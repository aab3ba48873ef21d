/**
 * The seccomp room: moat's default profile, custom profiles (`--security-opt seccomp=FILE`), and
 * the step that turns either into the OCI `linux.seccomp` object for one container.
 *
 *   parseSeccompProfile(text, file)  → SeccompProfile        (validation, I/O-free)
 *   defaultProfile()                 → SeccompProfile
 *   resolveSeccomp(profile, facts)   → LinuxSeccomp          (pure: caps + arch decide the rules)
 *   checkSyscallsKnown(spec)         → warnings, or throws   (runs scmp_sys_resolver if needed)
 *   compareSeccomp(spec, default)    → what the policy sees   (pure: is it looser than the default?)
 */
export { SeccompError, isSeccompError, type SeccompErrorCode } from './errors.js';
export {
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  type LinuxSeccomp,
  type LinuxSyscall,
  type SeccompAction,
  type SeccompArch,
  type SeccompArchMapEntry,
  type SeccompArg,
  type SeccompExcludes,
  type SeccompFlag,
  type SeccompIncludes,
  type SeccompOperator,
  type SeccompProfile,
  type SeccompRule,
} from './types.js';
export { defaultProfile } from './default-profile.js';
export { resolveSeccomp, type ResolveOptions } from './resolve.js';
export { parseSeccompProfile, type ParseOptions, type ProfileProblem } from './parse.js';
export { profileSchema } from './schema.js';
export { compareSeccomp, letsThrough, type SeccompComparison } from './summary.js';
export {
  checkSyscallsKnown,
  narrows,
  DEFAULT_RESOLVER,
  type CheckOptions,
  type CheckResult,
  type SeccompWarning,
} from './verify.js';
