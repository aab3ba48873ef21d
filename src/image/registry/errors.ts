import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../../errors.js';

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

const CONFIG = '~/.config/moat/registries.json (docs/registry.md)';

/**
 * Statuses and default hints of every registry code (see ErrorTable). HTTP statuses stay 500 for the
 * registry's faults: a 401 from the API would make the docker CLI ask for a login. What the user can fix
 * (credentials, configuration, a name) exits 1; the network and the registry's faults exit 125.
 */
export const REGISTRY_ERRORS: ErrorTable<RegistryErrorCode> = {
  REGISTRY_NO_DEFAULT: {
    http: 500,
    exit: EXIT.failure,
    hint: `give the full name (HOST[:PORT]/NAME:TAG), or set defaultRegistry in ${CONFIG}`,
  },
  REGISTRY_CONFIG_INVALID: {
    http: 400,
    exit: EXIT.failure,
    hint: `fix the file the message names (${CONFIG})`,
  },
  REGISTRY_UNREACHABLE: {
    http: 500,
    exit: EXIT.moat,
    hint: 'check the host and port, and that the registry is running and reachable from here',
  },
  REGISTRY_TIMEOUT: {
    http: 500,
    exit: EXIT.moat,
    hint: 'the registry is slow or unreachable: try again later',
  },
  REGISTRY_TLS_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: "put the registry's CA in ~/.config/moat/certs.d/HOST:PORT/ca.crt, or use --tls-verify=false for a test registry",
  },
  REGISTRY_INSECURE_REFUSED: {
    http: 400,
    exit: EXIT.failure,
    hint: `plain HTTP only for loopback, registries listed insecure in ${CONFIG}, or --tls-verify=false`,
  },
  REGISTRY_UNAUTHORIZED: {
    http: 500,
    exit: EXIT.failure,
    hint: 'log in with moat login -u USER --password-stdin HOST (or check the credentials stored for it)',
  },
  REGISTRY_DENIED: {
    http: 500,
    exit: EXIT.failure,
    hint: 'these credentials may not do this: check the repository name and your access to it',
  },
  REGISTRY_AUTH_LOOP: {
    http: 500,
    exit: EXIT.failure,
    hint: 'the registry keeps refusing the credentials it was given: log in again (moat login)',
  },
  REGISTRY_REDIRECT_REFUSED: {
    http: 400,
    exit: EXIT.moat,
    hint: 'the registry redirected somewhere moat will not follow (the message says why)',
  },
  REGISTRY_MANIFEST_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: 'check the repository and tag; private repositories may need moat login',
  },
  REGISTRY_BLOB_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: 'the registry lacks a blob its own manifest names: push the image to it again',
  },
  REGISTRY_HTTP_ERROR: {
    http: 500,
    exit: EXIT.moat,
    hint: 'the registry answered with an unexpected status: its own logs say why',
  },
  REGISTRY_PROTOCOL_ERROR: {
    http: 500,
    exit: EXIT.moat,
    hint: 'the registry broke the distribution protocol (the message says how)',
  },
  REGISTRY_LOGIN_NOT_FOUND: {
    http: 404,
    exit: EXIT.failure,
    hint: 'nothing to remove: moat logout --all removes every credential moat stored',
  },
  REGISTRY_CREDENTIAL_HELPER_MISSING: {
    http: 500,
    exit: EXIT.failure,
    hint: 'install the docker-credential-NAME program the config names, or remove credsStore/credHelpers from it',
  },
  REGISTRY_CREDENTIAL_HELPER_FAILED: {
    http: 500,
    exit: EXIT.moat,
    hint: "the credential helper's own message is above; try it by hand: echo HOST | docker-credential-NAME get",
  },
};

export class RegistryError extends MoatError {
  declare readonly code: RegistryErrorCode;

  constructor(code: RegistryErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'RegistryError';
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}
