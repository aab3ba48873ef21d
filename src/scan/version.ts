/**
 * The scanner's version, in a module of its own: a run compares it with the version its image's
 * scan record was made by (src/api/scan-routes.ts), and must not load the scanner to do so.
 * Bumped whenever what a layer scan records changes (the rule table is hashed in as well).
 */
export const SCANNER_VERSION = 'moat-scan/1';
