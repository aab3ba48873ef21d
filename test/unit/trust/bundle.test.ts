import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, MessageSignatureBundleBuilder, type Signer } from '@sigstore/sign';
import { afterAll, describe, expect, it } from 'vitest';
import {
  verifyBundleForBlob,
  verifyBundleForImage,
  type SignerRequirement,
} from '../../../src/trust/bundle/index.js';
import { parsePublicKey } from '../../../src/trust/key/public-key.js';
import { fromJson } from '../../../src/trust/root/index.js';
import { evaluateTrust } from '../../../src/trust/verify.js';
import { parsePolicy } from '../../../src/trust/policy/index.js';
import { EMAIL, ISSUER, Pki, type Leaf } from './helpers/pki.js';

const pki = new Pki();
afterAll(() => pki.close());
const root = fromJson(pki.trustedRoot(), 'test root');
const identity: SignerRequirement = { kind: 'identity', identity: { subject: EMAIL, issuer: ISSUER } };

const certSigner = (leaf: Leaf): Signer => ({
  sign: async (data) => ({
    signature: sign('sha256', data, leaf.key),
    key: { $case: 'x509Certificate', certificate: leaf.certPem },
  }),
});
const keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keySigner: Signer = {
  sign: async (data) => ({
    signature: sign('sha256', data, keyPair.privateKey),
    key: {
      $case: 'publicKey',
      publicKey: keyPair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      hint: 'k1',
    },
  }),
};
const pubKey = parsePublicKey(keyPair.publicKey.export({ type: 'spki', format: 'pem' }), 'key');

/** @sigstore/sign builds v0.3 bundles; with only an inclusion promise (no proof) they are v0.1 ones. */
const asV01 = (b: object) =>
  Buffer.from(
    JSON.stringify({
      ...bundleToJSON(b as never),
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    }),
  );

async function messageBundle(data: Buffer, signer: Signer, integratedTime?: number) {
  const b = await new MessageSignatureBundleBuilder({
    signer,
    witnesses: [pki.witness({ integratedTime })],
  }).create({ data });
  return asV01(b);
}

const statement = (sha: string) =>
  Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'registry.example.com/team/app', digest: { sha256: sha } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: { buildDefinition: { buildType: 'test' } },
    }),
  );

async function dsseBundle(stmt: Buffer, signer: Signer) {
  const b = await new DSSEBundleBuilder({
    signer,
    witnesses: [pki.witness()],
    certificateChain: true,
  }).create({
    data: stmt,
    type: 'application/vnd.in-toto+json',
  });
  return asV01(b);
}

describe('sigstore bundles made by @sigstore/sign', () => {
  const leaf = pki.leaf();
  const blob = Buffer.from('hello, moat\n');
  const blobDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;

  it('verifies a keyless message-signature bundle for a blob, by bytes and by digest', async () => {
    const b = await messageBundle(blob, certSigner(leaf));
    for (const subject of [blob, blobDigest]) {
      const r = verifyBundleForBlob(b, subject, identity, root);
      expect(r.reason).toBeUndefined();
      expect(r).toMatchObject({ ok: true, kind: 'bundle', subject: EMAIL, issuer: ISSUER });
      expect(r.tlog?.log_id).toBe(pki.rekorLogId);
    }
  });

  it('verifies a key-signed bundle with --key semantics, and refuses another key', async () => {
    const b = await messageBundle(blob, keySigner);
    expect(verifyBundleForBlob(b, blob, { kind: 'key', keys: [pubKey] }, root)).toMatchObject({
      ok: true,
      keyId: pubKey.id,
    });
    const other = parsePublicKey(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
      'k',
    );
    expect(verifyBundleForBlob(b, blob, { kind: 'key', keys: [other] }, root)).toMatchObject({
      ok: false,
      code: 'TRUST_SIGNATURE_INVALID',
    });
    // A key-signed bundle does not satisfy an identity requirement, nor a certificate one a key requirement.
    expect(verifyBundleForBlob(b, blob, identity, root)).toMatchObject({
      ok: false,
      code: 'TRUST_UNTRUSTED_SIGNER',
    });
    const kb = await messageBundle(blob, certSigner(leaf));
    expect(verifyBundleForBlob(kb, blob, { kind: 'key', keys: [pubKey] }, root)).toMatchObject({
      ok: false,
      code: 'TRUST_UNTRUSTED_SIGNER',
    });
  });

  it('refuses another blob, an identity that only contains the allowed one, another issuer', async () => {
    const b = await messageBundle(blob, certSigner(leaf));
    expect(verifyBundleForBlob(b, Buffer.from('other'), identity, root).ok).toBe(false);
    for (const id of [
      { subject: 'alice@example.co', issuer: ISSUER },
      { subject: 'lice@example.com', issuer: ISSUER },
      { subject: '.*', issuer: ISSUER },
      { subject: EMAIL, issuer: 'https://issuer.example' },
    ]) {
      const r = verifyBundleForBlob(b, blob, { kind: 'identity', identity: id }, root);
      expect(r).toMatchObject({ ok: false, code: 'TRUST_UNTRUSTED_SIGNER' });
    }
    const contains = await messageBundle(blob, certSigner(pki.leaf({ email: 'evil-alice@example.com' })));
    expect(verifyBundleForBlob(contains, blob, identity, root)).toMatchObject({
      ok: false,
      code: 'TRUST_UNTRUSTED_SIGNER',
    });
  });

  it('refuses an untrusted chain, an expired certificate, and a log the root does not name', async () => {
    const untrusted = await messageBundle(blob, certSigner(pki.leaf({ ca: 'other' })));
    expect(verifyBundleForBlob(untrusted, blob, identity, root)).toMatchObject({
      ok: false,
      code: 'TRUST_UNTRUSTED_SIGNER',
    });
    const expired = await messageBundle(blob, certSigner(leaf), leaf.notAfter + 60);
    expect(verifyBundleForBlob(expired, blob, identity, root)).toMatchObject({
      ok: false,
      code: 'TRUST_UNTRUSTED_SIGNER',
    });
    const otherLog = new Pki();
    try {
      const rootWithOtherLog = fromJson(
        {
          ...otherLog.trustedRoot(),
          certificateAuthorities: (pki.trustedRoot() as { certificateAuthorities: unknown[] })
            .certificateAuthorities,
        },
        'r',
      );
      const b = await messageBundle(blob, certSigner(leaf));
      expect(verifyBundleForBlob(b, blob, identity, rootWithOtherLog)).toMatchObject({
        ok: false,
        code: 'TRUST_SIGNATURE_INVALID',
      });
    } finally {
      otherLog.close();
    }
  });

  it('binds an image through the in-toto subject of a DSSE bundle', async () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const b = await dsseBundle(statement('d'.repeat(64)), certSigner(leaf));
    const r = verifyBundleForImage(b, digest, identity, root);
    expect(r.reason).toBeUndefined();
    expect(r).toMatchObject({ ok: true, predicateType: 'https://slsa.dev/provenance/v1' });
    const other = verifyBundleForImage(b, `sha256:${'e'.repeat(64)}`, identity, root);
    expect(other).toMatchObject({ ok: false, code: 'TRUST_SIGNATURE_INVALID' });
    expect(other.reason).toMatch(/another artifact/);
  });

  it('refuses malformed JSON, unknown media types, bad base64 and truncated DER', async () => {
    const good = JSON.parse((await messageBundle(blob, certSigner(leaf))).toString());
    const cert = good.verificationMaterial.x509CertificateChain.certificates[0].rawBytes as string;
    const variants: unknown[] = [
      '{"mediaType": ',
      { ...good, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=9.9' },
      { ...good, messageSignature: { ...good.messageSignature, signature: '%%%' } },
      {
        ...good,
        verificationMaterial: {
          ...good.verificationMaterial,
          x509CertificateChain: { certificates: [{ rawBytes: cert.slice(0, 40) }] },
        },
      },
      [],
    ];
    for (const v of variants) {
      const r = verifyBundleForBlob(typeof v === 'string' ? v : JSON.stringify(v), blob, identity, root);
      expect(r.ok).toBe(false);
      expect(r.code).toBe('TRUST_SIGNATURE_INVALID');
    }
  });

  it('counts bundles from SignatureSource.bundles() in the trust decision', async () => {
    const digest = `sha256:${'d'.repeat(64)}`;
    const b = await dsseBundle(statement('d'.repeat(64)), certSigner(leaf));
    const rootFile = `${pki.dir}/trusted_root.json`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(rootFile, JSON.stringify(pki.trustedRoot()));
    const p = parsePolicy(
      JSON.stringify({
        default: [
          {
            type: 'sigstoreSigned',
            fulcio: { oidcIssuer: ISSUER, subjectEmail: EMAIL },
            trustedRoot: rootFile,
          },
        ],
      }),
      '/p/policy.json',
    );
    const r = await evaluateTrust(p, 'registry.example.com/team/app:1', digest, {
      cosignSignatures: async () => [],
      bundles: async () => [b],
    });
    expect(r.error).toBeUndefined();
    expect(r.signatures).toEqual([
      expect.objectContaining({ kind: 'bundle', subject: EMAIL, issuer: ISSUER }),
    ]);
    const wrong = await evaluateTrust(p, 'registry.example.com/team/app:1', `sha256:${'0'.repeat(64)}`, {
      cosignSignatures: async () => [],
      bundles: async () => [b],
    });
    expect(wrong.accepted).toBe(false);
    const none = await evaluateTrust(p, 'registry.example.com/team/app:1', digest, {
      cosignSignatures: async () => [],
    });
    expect(none.error?.code).toBe('TRUST_UNSIGNED');
  });
});
