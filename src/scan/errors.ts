import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * Stable codes of the scan room's integration: the scan configuration and the gate's outcomes
 * that are not the policy's or the trust policy's own codes. The vulnerability database's codes
 * (VULN_*) are src/scan/vuln/errors.ts's.
 */
export const SCAN_ERROR_CODES = [
  /**
   * `moat check`: the admission policy sets a vulnerability threshold (max_critical, max_high,
   * max_db_age_days) but no vulnerability database was given or configured: the gate cannot judge.
   */
  'SCAN_NO_DATABASE',
  /** ~/.config/moat/scan.json (or $MOAT_SCAN_CONFIG) cannot be read or is not the documented shape. */
  'SCAN_CONFIG_INVALID',
] as const;

export type ScanErrorCode = (typeof SCAN_ERROR_CODES)[number];

export const SCAN_ERRORS: ErrorTable<ScanErrorCode> = {
  SCAN_NO_DATABASE: {
    http: 409,
    exit: EXIT.noVulnDatabase,
    hint: 'give a vulnerability database (an OSV export) with --db PATH or $MOAT_VULN_DB, or remove the vulnerability thresholds from the policy data',
  },
  SCAN_CONFIG_INVALID: {
    http: 500,
    exit: EXIT.failure,
    hint: 'fix the scan configuration: {"db": "/path/to/osv", "vex": ["/path/to/vex.json"]}',
  },
};

export class ScanError extends MoatError {
  declare readonly code: ScanErrorCode;

  constructor(code: ScanErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'ScanError';
  }
}

export function isScanError(e: unknown): e is ScanError {
  return e instanceof ScanError;
}
