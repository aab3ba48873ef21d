import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * The closed set of codes this room reports. Scripts and tests match on these, never on messages.
 * Add new codes at the end of the list.
 */
export const SECCOMP_ERROR_CODES = [
  /** A profile file is not JSON (details carry offset, line and column). */
  'SECCOMP_INVALID_JSON',
  /** JSON, but not a profile we accept (details list each JSON path). */
  'SECCOMP_INVALID_PROFILE',
  /** "unconfined" was asked for without `allowUnconfined`. */
  'SECCOMP_UNCONFINED_REFUSED',
  /** A rule has `minKernel` but the host kernel version was not given. */
  'SECCOMP_KERNEL_UNKNOWN',
  /**
   * A rule that narrows the default names syscalls libseccomp does not know; runc would silently
   * drop them, so the profile would allow what it means to block.
   */
  'SECCOMP_UNKNOWN_SYSCALL',
  /** Such names could not be checked (no `scmp_sys_resolver`, or it failed). */
  'SECCOMP_CANNOT_VERIFY',
] as const;

export type SeccompErrorCode = (typeof SECCOMP_ERROR_CODES)[number];

/** Statuses and default hints of every seccomp code (see ErrorTable). */
export const SECCOMP_ERRORS: ErrorTable<SeccompErrorCode> = {
  SECCOMP_INVALID_JSON: {
    http: 400,
    exit: EXIT.usage,
    hint: 'fix the profile file at the line and column given',
  },
  SECCOMP_INVALID_PROFILE: {
    http: 400,
    exit: EXIT.usage,
    hint: 'give a Docker-format profile (defaultAction, syscalls: [{names, action}]); see docs/seccomp.md',
  },
  SECCOMP_UNCONFINED_REFUSED: {
    http: 400,
    exit: EXIT.usage,
    hint: 'moat always applies a seccomp profile: give a profile file that allows what the container needs (--security-opt seccomp=FILE)',
  },
  SECCOMP_KERNEL_UNKNOWN: {
    http: 500,
    exit: EXIT.moat,
    hint: 'rules with minKernel need the host kernel version; remove minKernel from the profile',
  },
  SECCOMP_UNKNOWN_SYSCALL: {
    http: 400,
    exit: EXIT.usage,
    hint: 'fix the spelling, or upgrade libseccomp if the syscall is newer than it',
  },
  SECCOMP_CANNOT_VERIFY: {
    http: 500,
    exit: EXIT.moat,
    hint: 'install scmp_sys_resolver (apt-get install seccomp) so moat can check syscall names',
  },
};

export class SeccompError extends MoatError {
  declare readonly code: SeccompErrorCode;

  constructor(code: SeccompErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'SeccompError';
  }
}

export function isSeccompError(e: unknown): e is SeccompError {
  return e instanceof SeccompError;
}
