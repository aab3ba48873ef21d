/**
 * Trusted roots: the Fulcio CAs, Rekor and CT log keys and timestamp authorities a keyless or
 * bundle signature is checked against. One form (a sigstore `trusted_root.json`) whether it comes
 * from a file, from a policy's `fulcio`/`rekorPublicKey*` fields, or from the public-good root
 * shipped offline in `@sigstore/tuf`; every one is checked by moat before use.
 */
export { loadTrustedRoot, parseTrustedRoot, fromJson, MAX_TRUSTED_ROOT_BYTES } from './load.js';
export type { TrustRoot, TrustedRootJson } from './load.js';
export { publicGoodRoot, rootFromSeeds, PUBLIC_GOOD_TUF_URL } from './public-good.js';
export { rootFromPolicy, parsePemCertificates, logEntry } from './from-policy.js';
export type { PolicyRootParts } from './from-policy.js';
export { validateTrustedRoot, TRUSTED_ROOT_MEDIA_TYPES, ROOT_LIMITS } from './validate.js';
export { trustMaterial } from './material.js';
