/**
 * How error codes become exit statuses. Container commands follow docker: 125 when moat itself
 * failed, 126/127 when the container's command could not be run, else the container's own status.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  policyDenied: 3,
  untrusted: 4,
  moat: 125,
} as const;

export function exitCodeFor(code: string | undefined): number {
  if (!code) return EXIT.moat;
  if (code === 'CLI_USAGE' || code === 'API_INVALID_REQUEST' || code === 'RUNTIME_INVALID_OPTION')
    return EXIT.usage;
  if (code === 'POLICY_DENIED' || code === 'POLICY_ERROR') return EXIT.policyDenied;
  if (code.startsWith('TRUST_')) return EXIT.untrusted;
  if (
    /_NOT_FOUND$/.test(code) ||
    code === 'RUNTIME_INVALID_STATE' ||
    code === 'RUNTIME_NAME_IN_USE' ||
    code === 'RUNTIME_AMBIGUOUS_ID' ||
    code === 'IMAGE_AMBIGUOUS_ID' ||
    code === 'IMAGE_IN_USE' ||
    code === 'IMAGE_ARCHIVE_UNREADABLE'
  )
    return EXIT.failure;
  return EXIT.moat;
}
