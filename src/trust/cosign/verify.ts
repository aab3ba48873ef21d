/**
 * One cosign signature against one `sigstoreSigned` requirement: the signature over the exact
 * payload bytes by a trusted key, the payload's digest equal to the manifest digest being
 * verified, the identity it claims accepted by `signedIdentity`, and — when the requirement names
 * Rekor keys — a signed entry timestamp from one of those logs for this very signature.
 *
 * Checks run in that order; a failure says which check failed and why, with the stage reached so
 * that among several signatures the one that got furthest explains the refusal.
 */
import type { ImageReference } from '../../image/reference.js';
import type { TrustErrorCode } from '../errors.js';
import { decodeBase64, verifyWith, type PublicKey } from '../key/public-key.js';
import { describeIdentity, identityMatches } from '../policy/identity.js';
import type { SigstoreSigned } from '../policy/types.js';
import { verifySet } from '../tlog/set.js';
import { parsePayload } from './payload.js';

export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_CHAIN = 'dev.sigstore.cosign/chain';
export const ANNOTATION_BUNDLE = 'dev.sigstore.cosign/bundle';

/** A signature as attached to an image: one layer of the `.sig` manifest, its blob read. */
export interface SignatureLayer {
  /** The layer's digest (the payload's sha256). */
  digest: string;
  payload: Buffer;
  annotations: Record<string, string>;
}

/** The keys a requirement's sources name, loaded. */
export interface Material {
  keys: PublicKey[];
  rekorKeys: PublicKey[];
}

export interface SignatureOutcome {
  ok: boolean;
  /** The signature layer's digest (a bundle's: the sha256 of its bytes). */
  layer: string;
  kind: 'key' | 'keyless' | 'bundle';
  /** 0 decoded .. 5 all checks passed: the failure of the signature that got furthest is reported. */
  stage: number;
  code?: TrustErrorCode;
  reason?: string;
  keyId?: string;
  /** Keyless: the certificate's subject alternative name and OIDC issuer. */
  subject?: string;
  issuer?: string;
  /** The image name the payload claims. */
  identity?: string;
  tlog?: { integrated_time: number; log_id: string; log_index: number };
}

export function checkKeySignature(
  layer: SignatureLayer,
  req: SigstoreSigned,
  mat: Material,
  intended: ImageReference,
  manifestDigest: string,
): SignatureOutcome {
  const out: SignatureOutcome = { ok: false, layer: layer.digest, kind: 'key', stage: 0 };
  const fail = (code: TrustErrorCode, reason: string): SignatureOutcome => ({ ...out, code, reason });
  const b64 = layer.annotations[ANNOTATION_SIGNATURE];
  if (typeof b64 !== 'string' || b64 === '')
    return fail(
      'TRUST_SIGNATURE_INVALID',
      `signature layer ${layer.digest.slice(0, 19)}… has no ${ANNOTATION_SIGNATURE} annotation`,
    );
  let sig: Buffer;
  try {
    sig = decodeBase64(b64, 'signature', 64 * 1024);
  } catch (e) {
    return fail('TRUST_SIGNATURE_INVALID', (e as Error).message);
  }
  out.stage = 1;
  const key = mat.keys.find((k) => verifyWith(k, layer.payload, sig));
  if (!key)
    return fail(
      'TRUST_UNTRUSTED_SIGNER',
      layer.annotations[ANNOTATION_CERTIFICATE]
        ? 'signed with a certificate (keyless), and the requirement trusts keys only'
        : `the signature does not verify with ${mat.keys.length === 1 ? 'the trusted key' : `any of the ${mat.keys.length} trusted keys`} (signed with another key, or the payload was altered)`,
    );
  out.keyId = key.id;
  out.stage = 2;
  const claims = checkPayloadClaims(layer, req, intended, manifestDigest, out);
  if (!claims.ok) return claims;
  if (mat.rekorKeys.length) {
    const bundle = layer.annotations[ANNOTATION_BUNDLE];
    if (!bundle)
      return fail(
        'TRUST_SIGNATURE_INVALID',
        'the requirement names a Rekor key, and the signature has no transparency-log entry',
      );
    const set = verifySet(bundle, layer.payload, sig, mat.rekorKeys);
    if (!set.ok)
      return fail('TRUST_SIGNATURE_INVALID', set.reason ?? 'the transparency-log entry does not verify');
    out.tlog = { integrated_time: set.integratedTime!, log_id: set.logId!, log_index: set.logIndex! };
  }
  return { ...out, ok: true, stage: 5 };
}

/**
 * What a verified payload claims, checked against what is being verified: the payload parses, its
 * digest is the manifest's, and `signedIdentity` accepts the image name it gives. Shared by the
 * key and keyless paths; `out` is the outcome so far (stage 2: the signature verified), and is
 * updated in place (stage, identity). `ok` says whether every claim holds.
 */
export function checkPayloadClaims(
  layer: SignatureLayer,
  req: SigstoreSigned,
  intended: ImageReference,
  manifestDigest: string,
  out: SignatureOutcome,
): SignatureOutcome {
  const fail = (code: TrustErrorCode, reason: string): SignatureOutcome => ({ ...out, code, reason });
  let payload;
  try {
    payload = parsePayload(layer.payload);
  } catch (e) {
    return fail('TRUST_SIGNATURE_INVALID', (e as Error).message);
  }
  out.identity = payload.dockerReference;
  out.stage = 3;
  if (payload.manifestDigest !== manifestDigest)
    return fail(
      'TRUST_SIGNATURE_INVALID',
      `the signature is for ${payload.manifestDigest}, not for the image's manifest ${manifestDigest}`,
    );
  out.stage = 4;
  if (!identityMatches(req.signedIdentity, intended, payload.dockerReference))
    return fail(
      'TRUST_IDENTITY_MISMATCH',
      `the signature names ${JSON.stringify(payload.dockerReference)}; ${req.signedIdentity.type} wants ${describeIdentity(req.signedIdentity, intended)}`,
    );
  return { ...out, ok: true };
}
