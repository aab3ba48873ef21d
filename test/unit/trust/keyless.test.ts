import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { makePayload } from '../../../src/trust/cosign/payload.js';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_SIGNATURE,
} from '../../../src/trust/cosign/verify.js';
import type { SignatureLayer } from '../../../src/trust/cosign/verify.js';
import { parsePolicy } from '../../../src/trust/policy/index.js';
import { evaluateTrust } from '../../../src/trust/verify.js';
import { EMAIL, ISSUER, Pki } from './helpers/pki.js';

const D = `sha256:${'a'.repeat(64)}`;
const REF = 'registry.example.com/team/app:1';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const pki = new Pki();
afterAll(() => pki.close());

function policy(o: { ca?: string; email?: string; issuer?: string; rekor?: string } = {}) {
  return parsePolicy(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'registry.example.com/team': [
            {
              type: 'sigstoreSigned',
              fulcio: {
                caData: b64(o.ca ?? pki.caPem),
                oidcIssuer: o.issuer ?? ISSUER,
                subjectEmail: o.email ?? EMAIL,
              },
              rekorPublicKeyData: b64(o.rekor ?? pki.rekorPem),
            },
          ],
        },
      },
    }),
    '/p/policy.json',
  );
}

const run = (layers: SignatureLayer[], p = policy(), ref = REF) =>
  evaluateTrust(p, ref, D, { cosignSignatures: async () => layers });
const payload = makePayload(REF, D);

describe('keyless cosign signatures (Fulcio-style CA and Rekor key made by openssl and node:crypto)', () => {
  const leaf = pki.leaf();

  it('accepts a signature whose certificate chains to the CA, with the SAN and issuer the policy names', async () => {
    const r = await run([pki.keylessLayer(leaf, payload)]);
    expect(r.error).toBeUndefined();
    expect(r.accepted).toBe(true);
    expect(r.verified).toBe(true);
    expect(r.signatures).toEqual([
      expect.objectContaining({
        kind: 'keyless',
        subject: EMAIL,
        issuer: ISSUER,
        identity: REF,
        tlog: expect.objectContaining({ log_id: pki.rekorLogId, log_index: 7 }),
      }),
    ]);
  });

  it('reads the legacy issuer extension (1.3.6.1.4.1.57264.1.1, raw bytes)', async () => {
    const r = await run([pki.keylessLayer(pki.leaf({ legacy: true }), payload)]);
    expect(r.accepted).toBe(true);
  });

  it('refuses a certificate from another CA (untrusted chain)', async () => {
    const r = await run([pki.keylessLayer(pki.leaf({ ca: 'other' }), payload)]);
    expect(r.accepted).toBe(false);
    expect(r.error?.code).toBe('TRUST_UNTRUSTED_SIGNER');
  });

  it('refuses a certificate that was not valid at the integrated time (expired, or not yet valid)', async () => {
    for (const t of [leaf.notAfter + 3600, leaf.notBefore - 3600]) {
      const r = await run([pki.keylessLayer(leaf, payload, { integratedTime: t })]);
      expect(r.accepted).toBe(false);
      expect(r.error?.code).toBe('TRUST_UNTRUSTED_SIGNER');
    }
  });

  it('compares the SAN exactly: another address, one that contains the allowed one, a URI', async () => {
    for (const l of [
      pki.leaf({ email: 'bob@example.com' }),
      pki.leaf({ email: 'alice@example.com.evil.test' }),
      pki.leaf({ email: 'malice@example.com' }),
      pki.leaf({ uri: 'https://example.com/alice@example.com' }),
    ]) {
      const r = await run([pki.keylessLayer(l, payload)]);
      expect(r.accepted).toBe(false);
      expect(r.error?.code).toBe('TRUST_UNTRUSTED_SIGNER');
    }
    // Regular-expression characters in the policy are not patterns.
    const dotted = await run(
      [pki.keylessLayer(pki.leaf({ email: 'aliceXexample.com' }), payload)],
      policy({ email: 'alice.example.com' }),
    );
    expect(dotted.accepted).toBe(false);
  });

  it('compares the OIDC issuer exactly', async () => {
    for (const issuer of [
      'https://issuer.example.com.evil.test',
      'https://evil.test/https://issuer.example.com',
      'https://ISSUER.example.com',
    ]) {
      const r = await run([pki.keylessLayer(pki.leaf({ issuer }), payload)]);
      expect(r.accepted).toBe(false);
      expect(r.error?.code).toBe('TRUST_UNTRUSTED_SIGNER');
      expect(r.error?.message).toMatch(/OIDC issuer/);
    }
  });

  it('refuses a SET from an unknown log, a forged SET, and a signature without one', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const unknown = await run([
      pki.keylessLayer(leaf, payload, { logKey: stranger.privateKey, logId: 'c'.repeat(64) }),
    ]);
    expect(unknown.accepted).toBe(false);
    expect(unknown.error?.code).toBe('TRUST_SIGNATURE_INVALID');
    const forged = await run([pki.keylessLayer(leaf, payload, { logKey: stranger.privateKey })]);
    expect(forged.accepted).toBe(false);
    const l = pki.keylessLayer(leaf, payload);
    delete l.annotations[ANNOTATION_BUNDLE];
    const none = await run([l]);
    expect(none.error?.code).toBe('TRUST_SIGNATURE_INVALID');
    expect(none.error?.message).toMatch(/transparency-log entry/);
  });

  it('refuses a tampered payload, a signature for another digest, and another image name', async () => {
    const l = pki.keylessLayer(leaf, payload);
    const tampered = await run([{ ...l, payload: makePayload('registry.example.com/team/app:2', D) }]);
    expect(tampered.accepted).toBe(false);
    const other = await run([pki.keylessLayer(leaf, makePayload(REF, `sha256:${'b'.repeat(64)}`))]);
    expect(other.error?.code).toBe('TRUST_SIGNATURE_INVALID');
    const renamed = await run([pki.keylessLayer(leaf, makePayload('registry.example.com/team/other:1', D))]);
    expect(renamed.error?.code).toBe('TRUST_IDENTITY_MISMATCH');
  });

  it('refuses malformed base64, PEM, DER and JSON', async () => {
    const good = pki.keylessLayer(leaf, payload);
    const bad = (a: Record<string, string>) => run([{ ...good, annotations: { ...good.annotations, ...a } }]);
    const cases: Record<string, string>[] = [
      { [ANNOTATION_SIGNATURE]: '!!not base64!!' },
      { [ANNOTATION_CERTIFICATE]: 'not a PEM' },
      { [ANNOTATION_CERTIFICATE]: '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n' },
      { [ANNOTATION_BUNDLE]: '{not json' },
      { [ANNOTATION_BUNDLE]: JSON.stringify({ SignedEntryTimestamp: 'x', Payload: { body: 1 } }) },
    ];
    for (const c of cases) {
      const r = await bad(c);
      expect(r.accepted).toBe(false);
      expect(r.error?.code).toBe('TRUST_SIGNATURE_INVALID');
    }
  });

  it('refuses a key-signed layer under a keyless requirement', async () => {
    const l = pki.keylessLayer(leaf, payload);
    delete l.annotations[ANNOTATION_CERTIFICATE];
    const r = await run([l]);
    expect(r.error?.code).toBe('TRUST_UNTRUSTED_SIGNER');
  });

  it('refuses a policy whose CA data is not a certificate (TRUST_KEY_INVALID)', async () => {
    const r = await run([pki.keylessLayer(leaf, payload)], policy({ ca: 'garbage' }));
    expect(r.error?.code).toBe('TRUST_KEY_INVALID');
  });
});
