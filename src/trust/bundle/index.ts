/** Sigstore bundles: reading them, and verifying one for an image or a blob. */
export { parseBundle, BUNDLE_MEDIA_TYPES, MAX_BUNDLE_BYTES } from './parse.js';
export { verifyBundle, pae } from './verify.js';
export type { SignerRequirement, Artifact, BundleCheck } from './verify.js';
export { verifyBundleForImage, verifyBundleForBlob, parseDigest } from './artifact.js';
export type { BundleOutcome } from './artifact.js';
export { parseStatement, namesSubject, INTOTO_PAYLOAD_TYPE } from './intoto.js';
export type { Statement } from './intoto.js';
