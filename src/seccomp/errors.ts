import { MoatError, type MoatErrorOptions } from '../errors.js';

/**
 * The closed set of codes this room reports. Scripts and tests match on these, never on messages.
 *
 * - `SECCOMP_INVALID_JSON`: a profile file is not JSON (details carry offset, line and column).
 * - `SECCOMP_INVALID_PROFILE`: JSON, but not a profile we accept (details list each JSON path).
 * - `SECCOMP_UNCONFINED_REFUSED`: "unconfined" was asked for without `allowUnconfined`.
 * - `SECCOMP_KERNEL_UNKNOWN`: a rule has `minKernel` but the host kernel version was not given.
 * - `SECCOMP_UNKNOWN_SYSCALL`: a rule that narrows the default names syscalls libseccomp does not
 *   know; runc would silently drop them, so the profile would allow what it means to block.
 * - `SECCOMP_CANNOT_VERIFY`: such names could not be checked (no `scmp_sys_resolver`, or it failed).
 */
export type SeccompErrorCode =
  | 'SECCOMP_INVALID_JSON'
  | 'SECCOMP_INVALID_PROFILE'
  | 'SECCOMP_UNCONFINED_REFUSED'
  | 'SECCOMP_KERNEL_UNKNOWN'
  | 'SECCOMP_UNKNOWN_SYSCALL'
  | 'SECCOMP_CANNOT_VERIFY';

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
