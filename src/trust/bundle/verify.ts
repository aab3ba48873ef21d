/**
 * One sigstore bundle against one signer requirement and a trusted root. `@sigstore/verify` checks
 * what it checks well (the certificate chain to a CA valid at the signing time, SCTs, the
 * transparency-log entry's inclusion promise or proof and checkpoint, RFC 3161 timestamps, the
 * signature); moat adds, around it:
 * - the identity, compared exactly (the library gets no policy: its SAN match is a regex);
 * - a message signature's digest equal to the artifact's (the library only compares it with the
 *   log entry), and verification from a digest alone (pre-hashed, key/prehashed.ts);
 * - DSSE logged to Rekor v2 as hashedrekord 0.0.2, whose entry holds the hash of the DSSE
 *   pre-authentication encoding (rekor-v2 spec §6.1.4), which @sigstore/verify 3 does not read;
 * - a key requirement accepts only bundles signed with a key, never a certificate chain;
 * - a key-signed bundle with no transparency-log entry (what `moat sign --bundle` makes offline)
 *   is accepted only when the requirement says the log is optional (`requireTlog: false`: a key
 *   requirement that names no Rekor key, as for cosign `.sig` signatures under the same
 *   requirement). Entries a bundle does carry are still verified against the root in force.
 */
import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { Verifier, VerificationError, PolicyError, toSignedEntity, type Signer } from '@sigstore/verify';
import type { SignedEntity } from '@sigstore/verify';
import type { TrustErrorCode } from '../errors.js';
import { pae } from '../attest/envelope.js';
import { verifyPrehashed } from '../key/prehashed.js';
import type { PublicKey } from '../key/public-key.js';
import { checkIdentity, type CertificateIdentity } from '../keyless/identity.js';
import { trustMaterial, type TrustRoot } from '../root/index.js';

export type SignerRequirement =
  | { kind: 'identity'; identity: CertificateIdentity }
  | {
      kind: 'key';
      keys: PublicKey[];
      /** A transparency-log entry (and so a signing time) is required; default true. */
      requireTlog?: boolean;
    };

/** What the signature must be over: the bytes (a file), or only their SHA-256. */
export interface Artifact {
  bytes?: Buffer;
  sha256: Buffer;
}

export interface BundleCheck {
  ok: boolean;
  /** 0 read .. 4 all checks passed: among several bundles, the furthest explains a refusal. */
  stage: number;
  code?: TrustErrorCode;
  reason?: string;
  subject?: string;
  issuer?: string;
  keyId?: string;
  tlog?: { integrated_time: number; log_id: string; log_index: number };
}

export { pae };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/** The library's errors as moat's codes: who signed is not trusted, or the evidence is bad. */
function codeOf(e: unknown): TrustErrorCode {
  if (e instanceof PolicyError) return 'TRUST_UNTRUSTED_SIGNER';
  if (e instanceof VerificationError && (e.code === 'CERTIFICATE_ERROR' || e.code === 'PUBLIC_KEY_ERROR'))
    return 'TRUST_UNTRUSTED_SIGNER';
  return 'TRUST_SIGNATURE_INVALID';
}

function messageOf(e: unknown): string {
  const err = e as Error & { cause?: unknown };
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** The signed entity, adjusted as the header says. Throws TRUST_* reasons as plain Errors. */
function entityOf(bundle: Bundle, artifact: Artifact | undefined): SignedEntity {
  const content = bundle.content;
  if (content.$case === 'messageSignature') {
    if (!artifact) throw new Error('a message signature needs the artifact or its digest');
    const md = content.messageSignature.messageDigest;
    // HashAlgorithm.SHA2_256 is 1; a digest in another algorithm cannot be compared with ours.
    if (md && md.algorithm !== 1) throw new Error('the message digest is not SHA-256');
    if (md && !md.digest.equals(artifact.sha256))
      throw new Error('the bundle signs another artifact (its message digest differs)');
  }
  const vm = bundle.verificationMaterial.content;
  // The bundle's certificates are the signer's, never a trust anchor: a self-signed (root)
  // certificate in them is refused, as sigstore's other clients refuse it.
  const bundled = vm?.$case === 'x509CertificateChain' ? vm.x509CertificateChain.certificates : [];
  for (const c of bundled) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(Buffer.from(c.rawBytes));
    } catch {
      throw new Error('a certificate in the bundle is not valid DER');
    }
    if (x.checkIssued(x) && x.verify(x.publicKey))
      throw new Error("the bundle's certificate chain contains a root (self-signed) certificate");
  }
  const entity = toSignedEntity(bundle, content.$case === 'messageSignature' ? artifact?.bytes : undefined);
  const inner = entity.signature;
  if (content.$case === 'messageSignature' && !artifact?.bytes) {
    const digest = artifact!.sha256;
    entity.signature = {
      signature: inner.signature,
      compareSignature: (s) => inner.compareSignature(s),
      compareDigest: (d) => inner.compareDigest(d),
      // The key is the one the library settled on: the trusted key, or the verified certificate's.
      verifySignature: (k) => verifyPrehashed({ key: k, id: '', kind: kindOf(k) }, digest, inner.signature),
    };
  }
  if (
    content.$case === 'dsseEnvelope' &&
    bundle.verificationMaterial.tlogEntries.length > 0 &&
    bundle.verificationMaterial.tlogEntries.every(
      (t) => t.kindVersion?.kind === 'hashedrekord' && t.kindVersion?.version === '0.0.2',
    )
  ) {
    const env = content.dsseEnvelope;
    const digest = sha256(pae(env.payloadType, env.payload));
    entity.signature = {
      signature: inner.signature,
      compareSignature: (s) => inner.compareSignature(s),
      compareDigest: (d) => d.length === digest.length && d.equals(digest),
      verifySignature: (k) => inner.verifySignature(k),
    };
  }
  return entity;
}

function tlogOf(bundle: Bundle): BundleCheck['tlog'] {
  const t = bundle.verificationMaterial.tlogEntries[0];
  if (!t) return undefined;
  return {
    integrated_time: Number(t.integratedTime || 0),
    log_id: t.logId.keyId.toString('hex'),
    log_index: Number(t.logIndex),
  };
}

/**
 * Verifies `bundle` over `artifact` (undefined for DSSE: the payload is what is signed; callers
 * check what it says) for `req` against `root`.
 */
export function verifyBundle(
  bundle: Bundle,
  artifact: Artifact | undefined,
  req: SignerRequirement,
  root: TrustRoot,
): BundleCheck {
  const out: BundleCheck = { ok: false, stage: 0 };
  const fail = (code: TrustErrorCode, reason: string): BundleCheck => ({ ...out, code, reason });
  let entity: SignedEntity;
  try {
    entity = entityOf(bundle, artifact);
  } catch (e) {
    return fail('TRUST_SIGNATURE_INVALID', `sigstore bundle: ${(e as Error).message}`);
  }
  out.stage = 1;
  const isKey = entity.key.$case === 'public-key';
  if (req.kind === 'key' && !isKey)
    return fail(
      'TRUST_UNTRUSTED_SIGNER',
      'the bundle is signed with a certificate, and the requirement trusts keys only',
    );
  if (req.kind === 'identity' && isKey)
    return fail(
      'TRUST_UNTRUSTED_SIGNER',
      'the bundle is signed with a key, and the requirement trusts certificate identities only',
    );
  // The one case without a log entry: a key requirement that names no Rekor key says so.
  const logOptional = req.kind === 'key' && req.requireTlog === false;
  const thresholds = {
    tlogThreshold: logOptional ? 0 : 1,
    timestampThreshold: logOptional ? 0 : 1,
    // SCTs are required when the root names CT logs (the public-good one does); a private CA
    // built from a policy has none to check them against.
    ctlogThreshold: !isKey && root.root.ctlogs.length > 0 ? 1 : 0,
  };
  const candidates: (PublicKey | undefined)[] = req.kind === 'key' ? req.keys : [undefined];
  let last: { code: TrustErrorCode; reason: string } | undefined;
  for (const key of candidates) {
    let signer: Signer;
    try {
      signer = new Verifier(trustMaterial(root, key ? [key] : []), thresholds).verify(entity);
    } catch (e) {
      last = { code: codeOf(e), reason: `sigstore bundle: ${messageOf(e)}` };
      continue;
    }
    out.stage = 2;
    out.tlog = tlogOf(bundle);
    if (key) return { ...out, ok: true, stage: 4, keyId: key.id };
    if (req.kind !== 'identity') break;
    const id = checkIdentity(signer, req.identity);
    out.subject = id.subject;
    out.issuer = id.issuer;
    if (!id.ok) return fail('TRUST_UNTRUSTED_SIGNER', id.reason ?? 'identity mismatch');
    return { ...out, ok: true, stage: 4 };
  }
  return fail(last?.code ?? 'TRUST_UNTRUSTED_SIGNER', last?.reason ?? 'no trusted key');
}

function kindOf(k: KeyObject): PublicKey['kind'] {
  if (k.asymmetricKeyType === 'rsa') return 'rsa';
  if (k.asymmetricKeyType === 'ed25519') return 'ed25519';
  const c = k.asymmetricKeyDetails?.namedCurve;
  return c === 'secp384r1' ? 'ecdsa-p384' : c === 'secp521r1' ? 'ecdsa-p521' : 'ecdsa-p256';
}
