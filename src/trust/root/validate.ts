/**
 * A sigstore trusted root (`trusted_root.json`, the protobuf-specs `TrustedRoot` in its JSON form)
 * checked before anything trusts it. `@sigstore/verify` 3 reads a root leniently: a log key with
 * no `validFor.start` is valid since 1970, an unparsable certificate fails late and vaguely. moat
 * refuses such a root when it is read, naming the entry and the field.
 *
 * What is checked: a known media type; bounded counts; every log (tlogs, ctlogs) has a log ID, a
 * known key type whose bytes parse as that kind of key, and a validity period with a start (and an
 * end after it, if any); every certificate authority and timestamp authority has a non-empty chain
 * of certificates that parse, and a validity period with a start.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { TrustError } from '../errors.js';
import { decodeBase64 } from '../key/public-key.js';

export const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
];

/** Limits on what one root may hold (the public-good root has 2 tlogs, 2 ctlogs, 2 CAs, 1 TSA). */
export const ROOT_LIMITS = { entries: 64, chain: 10, certBytes: 64 * 1024, keyBytes: 16 * 1024 };

/** Key types a log may use (protobuf-specs `PublicKeyDetails` names) and how their bytes parse. */
const LOG_KEY_TYPES: Record<string, { format: 'spki' | 'pkcs1'; type: string; curve?: string }> = {
  PKIX_ECDSA_P256_SHA_256: { format: 'spki', type: 'ec', curve: 'prime256v1' },
  PKIX_ECDSA_P384_SHA_384: { format: 'spki', type: 'ec', curve: 'secp384r1' },
  PKIX_ECDSA_P521_SHA_512: { format: 'spki', type: 'ec', curve: 'secp521r1' },
  PKIX_ED25519: { format: 'spki', type: 'ed25519' },
  PKIX_RSA_PKCS1V15_2048_SHA256: { format: 'spki', type: 'rsa' },
  PKIX_RSA_PKCS1V15_3072_SHA256: { format: 'spki', type: 'rsa' },
  PKIX_RSA_PKCS1V15_4096_SHA256: { format: 'spki', type: 'rsa' },
  PKIX_RSA_PKCS1V5: { format: 'spki', type: 'rsa' },
  PKCS1_RSA_PKCS1V5: { format: 'pkcs1', type: 'rsa' },
};

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 3339 as protobuf JSON writes timestamps (`Z` or an offset, optional fraction). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

export class RootChecker {
  constructor(private readonly what: string) {}

  policy(where: string, why: string): TrustError {
    return new TrustError('TRUST_POLICY_INVALID', `trusted root ${this.what}: ${where}: ${why}`, {
      details: { file: this.what, where },
    });
  }

  key(where: string, why: string): TrustError {
    return new TrustError('TRUST_KEY_INVALID', `trusted root ${this.what}: ${where}: ${why}`, {
      details: { file: this.what, where },
    });
  }

  bytes(v: unknown, where: string, max: number): Buffer {
    if (typeof v !== 'string' || v === '') throw this.policy(where, 'missing or not a base64 string');
    try {
      return decodeBase64(v, where, max);
    } catch {
      throw this.key(where, 'not valid base64 (or too large)');
    }
  }

  /** A validity period: `start` required, `end` optional and not before it. */
  validity(v: unknown, where: string): { start: Date; end?: Date } {
    if (!isObject(v))
      throw this.policy(where, 'has no validFor (a validity period with a start is required)');
    const date = (s: unknown, field: string): Date => {
      if (typeof s !== 'string' || !RFC3339.test(s) || Number.isNaN(Date.parse(s)))
        throw this.policy(`${where}.${field}`, 'not an RFC 3339 time');
      return new Date(s);
    };
    // protobuf JSON writes an unset field as absent or null: an unset end is open, an unset start refused.
    if (v.start === undefined || v.start === null)
      throw this.policy(where, 'validFor has no start (an open start is refused, not read as 1970)');
    const start = date(v.start, 'start');
    if (v.end === undefined || v.end === null) return { start };
    const end = date(v.end, 'end');
    if (end.getTime() < start.getTime()) throw this.policy(where, 'validFor ends before it starts');
    return { start, end };
  }

  list(v: unknown, where: string, required: boolean): Obj[] {
    if (v === undefined && !required) return [];
    if (!Array.isArray(v)) throw this.policy(where, 'not a list');
    if (v.length > ROOT_LIMITS.entries) throw this.policy(where, `more than ${ROOT_LIMITS.entries} entries`);
    return v.map((e, i) => {
      if (!isObject(e)) throw this.policy(`${where}[${i}]`, 'not an object');
      return e;
    });
  }

  log(t: Obj, where: string): void {
    if (!isObject(t.logId)) throw this.policy(where, 'has no logId');
    if (this.bytes(t.logId.keyId, `${where}.logId.keyId`, 64).length === 0)
      throw this.policy(where, 'has an empty logId');
    const pk = t.publicKey;
    if (!isObject(pk)) throw this.policy(where, 'has no publicKey');
    const details = pk.keyDetails;
    const kind = typeof details === 'string' ? LOG_KEY_TYPES[details] : undefined;
    if (!kind)
      throw this.key(
        `${where}.publicKey.keyDetails`,
        `key type ${JSON.stringify(details)} is not supported (${Object.keys(LOG_KEY_TYPES).join(', ')})`,
      );
    const raw = this.bytes(pk.rawBytes, `${where}.publicKey.rawBytes`, ROOT_LIMITS.keyBytes);
    let key;
    try {
      key = createPublicKey({ key: raw, format: 'der', type: kind.format });
    } catch (e) {
      throw this.key(
        `${where}.publicKey.rawBytes`,
        `not a valid ${details as string} key (${(e as Error).message})`,
      );
    }
    if (
      key.asymmetricKeyType !== kind.type ||
      (kind.curve && key.asymmetricKeyDetails?.namedCurve !== kind.curve)
    )
      throw this.key(`${where}.publicKey`, `the key is not of its declared type ${details as string}`);
    this.validity(pk.validFor, `${where}.publicKey.validFor`);
  }

  authority(c: Obj, where: string): void {
    const chain = isObject(c.certChain) ? c.certChain.certificates : undefined;
    if (!Array.isArray(chain) || chain.length === 0)
      throw this.policy(where, 'has no certChain.certificates');
    if (chain.length > ROOT_LIMITS.chain)
      throw this.policy(where, `a chain of more than ${ROOT_LIMITS.chain} certificates`);
    chain.forEach((cert: unknown, i) => {
      const at = `${where}.certChain.certificates[${i}]`;
      const raw = this.bytes(
        isObject(cert) ? cert.rawBytes : undefined,
        `${at}.rawBytes`,
        ROOT_LIMITS.certBytes,
      );
      try {
        new X509Certificate(raw);
      } catch (e) {
        throw this.key(at, `not a valid DER certificate (${(e as Error).message})`);
      }
    });
    this.validity(c.validFor, `${where}.validFor`);
  }
}

/** Checks a parsed `trusted_root.json`; throws a TrustError naming the first problem. */
export function validateTrustedRoot(v: unknown, what: string): void {
  const c = new RootChecker(what);
  if (!isObject(v)) throw c.policy('(the file)', 'not a JSON object');
  if (typeof v.mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.includes(v.mediaType))
    throw c.policy('mediaType', `${JSON.stringify(v.mediaType)} is not a trusted root media type`);
  c.list(v.tlogs, 'tlogs', true).forEach((t, i) => c.log(t, `tlogs[${i}]`));
  c.list(v.ctlogs, 'ctlogs', false).forEach((t, i) => c.log(t, `ctlogs[${i}]`));
  c.list(v.certificateAuthorities, 'certificateAuthorities', false).forEach((a, i) =>
    c.authority(a, `certificateAuthorities[${i}]`),
  );
  c.list(v.timestampAuthorities, 'timestampAuthorities', false).forEach((a, i) =>
    c.authority(a, `timestampAuthorities[${i}]`),
  );
}
