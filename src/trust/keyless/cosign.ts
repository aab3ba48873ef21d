/**
 * A keyless cosign signature (simple signing, as `cosign sign` without a key attaches it): the
 * signature annotation, a Fulcio certificate (`dev.sigstore.cosign/certificate`, PEM) and its
 * chain (`/chain`), and Rekor's signed entry timestamp (`/bundle`). Checked by turning it into
 * the v0.1 sigstore bundle it is equivalent to (message signature, certificate, tlog entry with
 * an inclusion promise) and verifying that the way every bundle is verified:
 * - the certificate chains to a CA of the trusted root and was valid at the SET's integrated time
 *   (a keyless signature without a SET has no time and is refused);
 * - the SET is signed by a trusted Rekor key, and its entry is this signature over this payload;
 * - the signature over the exact payload bytes by the certificate's key;
 * - the certificate's SAN and OIDC issuer equal the policy's `subjectEmail` and `oidcIssuer`;
 * then what the payload claims (digest, signedIdentity), as for a key signature.
 * Intermediates must be in the trusted root or CA file: the chain annotation is not trusted to
 * supply them (`@sigstore/verify` builds paths from trusted certificates only).
 */
import { createHash } from 'node:crypto';
import { BUNDLE_V01_MEDIA_TYPE } from '@sigstore/bundle';
import type { ImageReference } from '../../image/reference.js';
import { parseBundle } from '../bundle/parse.js';
import { verifyBundle } from '../bundle/verify.js';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_SIGNATURE,
  checkPayloadClaims,
  type SignatureLayer,
  type SignatureOutcome,
} from '../cosign/verify.js';
import type { TrustErrorCode } from '../errors.js';
import { decodeBase64 } from '../key/public-key.js';
import type { SigstoreSigned } from '../policy/types.js';
import { parsePemCertificates, type TrustRoot } from '../root/index.js';
import type { CertificateIdentity } from './identity.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The bundle tlog entry (v0.1: with an inclusion promise) that cosign's transparency-log
 * annotation (`dev.sigstore.cosign/bundle`: `{SignedEntryTimestamp, Payload}`) stands for;
 * throws an Error saying what is wrong. Shared by signature and attestation layers.
 */
export function tlogEntryFromSet(setText: string | undefined): Record<string, unknown> {
  if (typeof setText !== 'string' || setText === '')
    throw new Error(
      `no transparency-log entry (${ANNOTATION_BUNDLE}): a keyless signature needs one to show when it was made`,
    );
  let set: unknown;
  try {
    set = JSON.parse(setText);
  } catch {
    throw new Error('the transparency-log bundle is not valid JSON');
  }
  const p = isObject(set) ? set.Payload : undefined;
  if (!isObject(set) || typeof set.SignedEntryTimestamp !== 'string' || !isObject(p))
    throw new Error('the transparency-log bundle has no SignedEntryTimestamp or Payload');
  if (
    typeof p.body !== 'string' ||
    !Number.isSafeInteger(p.integratedTime) ||
    !Number.isSafeInteger(p.logIndex) ||
    (p.logIndex as number) < 0 ||
    typeof p.logID !== 'string' ||
    !/^[0-9a-f]{64}$/.test(p.logID)
  )
    throw new Error('the transparency-log entry is malformed');
  decodeBase64(set.SignedEntryTimestamp, 'SignedEntryTimestamp', 4096);
  let body: unknown;
  try {
    body = JSON.parse(decodeBase64(p.body, 'tlog body', 1 << 20).toString('utf8'));
  } catch {
    throw new Error('the transparency-log entry body is not valid base64 JSON');
  }
  if (!isObject(body) || typeof body.kind !== 'string' || typeof body.apiVersion !== 'string')
    throw new Error('the transparency-log entry body has no kind or apiVersion');
  return {
    logIndex: String(p.logIndex),
    logId: { keyId: Buffer.from(p.logID, 'hex').toString('base64') },
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(p.integratedTime),
    inclusionPromise: { signedEntryTimestamp: set.SignedEntryTimestamp },
    canonicalizedBody: p.body,
  };
}

/** The v0.1 bundle (JSON) a keyless cosign signature layer stands for; throws an Error why not. */
export function layerToBundle(layer: SignatureLayer): Record<string, unknown> {
  const sig = layer.annotations[ANNOTATION_SIGNATURE];
  if (typeof sig !== 'string' || sig === '') throw new Error(`no ${ANNOTATION_SIGNATURE} annotation`);
  decodeBase64(sig, 'signature', 64 * 1024);
  const certPem = layer.annotations[ANNOTATION_CERTIFICATE];
  if (typeof certPem !== 'string' || certPem === '')
    throw new Error(`no ${ANNOTATION_CERTIFICATE} annotation`);
  const certs = parsePemCertificates(certPem, 'the signing certificate');
  if (certs.length !== 1) throw new Error('the certificate annotation holds more than one certificate');
  const chainPem = layer.annotations[ANNOTATION_CHAIN];
  // Parsed so that a malformed chain is refused; not used: trust comes from the root's CAs alone,
  // and the chain cosign attaches usually ends in the root itself.
  if (chainPem) parsePemCertificates(chainPem, 'the certificate chain');
  const entry = tlogEntryFromSet(layer.annotations[ANNOTATION_BUNDLE]);
  return {
    mediaType: BUNDLE_V01_MEDIA_TYPE,
    verificationMaterial: {
      x509CertificateChain: {
        certificates: [{ rawBytes: certs[0].raw.toString('base64') }],
      },
      tlogEntries: [entry],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: createHash('sha256').update(layer.payload).digest('base64'),
      },
      signature: sig.trim(),
    },
  };
}

/** One keyless signature layer against a `sigstoreSigned` requirement with `fulcio`. */
export function checkKeylessSignature(
  layer: SignatureLayer,
  req: SigstoreSigned,
  identity: CertificateIdentity,
  root: TrustRoot,
  intended: ImageReference,
  manifestDigest: string,
): SignatureOutcome {
  const out: SignatureOutcome = { ok: false, layer: layer.digest, kind: 'keyless', stage: 0 };
  const fail = (code: TrustErrorCode, reason: string): SignatureOutcome => ({ ...out, code, reason });
  if (!layer.annotations[ANNOTATION_CERTIFICATE])
    return fail(
      'TRUST_UNTRUSTED_SIGNER',
      'signed with a key, and the requirement trusts certificates (fulcio) only',
    );
  let bundle;
  try {
    bundle = parseBundle(JSON.stringify(layerToBundle(layer)));
  } catch (e) {
    return fail('TRUST_SIGNATURE_INVALID', `keyless signature: ${(e as Error).message}`);
  }
  out.stage = 1;
  const payloadSha = createHash('sha256').update(layer.payload).digest();
  const check = verifyBundle(
    bundle,
    { bytes: layer.payload, sha256: payloadSha },
    { kind: 'identity', identity },
    root,
  );
  if (check.subject !== undefined) out.subject = check.subject;
  if (check.issuer !== undefined) out.issuer = check.issuer;
  if (!check.ok)
    return fail(check.code ?? 'TRUST_SIGNATURE_INVALID', check.reason ?? 'the signature does not verify');
  if (check.tlog) out.tlog = check.tlog;
  out.stage = 2;
  const claims = checkPayloadClaims(layer, req, intended, manifestDigest, out);
  if (!claims.ok) return claims;
  return { ...out, ok: true, stage: 5 };
}
