import { MoatError, type MoatErrorOptions } from '../../errors.js';

/**
 * Stable codes for talking to registries (transport, TLS, authentication, protocol). What the
 * registry *sends* that is wrong (bad digests, oversized or malformed manifests) keeps the image
 * room's codes (IMAGE_DIGEST_MISMATCH, IMAGE_BLOB_TRUNCATED, ...). Add new codes at the end.
 */
export const REGISTRY_ERROR_CODES = [
  /** A short name was given and no default registry is configured. */
  'REGISTRY_NO_DEFAULT',
  /** registries.json or an auth file cannot be parsed or is invalid. */
  'REGISTRY_CONFIG_INVALID',
  /** The registry cannot be reached (DNS, refused connection, reset). */
  'REGISTRY_UNREACHABLE',
  /** Connecting, waiting for headers, or waiting for the next body bytes took too long. */
  'REGISTRY_TIMEOUT',
  /** The registry's certificate does not verify against the system and per-registry CAs. */
  'REGISTRY_TLS_FAILED',
  /** Plain HTTP would be needed, but the registry is not listed insecure (nor loopback). */
  'REGISTRY_INSECURE_REFUSED',
  /** The registry wants credentials moat does not have, or rejected the ones it sent. */
  'REGISTRY_UNAUTHORIZED',
  /** The registry refused the operation for these credentials (403). */
  'REGISTRY_DENIED',
  /** The registry keeps answering 401 to the credentials or tokens it accepts. */
  'REGISTRY_AUTH_LOOP',
  /** A redirect moat will not follow (too many, a downgrade to plain HTTP, a bad Location). */
  'REGISTRY_REDIRECT_REFUSED',
  /** The repository or tag does not exist on the registry. */
  'REGISTRY_MANIFEST_NOT_FOUND',
  /** A blob the manifest names is missing from the registry. */
  'REGISTRY_BLOB_NOT_FOUND',
  /** Any other unexpected HTTP status. */
  'REGISTRY_HTTP_ERROR',
  /** The registry broke the protocol (bad token response, missing Location, bad challenge). */
  'REGISTRY_PROTOCOL_ERROR',
  /** logout: no credentials stored for that registry. */
  'REGISTRY_LOGIN_NOT_FOUND',
  /** The config names a credential helper (`credsStore`, `credHelpers`) that is not on PATH. */
  'REGISTRY_CREDENTIAL_HELPER_MISSING',
  /** A credential helper failed: non-zero exit (other than "not found"), bad output, timeout. */
  'REGISTRY_CREDENTIAL_HELPER_FAILED',
] as const;

export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];

export class RegistryError extends MoatError {
  declare readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'RegistryError';
  }
}
