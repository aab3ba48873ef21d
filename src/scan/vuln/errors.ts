import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../../errors.js';

/**
 * Stable codes of vulnerability matching: the database and VEX documents. A scan without a usable
 * database is never a silent pass: each way of not having one is its own code, and the caller
 * (`moat scan`, `moat check`, run's scan) decides whether it is a notice in the report or an exit
 * status of its own. The statuses below are placeholders until the scan room's table joins
 * src/error-table.ts.
 */
export const VULN_ERROR_CODES = [
  /** No database was given (`--db`) or configured. */
  'VULN_DB_NOT_CONFIGURED',
  /** The path given as the database does not exist. */
  'VULN_DB_MISSING',
  /** The database cannot be read: not a directory, zip or tar, a corrupt archive, an I/O error. */
  'VULN_DB_UNREADABLE',
  /** The database is over moat's bounds (records, bytes): refused rather than read in part. */
  'VULN_DB_TOO_LARGE',
  /** A VEX document cannot be read or is not OpenVEX JSON. */
  'VULN_VEX_INVALID',
] as const;

export type VulnErrorCode = (typeof VULN_ERROR_CODES)[number];

const HOW = 'download an OSV export (https://osv-vulnerabilities.storage.googleapis.com/<ecosystem>/all.zip)';

export const VULN_ERRORS: ErrorTable<VulnErrorCode> = {
  VULN_DB_NOT_CONFIGURED: {
    http: 409,
    exit: EXIT.failure,
    hint: `${HOW} and pass it with --db PATH`,
  },
  VULN_DB_MISSING: { http: 404, exit: EXIT.failure, hint: `check the path, or ${HOW}` },
  VULN_DB_UNREADABLE: {
    http: 422,
    exit: EXIT.failure,
    hint: 'give a directory of OSV .json files, or a .zip, .tar or .tar.gz of them',
  },
  VULN_DB_TOO_LARGE: {
    http: 413,
    exit: EXIT.failure,
    hint: 'use a per-ecosystem export rather than all of OSV, or raise the limits',
  },
  VULN_VEX_INVALID: {
    http: 400,
    exit: EXIT.usage,
    hint: 'give OpenVEX JSON documents (https://openvex.dev)',
  },
};

export class VulnError extends MoatError {
  declare readonly code: VulnErrorCode;

  constructor(code: VulnErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'VulnError';
  }
}

export function isVulnError(e: unknown): e is VulnError {
  return e instanceof VulnError;
}
