/**
 * Every room's error table in one place: the CLI and the API answer each code with the statuses
 * and the default hint found here, so no error reaches a user without a hint.
 */
import { API_ERRORS } from './api/errors.js';
import { APPARMOR_ERRORS } from './lsm/apparmor/errors.js';
import { CLI_ERRORS } from './cli/errors.js';
import { isMoatError, type ErrorInfo } from './errors.js';
import { IMAGE_ERRORS } from './image/errors.js';
import { OCI_ERRORS } from './oci/errors.js';
import { REGISTRY_ERRORS } from './image/registry/errors.js';
import { POLICY_ERRORS } from './policy/errors.js';
import { RUNTIME_ERRORS } from './runtime/errors.js';
import { SCAN_ERRORS } from './scan/errors.js';
import { VULN_ERRORS } from './scan/vuln/errors.js';
import { SECCOMP_ERRORS } from './seccomp/errors.js';
import { TRUST_ERRORS } from './trust/errors.js';
import { USERNS_ERRORS } from './userns/errors.js';

export const ERROR_TABLES: Readonly<Record<string, Readonly<Record<string, ErrorInfo>>>> = {
  api: API_ERRORS,
  apparmor: APPARMOR_ERRORS,
  cli: CLI_ERRORS,
  image: IMAGE_ERRORS,
  oci: OCI_ERRORS,
  registry: REGISTRY_ERRORS,
  policy: POLICY_ERRORS,
  runtime: RUNTIME_ERRORS,
  scan: SCAN_ERRORS,
  seccomp: SECCOMP_ERRORS,
  trust: TRUST_ERRORS,
  userns: USERNS_ERRORS,
  vuln: VULN_ERRORS,
};

const ALL: ReadonlyMap<string, ErrorInfo> = new Map(
  Object.values(ERROR_TABLES).flatMap((t) => Object.entries(t)),
);

/** The row of a code; a code no table knows is treated as an internal error (a test forbids them). */
export function errorInfo(code: string | undefined): ErrorInfo {
  return (code !== undefined ? ALL.get(code) : undefined) ?? CLI_ERRORS.INTERNAL;
}

export function isKnownCode(code: string): boolean {
  return ALL.has(code);
}

export interface DescribedError {
  code: string;
  message: string;
  hint: string;
  http: number;
  exit: number;
  details?: Record<string, unknown>;
}

/**
 * What a user is told about any thrown value: a MoatError's code and message with its own hint or
 * its code's default; anything else is INTERNAL. `details.exitCode` (a container's status) wins.
 */
export function describeError(e: unknown): DescribedError {
  if (isMoatError(e)) {
    const info = errorInfo(e.code);
    const exit = typeof e.details?.exitCode === 'number' ? e.details.exitCode : info.exit;
    return {
      code: e.code,
      message: e.message,
      hint: e.hint || info.hint,
      http: info.http,
      exit,
      ...(e.details ? { details: e.details } : {}),
    };
  }
  const info = CLI_ERRORS.INTERNAL;
  const message = e instanceof Error ? e.message : String(e);
  return {
    code: 'INTERNAL',
    message: `internal error: ${message}`,
    hint: info.hint,
    http: info.http,
    exit: info.exit,
  };
}
