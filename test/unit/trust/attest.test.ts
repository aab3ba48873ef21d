/**
 * Attestations and bundle signatures made offline with a key (issue 13): PAE, DSSE envelopes
 * parsed strictly and bounded, cosign `.att` layers verified like bundles, in-toto subjects that
 * name another image, attestations that do not verify (never in the result), predicates over
 * their cap, and `moat sign --bundle`'s key bundle with no log entry (accepted only when the
 * requirement names no Rekor key).
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseEnvelope, pae, MAX_ENVELOPE_SIGNATURES } from '../../../src/trust/attest/envelope.js';
import { attLayerToBundles } from '../../../src/trust/attest/layers.js';
import { bundleRole } from '../../../src/trust/attest/role.js';
import { makeStatement, predicateTypeOf, signatureStatement } from '../../../src/trust/attest/statement.js';
import { MAX_PREDICATE_BYTES, verifyAttestations } from '../../../src/trust/attest/verify.js';
import type { SignatureLayer } from '../../../src/trust/cosign/verify.js';
import { parsePublicKey } from '../../../src/trust/key/public-key.js';
import { parsePolicy } from '../../../src/trust/policy/index.js';
import { publicGoodRoot } from '../../../src/trust/root/index.js';
import { signBundle, signEnvelope } from '../../../src/trust/sign/dsse.js';
import type { SigningKey } from '../../../src/trust/sign/keys.js';
import { evaluateTrust } from '../../../src/trust/verify.js';

const pair = () => {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = k.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  return { key: k.privateKey, pub: parsePublicKey(pem, 'test key'), pem } as SigningKey & { pem: string };
};
const ci = pair();
const other = pair();
const digest = `sha256:${'a'.repeat(64)}`;
const ref = 'registry.example.com/team/app:1';
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const provenance = (builder: string) => ({
  buildDefinition: { buildType: 'https://example.com/build/v1' },
  runDetails: { builder: { id: builder } },
});
const attLayer = (envelope: Buffer, annotations: Record<string, string> = {}): SignatureLayer => ({
  digest: sha(envelope),
  payload: envelope,
  annotations: { 'dev.cosignproject.cosign/signature': '', ...annotations },
});
const keyVerifier = (k = ci) => ({
  signer: { kind: 'key' as const, keys: [k.pub], requireTlog: false },
  root: publicGoodRoot(),
  useSet: false,
});
const policyFor = (scopes: Record<string, unknown>) =>
  parsePolicy(JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: scopes } }), '/p.json');
const keyPolicy = (extra: Record<string, unknown> = {}) =>
  policyFor({
    'registry.example.com/team': [
      { type: 'sigstoreSigned', keyData: Buffer.from(ci.pem).toString('base64'), ...extra },
    ],
  });

describe('DSSE', () => {
  it('PAE is the DSSE v1 pre-authentication encoding (the spec example)', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
    // lengths count bytes, not characters
    expect(pae('t', Buffer.from('é')).toString()).toBe('DSSEv1 1 t 2 é');
  });

  it('parses envelopes strictly and bounded', () => {
    const good = signEnvelope(ci, makeStatement('r', digest, 'https://x.example/p', {}));
    const e = parseEnvelope(good);
    expect(e.payloadType).toBe('application/vnd.in-toto+json');
    expect(e.signatures).toHaveLength(1);
    const obj = JSON.parse(good.toString());
    const bad: [unknown, RegExp][] = [
      ['not json', /not valid JSON/],
      [[], /not a JSON object/],
      [{ ...obj, payloadType: undefined }, /no payloadType/],
      [{ ...obj, payload: '!!!' }, /not valid base64/],
      [{ ...obj, signatures: [] }, /no signatures/],
      [{ ...obj, signatures: [{ sig: '%%' }] }, /signature 1 is not valid base64/],
      [{ ...obj, signatures: [{ keyid: 3, sig: 'AA==' }] }, /keyid/],
      [
        { ...obj, signatures: Array.from({ length: MAX_ENVELOPE_SIGNATURES + 1 }, () => obj.signatures[0]) },
        /moat reads at most/,
      ],
    ];
    for (const [v, re] of bad)
      expect(() => parseEnvelope(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)))).toThrow(re);
    expect(() => parseEnvelope(Buffer.alloc((4 << 20) + 1, 32))).toThrow(/larger than/);
  });

  it('knows signatures from attestations among bundles', () => {
    expect(bundleRole(signBundle(ci, signatureStatement('r', digest)))).toBe('signature');
    const prov = makeStatement('r', digest, 'https://slsa.dev/provenance/v1', provenance('b'));
    expect(bundleRole(signBundle(ci, prov))).toBe('attestation');
    expect(bundleRole(Buffer.from('{'))).toBe('signature');
    expect(predicateTypeOf('slsaprovenance')).toBe('https://slsa.dev/provenance/v0.2');
    expect(predicateTypeOf('slsaprovenance1')).toBe('https://slsa.dev/provenance/v1');
    expect(predicateTypeOf('https://example.com/p/v1')).toBe('https://example.com/p/v1');
    expect(() => predicateTypeOf('nonsense')).toThrow(/unknown attestation type/);
  });
});

describe('attestations verified like signatures', () => {
  const stmt = makeStatement(
    'registry.example.com/team/app',
    digest,
    'https://slsa.dev/provenance/v1',
    provenance('https://ci.example/b'),
  );

  it('a .att layer signed by the trusted key is kept with its predicate and signer', () => {
    const r = verifyAttestations({ bundles: [], layers: [attLayer(signEnvelope(ci, stmt))] }, digest, [
      keyVerifier(),
    ]);
    expect(r.checked[0]).toMatchObject({ ok: true, source: 'att' });
    expect(r.attestations).toEqual([
      {
        predicate_type: 'https://slsa.dev/provenance/v1',
        predicate: provenance('https://ci.example/b'),
        signer: { kind: 'key', key_id: ci.pub.id },
        source: 'att',
      },
    ]);
  });

  it('drops attestations by another key, tampered ones, ones about another image, and malformed ones', () => {
    const tampered = JSON.parse(signEnvelope(ci, stmt).toString());
    tampered.payload = Buffer.from(
      stmt.toString().replace('https://ci.example/b', 'https://evil.example/b'),
    ).toString('base64');
    const forOther = signEnvelope(
      ci,
      makeStatement('r', `sha256:${'b'.repeat(64)}`, 'https://slsa.dev/provenance/v1', {}),
    );
    const layers = [
      attLayer(signEnvelope(other, stmt)),
      attLayer(Buffer.from(JSON.stringify(tampered))),
      attLayer(forOther),
      attLayer(Buffer.from('{"payloadType":1}')),
    ];
    const r = verifyAttestations({ bundles: [], layers }, digest, [keyVerifier()]);
    expect(r.attestations).toEqual([]);
    // (one trusted key is the key, whatever the hint: another key's signature does not verify)
    expect(r.checked.map((c) => c.ok)).toEqual([false, false, false, false]);
    expect(r.checked.map((c) => c.code)).toEqual(Array(4).fill('TRUST_SIGNATURE_INVALID'));
    expect(r.checked[0].reason).toMatch(/signature verification failed/);
    expect(r.checked[2].reason).toMatch(/another artifact/);
    // no requirement names a signer: nothing is accepted, however well signed
    const none = verifyAttestations({ bundles: [], layers: [attLayer(signEnvelope(ci, stmt))] }, digest, []);
    expect(none.attestations).toEqual([]);
  });

  it('caps the predicate handed on', () => {
    const big = makeStatement('r', digest, 'https://spdx.dev/Document', {
      blob: 'x'.repeat(MAX_PREDICATE_BYTES),
    });
    const r = verifyAttestations({ bundles: [signBundle(ci, big)], layers: [] }, digest, [keyVerifier()]);
    expect(r.attestations[0]).toMatchObject({ predicate_type: 'https://spdx.dev/Document', predicate: null });
    expect(r.attestations[0].note).toMatch(/larger than 262144 bytes: dropped/);
  });

  it('a key-signed .att layer with a SET annotation is read without it when the log is not consulted', () => {
    const l = attLayer(signEnvelope(ci, stmt), { 'dev.sigstore.cosign/bundle': '{"not":"a set"}' });
    expect(() => attLayerToBundles(l, true)).toThrow(/SignedEntryTimestamp/);
    expect(attLayerToBundles(l, false)).toHaveLength(1);
  });
});

describe('evaluateTrust with attestations and key bundles', () => {
  const prov = makeStatement(
    'registry.example.com/team/app',
    digest,
    'https://slsa.dev/provenance/v1',
    provenance('https://ci.example/b'),
  );

  it('accepts a key bundle without a log entry when the requirement names no Rekor key, and hands on verified attestations only', async () => {
    const r = await evaluateTrust(keyPolicy(), ref, digest, {
      cosignSignatures: async () => [],
      bundles: async () => [signBundle(ci, signatureStatement('registry.example.com/team/app', digest))],
      attestations: async () => ({
        bundles: [signBundle(other, prov)],
        layers: [attLayer(signEnvelope(ci, prov))],
      }),
    });
    expect(r.error).toBeUndefined();
    expect(r.signatures).toEqual([expect.objectContaining({ kind: 'bundle', key_id: ci.pub.id })]);
    expect(r.attestations).toHaveLength(1);
    expect(r.attestations[0]).toMatchObject({ source: 'att', signer: { key_id: ci.pub.id } });
    expect(r.checkedAttestations?.map((c) => c.ok)).toEqual([true, false]);
  });

  it('refuses the same bundle when the requirement names a Rekor key (a log entry is required)', async () => {
    const rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const r = await evaluateTrust(
      keyPolicy({ rekorPublicKeyData: Buffer.from(rekor as string).toString('base64') }),
      ref,
      digest,
      {
        cosignSignatures: async () => [],
        bundles: async () => [signBundle(ci, signatureStatement('r', digest))],
      },
    );
    expect(r.accepted).toBe(false);
    expect(r.error?.message).toMatch(/tlog|timestamp/i);
  });

  it('a bundle signed by another key, or for another digest, is not a signature', async () => {
    for (const b of [
      signBundle(other, signatureStatement('r', digest)),
      signBundle(ci, signatureStatement('r', `sha256:${'c'.repeat(64)}`)),
    ]) {
      const r = await evaluateTrust(keyPolicy(), ref, digest, {
        cosignSignatures: async () => [],
        bundles: async () => [b],
      });
      expect(r.accepted).toBe(false);
      expect(['TRUST_UNTRUSTED_SIGNER', 'TRUST_SIGNATURE_INVALID']).toContain(r.error?.code);
    }
  });

  it('a scope that asks for no signature hands on no attestation', async () => {
    const p = policyFor({ 'registry.example.com/team': [{ type: 'insecureAcceptAnything' }] });
    const r = await evaluateTrust(p, ref, digest, {
      cosignSignatures: async () => [],
      attestations: async () => ({ bundles: [], layers: [attLayer(signEnvelope(ci, prov))] }),
    });
    expect(r.accepted).toBe(true);
    expect(r.attestations).toEqual([]);
  });

  it('an openssl-style raw signature over PAE verifies as a .att layer (independent of signEnvelope)', () => {
    const payloadType = 'application/vnd.in-toto+json';
    const sig = sign(
      'sha256',
      Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${prov.length} `), prov]),
      ci.key,
    );
    const env = Buffer.from(
      JSON.stringify({
        payloadType,
        payload: prov.toString('base64'),
        signatures: [{ keyid: '', sig: sig.toString('base64') }],
      }),
    );
    const r = verifyAttestations({ bundles: [], layers: [attLayer(env)] }, digest, [keyVerifier()]);
    expect(r.attestations).toHaveLength(1);
  });
});
