/** The trust policy: types, reading and checking a file, finding the scope for an image, identities. */
export type * from './types.js';
export { parsePolicy, KNOWN_TRANSPORTS, MAX_POLICY_BYTES } from './parse.js';
export { lookup, candidateScopes } from './scope.js';
export { identityMatches, describeIdentity, parseIdentity } from './identity.js';
export {
  loadTrustPolicy,
  acceptsAnything,
  userPolicyPath,
  readBounded,
  SYSTEM_POLICY,
  BUILTIN,
} from './load.js';
export type { LoadTrustOptions } from './load.js';
