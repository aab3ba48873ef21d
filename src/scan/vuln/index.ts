/**
 * Vulnerability matching (issue 14): OSV records from a local database, matched against the
 * package inventory with each ecosystem's version ordering, severities from CVSS, VEX suppressions.
 */
export { level as cvssLevel, scoreVector, type CvssLevel, type CvssScore } from './cvss.js';
export {
  dbAgeDays,
  DB_DEFAULTS,
  loadVulnDb,
  vulnDbFromRecords,
  type LoadOptions,
  type VulnDb,
  type VulnDbLimits,
} from './db.js';
export { isVulnError, VULN_ERROR_CODES, VULN_ERRORS, VulnError, type VulnErrorCode } from './errors.js';
export { matchPackages, SEVERITY_ORDER, type MatchOptions } from './match.js';
export { lookupOf, parseOsv, type OsvAffected, type OsvEvent, type OsvRange, type OsvRecord } from './osv.js';
export { loadVex, parseVex, type VexStatement, type VexStatus } from './vex.js';
export { SCHEMES, type VersionScheme } from './versions/index.js';
