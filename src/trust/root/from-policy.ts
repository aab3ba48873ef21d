/**
 * A trusted root built from what a containers-policy.json `sigstoreSigned` requirement names:
 * `fulcio.caPath`/`caData` (PEM CA certificates) and `rekorPublicKey*` (PEM keys). It takes the
 * same JSON form as a `trusted_root.json` and the same checks, so there is one verification path.
 *
 * Bare keys carry no validity period: they are trusted from the epoch on (stated, not implied).
 * The CA's validity is its certificates' (the chain check also holds each certificate to its own
 * dates). No CT logs: a private CA's certificates carry no SCTs moat could check.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { TrustError } from '../errors.js';
import type { PublicKey } from '../key/public-key.js';
import { fromJson, type TrustRoot } from './load.js';
import { ROOT_LIMITS } from './validate.js';

const KEY_DETAILS: Record<PublicKey['kind'], string> = {
  'ecdsa-p256': 'PKIX_ECDSA_P256_SHA_256',
  'ecdsa-p384': 'PKIX_ECDSA_P384_SHA_384',
  'ecdsa-p521': 'PKIX_ECDSA_P521_SHA_512',
  rsa: 'PKIX_RSA_PKCS1V15_2048_SHA256',
  ed25519: 'PKIX_ED25519',
};

const EPOCH = new Date(0).toISOString();
const PEM_CERT = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text (at least one; anything else between them is ignored). */
export function parsePemCertificates(pem: string | Buffer, what: string): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  if (text.length > ROOT_LIMITS.chain * ROOT_LIMITS.certBytes * 2)
    throw new TrustError('TRUST_KEY_INVALID', `${what}: too large for a CA certificate file`);
  const certs: X509Certificate[] = [];
  for (const m of text.matchAll(PEM_CERT)) {
    if (certs.length >= ROOT_LIMITS.chain)
      throw new TrustError('TRUST_KEY_INVALID', `${what}: more than ${ROOT_LIMITS.chain} certificates`);
    const b64 = m[1].replace(/\r?\n/g, '');
    try {
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error('not valid base64');
      certs.push(new X509Certificate(Buffer.from(b64, 'base64')));
    } catch (e) {
      throw new TrustError(
        'TRUST_KEY_INVALID',
        `${what}: certificate ${certs.length + 1} is not a valid certificate (${(e as Error).message})`,
      );
    }
  }
  if (certs.length === 0)
    throw new TrustError('TRUST_KEY_INVALID', `${what}: no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return certs;
}

/** The trusted-root JSON entry for a Rekor (or CT) log key. */
export function logEntry(k: PublicKey, baseUrl: string): Record<string, unknown> {
  const der = k.key.export({ type: 'spki', format: 'der' });
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: der.toString('base64'),
      keyDetails: KEY_DETAILS[k.kind],
      validFor: { start: EPOCH },
    },
    logId: { keyId: createHash('sha256').update(der).digest('base64') },
  };
}

export interface PolicyRootParts {
  /** The Fulcio CA certificates (roots and intermediates), if the policy names them. */
  cas?: X509Certificate[];
  /** The Rekor keys, if the policy names them. */
  rekorKeys?: PublicKey[];
  /** Where the parts the policy leaves out come from (the public-good root for keyless). */
  fallback?: TrustRoot;
}

/** Builds the root a policy describes; the parts it leaves out are taken from `fallback`. */
export function rootFromPolicy(parts: PolicyRootParts, what = 'policy'): TrustRoot {
  const fb = parts.fallback?.json;
  const time = (d: string) => new Date(d).toISOString();
  const cas = parts.cas
    ? [
        {
          subject: {},
          uri: what,
          certChain: { certificates: parts.cas.map((c) => ({ rawBytes: c.raw.toString('base64') })) },
          validFor: {
            start: time(parts.cas.map((c) => c.validFrom).sort((a, b) => Date.parse(a) - Date.parse(b))[0]),
            end: time(parts.cas.map((c) => c.validTo).sort((a, b) => Date.parse(b) - Date.parse(a))[0]),
          },
        },
      ]
    : undefined;
  const json = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: parts.rekorKeys ? parts.rekorKeys.map((k) => logEntry(k, what)) : (fb?.tlogs ?? []),
    ctlogs: parts.cas ? [] : (fb?.ctlogs ?? []),
    certificateAuthorities: cas ?? fb?.certificateAuthorities ?? [],
    timestampAuthorities: parts.cas ? [] : (fb?.timestampAuthorities ?? []),
  };
  return fromJson(json, what);
}
