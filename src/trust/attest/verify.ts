/**
 * Attestations: in-toto statements about an image, attached by `cosign attest` (`.att` DSSE
 * layers) or as sigstore bundle referrers. Each is verified with the same signer requirement as
 * the image's signatures (a trusted key, or a certificate identity and its log entry, against the
 * same trusted root), and its statement must name the image's manifest digest as a subject; only
 * then is it handed on, as `{predicate_type, predicate, signer}`, to the admission policy. An
 * attestation that fails is reported (`moat verify`) and never reaches the facts.
 *
 * Which referrer bundles are attestations: a DSSE in-toto statement whose predicate type is not
 * cosign's signature type (`https://sigstore.dev/cosign/sign/v1`, what `cosign sign
 * --new-bundle-format` and `moat sign --bundle` make). Message signatures and signature
 * statements are signatures; an SBOM or a provenance is not, and never satisfies the signature
 * requirement on its own.
 */
import { createHash } from 'node:crypto';
import { verifyBundleForImage, type BundleOutcome, type SignerRequirement } from '../bundle/index.js';
import type { SignatureLayer } from '../cosign/verify.js';
import type { TrustErrorCode } from '../errors.js';
import type { TrustRoot } from '../root/index.js';
import { attLayerToBundles } from './layers.js';
import { SIGN_PREDICATE_TYPE } from './statement.js';

export { SIGN_PREDICATE_TYPE };

/** The largest predicate handed to the admission policy; a larger one is dropped with a note. */
export const MAX_PREDICATE_BYTES = 256 * 1024;

export interface AttestationSigner {
  kind: 'key' | 'keyless';
  key_id?: string;
  subject?: string;
  issuer?: string;
}

/** A verified attestation, as `facts.image.signature.attestations[]`. */
export interface AttestationFact {
  predicate_type: string;
  /** The predicate; null when it was larger than MAX_PREDICATE_BYTES (see `note`). */
  predicate: unknown;
  signer: AttestationSigner;
  /** Where it was found: cosign's `.att` tag, or a bundle referrer. */
  source: 'att' | 'referrer';
  note?: string;
}

/** Every attestation looked at and what became of it (for `moat verify`). */
export interface AttestationCheck {
  source: 'att' | 'referrer';
  /** The `.att` layer's digest, or the sha256 of the bundle's bytes. */
  id: string;
  ok: boolean;
  predicate_type?: string;
  code?: TrustErrorCode;
  reason?: string;
}

/** How one requirement verifies evidence: its signer requirement and trusted root. */
export interface AttestationVerifier {
  signer: SignerRequirement;
  root: TrustRoot;
  /** Use `.att` layers' transparency-log entries (the requirement consults the log). */
  useSet: boolean;
}

function signerOf(o: BundleOutcome): AttestationSigner {
  return o.keyId
    ? { kind: 'key', key_id: o.keyId }
    : {
        kind: 'keyless',
        ...(o.subject !== undefined ? { subject: o.subject } : {}),
        ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
      };
}

/** The fact for a verified statement, its predicate capped. */
export function attestationFact(
  predicateType: string,
  predicate: unknown,
  signer: AttestationSigner,
  source: AttestationFact['source'],
): AttestationFact {
  const size = Buffer.byteLength(JSON.stringify(predicate ?? null), 'utf8');
  if (size > MAX_PREDICATE_BYTES)
    return {
      predicate_type: predicateType,
      predicate: null,
      signer,
      source,
      note: `the predicate (${size} bytes) is larger than ${MAX_PREDICATE_BYTES} bytes: dropped`,
    };
  return { predicate_type: predicateType, predicate: predicate ?? null, signer, source };
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Verifies each attestation for the image `digest`: accepted when it verifies under one of the
 * `verifiers` (the scope's sigstoreSigned requirements) and is an in-toto statement about the
 * image. With no verifier (nothing is required of signers), nothing is accepted.
 */
export function verifyAttestations(
  evidence: { bundles: Buffer[]; layers: SignatureLayer[] },
  digest: string,
  verifiers: AttestationVerifier[],
): { attestations: AttestationFact[]; checked: AttestationCheck[] } {
  const attestations: AttestationFact[] = [];
  const checked: AttestationCheck[] = [];
  const items = [
    ...evidence.layers.map((l) => ({
      source: 'att' as const,
      id: l.digest,
      bundles: (v: AttestationVerifier) => attLayerToBundles(l, v.useSet),
    })),
    ...evidence.bundles.map((b) => ({ source: 'referrer' as const, id: sha(b), bundles: () => [b] })),
  ];
  for (const item of items) {
    let best: { code: TrustErrorCode; reason: string; stage: number } | undefined;
    let found: AttestationFact | undefined;
    if (verifiers.length === 0)
      best = {
        code: 'TRUST_UNTRUSTED_SIGNER',
        reason: 'the trust policy names no signer for this image',
        stage: 0,
      };
    for (const v of verifiers) {
      let bundles: Buffer[];
      try {
        bundles = item.bundles(v);
      } catch (e) {
        best ??= {
          code: 'TRUST_SIGNATURE_INVALID',
          reason: `attestation: ${(e as Error).message}`,
          stage: 0,
        };
        continue;
      }
      for (const b of bundles) {
        const o = verifyBundleForImage(b, digest, v.signer, v.root);
        if (o.ok && o.predicateType !== undefined) {
          found = attestationFact(o.predicateType, o.predicate, signerOf(o), item.source);
          break;
        }
        const why = o.ok
          ? { code: 'TRUST_SIGNATURE_INVALID' as const, reason: 'not an in-toto attestation', stage: 4 }
          : {
              code: o.code ?? ('TRUST_SIGNATURE_INVALID' as const),
              reason: o.reason ?? 'rejected',
              stage: o.stage,
            };
        if (!best || why.stage > best.stage) best = why;
      }
      if (found) break;
    }
    if (found) {
      attestations.push(found);
      checked.push({ source: item.source, id: item.id, ok: true, predicate_type: found.predicate_type });
    } else
      checked.push({
        source: item.source,
        id: item.id,
        ok: false,
        code: best?.code ?? 'TRUST_SIGNATURE_INVALID',
        reason: best?.reason ?? 'rejected',
      });
  }
  return { attestations, checked };
}
