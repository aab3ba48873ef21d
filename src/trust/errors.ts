import { EXIT, MoatError, type ErrorTable, type MoatErrorOptions } from '../errors.js';

/**
 * Stable codes of the trust room (signatures, the trust policy). Two kinds of failure are kept
 * apart, as sigstore-js keeps them: the evidence is bad (`TRUST_SIGNATURE_INVALID`: tampered,
 * malformed, for another image) or the evidence is sound but nobody the policy trusts made it
 * (`TRUST_UNTRUSTED_SIGNER`, `TRUST_IDENTITY_MISMATCH`). Every code exits 4.
 */
export const TRUST_ERROR_CODES = [
  /** The trust policy file cannot be read or is not valid (unknown field, two key sources...). */
  'TRUST_POLICY_INVALID',
  /** The scope that matched the image says `reject`, or has no requirement at all. */
  'TRUST_REJECTED',
  /** No signature was found for the image's digest where the requirement looks. */
  'TRUST_UNSIGNED',
  /** A signature is malformed, does not verify, or was made for another digest. */
  'TRUST_SIGNATURE_INVALID',
  /** A signature verifies, but with no key (or certificate authority) the policy trusts. */
  'TRUST_UNTRUSTED_SIGNER',
  /** A trusted signature names another image than the one verified (signedIdentity). */
  'TRUST_IDENTITY_MISMATCH',
  /** A key or certificate given to moat (policy, --key) cannot be read or parsed. */
  'TRUST_KEY_INVALID',
  /** Signatures could not be fetched (registry error, or more or larger than moat reads). */
  'TRUST_FETCH_FAILED',
  /** The image has no verification on record for the current trust policy (run `moat verify`). */
  'TRUST_NOT_VERIFIED',
  /** Signing failed (no manifest to sign, registry refused the signature). */
  'TRUST_SIGN_FAILED',
] as const;

export type TrustErrorCode = (typeof TRUST_ERROR_CODES)[number];

const untrusted = (hint: string) => ({ http: 403, exit: EXIT.untrusted, hint });

export const TRUST_ERRORS: ErrorTable<TrustErrorCode> = {
  TRUST_POLICY_INVALID: {
    http: 400,
    exit: EXIT.untrusted,
    hint: 'fix the trust policy file (moat trust show REF names the file in use)',
  },
  TRUST_REJECTED: untrusted('the trust policy rejects this image: moat trust show REF says which scope'),
  TRUST_UNSIGNED: untrusted('sign the image (moat sign --key KEY REF) or use a signed one'),
  TRUST_SIGNATURE_INVALID: untrusted(
    'the signature does not match the image: suspect tampering, and sign the image again',
  ),
  TRUST_UNTRUSTED_SIGNER: untrusted('the image was signed by someone the trust policy does not trust'),
  TRUST_IDENTITY_MISMATCH: untrusted(
    'the signature was made for another image name: sign the image under the name you run it by, or adjust signedIdentity',
  ),
  TRUST_KEY_INVALID: {
    http: 400,
    exit: EXIT.untrusted,
    hint: 'give a PEM public key (moat key generate makes a pair)',
  },
  TRUST_FETCH_FAILED: {
    http: 502,
    exit: EXIT.untrusted,
    hint: 'check that the registry answers (moat pull REF), then retry',
  },
  TRUST_NOT_VERIFIED: untrusted(
    'verify the image against the current trust policy first: moat verify REF (or moat pull REF)',
  ),
  TRUST_SIGN_FAILED: { http: 502, exit: EXIT.untrusted, hint: 'check the registry and the key, then retry' },
};

export class TrustError extends MoatError {
  declare readonly code: TrustErrorCode;

  constructor(code: TrustErrorCode, message: string, opts: MoatErrorOptions = {}) {
    super(code, message, opts);
    this.name = 'TrustError';
  }
}

export function isTrustError(e: unknown): e is TrustError {
  return e instanceof TrustError;
}
