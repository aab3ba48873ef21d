/**
 * Public keys a trust policy or `--key` names: PEM (SubjectPublicKeyInfo), ECDSA P-256/P-384/P-521,
 * RSA (2048 bits or more) and Ed25519 — the kinds cosign makes and verifies. A key is identified
 * in reports by the sha256 of its DER encoding.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { TrustError } from '../errors.js';

/** The largest PEM moat parses (an RSA-8192 key is about 1.5 KB). */
export const MAX_KEY_BYTES = 64 * 1024;

export interface PublicKey {
  key: KeyObject;
  /** `sha256:` + hex of the DER SubjectPublicKeyInfo. */
  id: string;
  kind: 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa' | 'ed25519';
}

const CURVES: Record<string, PublicKey['kind']> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
  secp521r1: 'ecdsa-p521',
};

function bad(what: string, why: string): TrustError {
  return new TrustError('TRUST_KEY_INVALID', `${what}: ${why}`);
}

/** Parses a PEM public key; `what` names it in errors (a file, `keyData`, `--key`). */
export function parsePublicKey(pem: string | Buffer, what: string): PublicKey {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  if (text.length > MAX_KEY_BYTES) throw bad(what, `larger than ${MAX_KEY_BYTES} bytes`);
  if (!/-----BEGIN PUBLIC KEY-----/.test(text))
    throw bad(
      what,
      /PRIVATE KEY/.test(text)
        ? 'this is a private key: the trust policy takes the public one (NAME.pub)'
        : 'not a PEM public key (-----BEGIN PUBLIC KEY-----)',
    );
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch (e) {
    throw bad(what, `not a valid public key (${(e as Error).message})`);
  }
  let kind: PublicKey['kind'];
  const t = key.asymmetricKeyType;
  if (t === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const k = CURVES[curve];
    if (!k) throw bad(what, `ECDSA curve ${curve || '(unknown)'} is not supported (P-256, P-384, P-521 are)`);
    kind = k;
  } else if (t === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw bad(what, `RSA keys shorter than 2048 bits are refused (this one has ${bits})`);
    kind = 'rsa';
  } else if (t === 'ed25519') kind = 'ed25519';
  else throw bad(what, `key type ${t ?? '(unknown)'} is not supported (ECDSA, RSA, Ed25519 are)`);
  const der = key.export({ type: 'spki', format: 'der' });
  return { key, kind, id: `sha256:${createHash('sha256').update(der).digest('hex')}` };
}

/**
 * Does `sig` sign `data` under `k`? ECDSA signatures are ASN.1 DER over SHA-256 (cosign's choice
 * for every curve; SHA-384/512 are accepted for the larger curves, as sigstore-go signs them),
 * RSA is PKCS#1 v1.5 with SHA-256, Ed25519 signs the data itself. Never throws on bad input.
 */
export function verifyWith(k: PublicKey, data: Buffer, sig: Buffer): boolean {
  try {
    switch (k.kind) {
      case 'ed25519':
        return verify(null, data, k.key, sig);
      case 'rsa':
        return verify('sha256', data, k.key, sig);
      case 'ecdsa-p256':
        return verify('sha256', data, { key: k.key, dsaEncoding: 'der' }, sig);
      case 'ecdsa-p384':
        return ['sha256', 'sha384'].some((h) => verify(h, data, { key: k.key, dsaEncoding: 'der' }, sig));
      case 'ecdsa-p521':
        return ['sha256', 'sha512'].some((h) => verify(h, data, { key: k.key, dsaEncoding: 'der' }, sig));
    }
  } catch {
    return false;
  }
}

/** Strict base64 (standard alphabet, padding optional): malformed input is refused, not skipped. */
export function decodeBase64(s: string, what: string, max = 1 << 20): Buffer {
  const t = s.trim();
  if (t.length > ((max + 2) / 3) * 4 + 4)
    throw new TrustError('TRUST_SIGNATURE_INVALID', `${what}: too large`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t) || t.length % 4 === 1)
    throw new TrustError('TRUST_SIGNATURE_INVALID', `${what}: not valid base64`);
  return Buffer.from(t, 'base64');
}
