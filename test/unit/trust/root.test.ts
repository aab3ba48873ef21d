import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPrehashed } from '../../../src/trust/key/prehashed.js';
import { parsePublicKey } from '../../../src/trust/key/public-key.js';
import {
  fromJson,
  loadTrustedRoot,
  parsePemCertificates,
  parseTrustedRoot,
  publicGoodRoot,
  rootFromPolicy,
  rootFromSeeds,
} from '../../../src/trust/root/index.js';
import { Pki } from './helpers/pki.js';

const pki = new Pki();
afterAll(() => pki.close());
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};
type Root = {
  mediaType: string;
  tlogs: { publicKey: Record<string, unknown> }[];
  certificateAuthorities: unknown[];
};

describe('trusted roots', () => {
  it('reads the public-good root offline from @sigstore/tuf seeds.json', () => {
    const r = publicGoodRoot();
    expect(r.source).toBe('public-good');
    expect(r.root.tlogs.some((t) => t.baseUrl === 'https://rekor.sigstore.dev')).toBe(true);
    expect(r.root.certificateAuthorities.length).toBeGreaterThan(0);
    expect(() => rootFromSeeds('{}')).toThrow(/no trusted_root.json/);
  });

  it('reads a trusted_root.json file made by the test', () => {
    const dir = mkdtempSync(join(tmpdir(), 'moat-root-'));
    const f = join(dir, 'trusted_root.json');
    writeFileSync(f, JSON.stringify(pki.trustedRoot()));
    expect(loadTrustedRoot(f).root.tlogs).toHaveLength(1);
    expect(codeOf(() => loadTrustedRoot(join(dir, 'missing.json')))).toBe('TRUST_POLICY_INVALID');
    writeFileSync(f, Buffer.alloc(2 << 20, 0x20));
    expect(codeOf(() => loadTrustedRoot(f))).toBe('TRUST_POLICY_INVALID');
  });

  it('refuses a log key with no validity start (read as 1970 by @sigstore/verify 3)', () => {
    expect(() => fromJson(pki.trustedRoot({ logStart: null }), 'r')).toThrow(/validFor has no start/);
    const r = pki.trustedRoot() as unknown as Root;
    r.tlogs[0].publicKey.validFor = { start: null };
    expect(codeOf(() => fromJson(r, 'r'))).toBe('TRUST_POLICY_INVALID');
  });

  it('refuses malformed roots with the entry and field named', () => {
    const mutate = (f: (r: Root) => void) => {
      const r = structuredClone(pki.trustedRoot()) as unknown as Root;
      f(r);
      try {
        fromJson(r, 'r');
      } catch (e) {
        return { code: (e as { code: string }).code, message: (e as Error).message };
      }
      return undefined;
    };
    expect(mutate((r) => (r.mediaType = 'application/json'))?.code).toBe('TRUST_POLICY_INVALID');
    expect(
      mutate(
        (r) =>
          (r.tlogs[0].publicKey.validFor = { start: '2020-01-02T00:00:00Z', end: '2020-01-01T00:00:00Z' }),
      )?.message,
    ).toMatch(/ends before/);
    expect(mutate((r) => (r.tlogs[0].publicKey.validFor = { start: 'yesterday' }))?.message).toMatch(
      /RFC 3339/,
    );
    expect(mutate((r) => (r.tlogs[0].publicKey.rawBytes = '!!!'))?.code).toBe('TRUST_KEY_INVALID');
    expect(
      mutate((r) => (r.tlogs[0].publicKey.rawBytes = Buffer.from('not a key').toString('base64')))?.code,
    ).toBe('TRUST_KEY_INVALID');
    expect(mutate((r) => (r.tlogs[0].publicKey.keyDetails = 'PKIX_ED25519'))?.message).toMatch(
      /declared type/,
    );
    expect(mutate((r) => (r.tlogs[0].publicKey.keyDetails = 'LMS_SHA256'))?.code).toBe('TRUST_KEY_INVALID');
    expect(
      mutate(
        (r) =>
          (r.certificateAuthorities = [
            {
              certChain: { certificates: [{ rawBytes: 'MIIB' }] },
              validFor: { start: '2020-01-01T00:00:00Z' },
            },
          ]),
      )?.code,
    ).toBe('TRUST_KEY_INVALID');
    expect(
      mutate((r) => (r.certificateAuthorities = [{ certChain: { certificates: [] } }]))?.message,
    ).toMatch(/certChain/);
    expect(mutate((r) => (r.tlogs = Array(65).fill(r.tlogs[0])))?.message).toMatch(/more than 64/);
    expect(codeOf(() => parseTrustedRoot('{"mediaType":', 'r'))).toBe('TRUST_POLICY_INVALID');
  });

  it('builds a root from a policy CA file and Rekor keys, the rest from a fallback', () => {
    const cas = parsePemCertificates(pki.caPem, 'ca');
    const rekor = parsePublicKey(pki.rekorPem, 'rekor');
    const r = rootFromPolicy({ cas, rekorKeys: [rekor] });
    expect(r.root.tlogs[0].logId?.keyId.toString('hex')).toBe(pki.rekorLogId);
    expect(r.root.ctlogs).toHaveLength(0);
    const mixed = rootFromPolicy({ cas, fallback: publicGoodRoot() });
    expect(mixed.root.tlogs.length).toBe(publicGoodRoot().root.tlogs.length);
    expect(mixed.root.certificateAuthorities).toHaveLength(1);
    expect(codeOf(() => parsePemCertificates('no pem here', 'ca'))).toBe('TRUST_KEY_INVALID');
    expect(
      codeOf(() =>
        parsePemCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'ca'),
      ),
    ).toBe('TRUST_KEY_INVALID');
  });
});

describe('pre-hashed verification (a digest without the bytes)', () => {
  it('agrees with node:crypto for ECDSA P-256/P-384 and RSA, and refuses a wrong digest or signature', () => {
    for (const [type, opts] of [
      ['ec', { namedCurve: 'P-256' }],
      ['ec', { namedCurve: 'P-384' }],
      ['rsa', { modulusLength: 2048 }],
    ] as const) {
      const { publicKey, privateKey } = generateKeyPairSync(type as 'ec', opts as { namedCurve: string });
      const k = parsePublicKey(publicKey.export({ type: 'spki', format: 'pem' }), 'k');
      const data = readFileSync(new URL(import.meta.url));
      const digest = createHash('sha256').update(data).digest();
      const sig = sign('sha256', data, privateKey);
      expect(verifyPrehashed(k, digest, sig)).toBe(true);
      const d2 = Buffer.from(digest);
      d2[5] ^= 1;
      expect(verifyPrehashed(k, d2, sig)).toBe(false);
      const s2 = Buffer.from(sig);
      s2[s2.length - 3] ^= 1;
      expect(verifyPrehashed(k, digest, s2)).toBe(false);
      expect(verifyPrehashed(k, digest, Buffer.from('3000', 'hex'))).toBe(false);
    }
  });
});
