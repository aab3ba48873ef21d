import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makePayload } from '../../../src/trust/cosign/payload.js';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_SIGNATURE,
  type SignatureLayer,
} from '../../../src/trust/cosign/verify.js';
import { parsePolicy } from '../../../src/trust/policy/index.js';
import { canonicalJson } from '../../../src/trust/tlog/set.js';
import { evaluateTrust, type SignatureSource } from '../../../src/trust/verify.js';
import { parsePublicKey } from '../../../src/trust/key/public-key.js';

const D = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const REF = 'registry.example.com/team/app:1';

function ecKey() {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}
const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

function layer(priv: KeyObject, payload: Buffer, extra: Record<string, string> = {}): SignatureLayer {
  const sig = sign('sha256', payload, priv);
  return {
    digest: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
    payload,
    annotations: { [ANNOTATION_SIGNATURE]: sig.toString('base64'), ...extra },
  };
}
const source = (layers: SignatureLayer[]): SignatureSource & { calls: number } => {
  const s = {
    calls: 0,
    cosignSignatures: async () => {
      s.calls++;
      return layers;
    },
  };
  return s;
};
function keyPolicy(pub: KeyObject, extra: Record<string, unknown> = {}) {
  return parsePolicy(
    JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'registry.example.com/team': [{ type: 'sigstoreSigned', keyData: b64(pem(pub)), ...extra }],
          'registry.example.com/open': [{ type: 'insecureAcceptAnything' }],
          'registry.example.com/empty': [],
        },
      },
    }),
    '/p/policy.json',
  );
}

describe('key-signed cosign signatures', () => {
  const k = ecKey();
  const policy = keyPolicy(k.publicKey);

  it('accepts a signature by the trusted key over the payload for this digest and name', async () => {
    const r = await evaluateTrust(policy, REF, D, source([layer(k.privateKey, makePayload(REF, D))]));
    expect(r.accepted).toBe(true);
    expect(r.verified).toBe(true);
    expect(r.scope).toEqual({ transport: 'docker', scope: 'registry.example.com/team', kind: 'namespace' });
    expect(r.signatures).toEqual([
      { kind: 'key', key_id: parsePublicKey(pem(k.publicKey), 'k').id, identity: REF },
    ]);
    expect(r.error).toBeUndefined();
  });

  it('one good signature among bad ones is enough; none at all is unsigned', async () => {
    const bad = layer(ecKey().privateKey, makePayload(REF, D));
    const good = layer(k.privateKey, makePayload(REF, D));
    expect((await evaluateTrust(policy, REF, D, source([bad, good]))).accepted).toBe(true);
    const none = await evaluateTrust(policy, REF, D, source([]));
    expect(none.accepted).toBe(false);
    expect(none.error?.code).toBe('TRUST_UNSIGNED');
  });

  const refused = async (layers: SignatureLayer[], digest = D, ref = REF, p = policy) => {
    const r = await evaluateTrust(p, ref, digest, source(layers));
    expect(r.accepted).toBe(false);
    expect(r.verified).toBe(false);
    expect(r.signatures).toEqual([]);
    return r.error!;
  };

  it('refuses a tampered payload and a signature by another key', async () => {
    const l = layer(k.privateKey, makePayload(REF, D));
    const tampered = { ...l, payload: makePayload(REF, OTHER) };
    expect((await refused([tampered])).code).toBe('TRUST_UNTRUSTED_SIGNER');
    const e = await refused([layer(ecKey().privateKey, makePayload(REF, D))]);
    expect(e.code).toBe('TRUST_UNTRUSTED_SIGNER');
    expect(e.message).toMatch(/does not verify with the trusted key/);
  });

  it('refuses a genuine signature made for another digest', async () => {
    const e = await refused([layer(k.privateKey, makePayload(REF, OTHER))]);
    expect(e.code).toBe('TRUST_SIGNATURE_INVALID');
    expect(e.message).toMatch(/is for sha256:b+, not for the image's manifest sha256:a+/);
  });

  it('refuses a genuine signature for another name, including names that contain the right one', async () => {
    for (const claimed of [
      'registry.example.com/team/app:2',
      'registry.example.com/team/other:1',
      'evil.example.com/registry.example.com/team/app:1',
      'registry.example.com/team/app-evil:1',
    ]) {
      const e = await refused([layer(k.privateKey, makePayload(claimed, D))]);
      expect(e.code, claimed).toBe('TRUST_IDENTITY_MISMATCH');
    }
  });

  it('refuses malformed signatures and payloads', async () => {
    const l = layer(k.privateKey, makePayload(REF, D));
    expect((await refused([{ ...l, annotations: {} }])).code).toBe('TRUST_SIGNATURE_INVALID');
    expect((await refused([{ ...l, annotations: { [ANNOTATION_SIGNATURE]: '***' } }])).message).toMatch(
      /not valid base64/,
    );
    for (const payload of [
      Buffer.from('not json'),
      Buffer.from('[]'),
      Buffer.from(
        JSON.stringify({
          critical: {
            identity: { 'docker-reference': REF },
            image: { 'docker-manifest-digest': D },
            type: 'other',
          },
        }),
      ),
      Buffer.from(
        JSON.stringify({
          critical: {
            identity: { 'docker-reference': REF },
            image: { 'docker-manifest-digest': D },
            type: 'cosign container image signature',
            extra: 1,
          },
        }),
      ),
      Buffer.from(
        JSON.stringify({
          critical: {
            identity: { 'docker-reference': REF },
            image: { 'docker-manifest-digest': 'sha256:12' },
            type: 'cosign container image signature',
          },
        }),
      ),
    ]) {
      const e = await refused([layer(k.privateKey, payload)]);
      expect(e.code, payload.toString()).toBe('TRUST_SIGNATURE_INVALID');
    }
  });

  it('verifies RSA and Ed25519 keys too', async () => {
    for (const kp of [
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
      generateKeyPairSync('ed25519'),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    ]) {
      const p = keyPolicy(kp.publicKey);
      const payload = makePayload(REF, D);
      const alg = kp.publicKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
      const l: SignatureLayer = {
        digest: 'sha256:x',
        payload,
        annotations: { [ANNOTATION_SIGNATURE]: sign(alg, payload, kp.privateKey).toString('base64') },
      };
      expect((await evaluateTrust(p, REF, D, source([l]))).accepted, kp.publicKey.asymmetricKeyType).toBe(
        true,
      );
    }
  });

  it('refuses unusable keys in the policy with TRUST_KEY_INVALID', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    for (const keyData of [
      b64('garbage'),
      b64(pem(weak.publicKey)),
      b64(k.privateKey.export({ type: 'pkcs8', format: 'pem' })),
    ]) {
      const p = parsePolicy(JSON.stringify({ default: [{ type: 'sigstoreSigned', keyData }] }), '/p.json');
      const r = await evaluateTrust(p, REF, D, source([layer(k.privateKey, makePayload(REF, D))]));
      expect(r.error?.code).toBe('TRUST_KEY_INVALID');
    }
  });
});

describe('scopes without signatures', () => {
  const k = ecKey();
  const policy = keyPolicy(k.publicKey);
  it('insecureAcceptAnything accepts without fetching signatures and is not "verified"', async () => {
    const s = source([]);
    const r = await evaluateTrust(policy, 'registry.example.com/open/app:1', D, s);
    expect([r.accepted, r.verified, s.calls]).toEqual([true, false, 0]);
  });
  it('reject and an empty list reject', async () => {
    const r = await evaluateTrust(policy, 'other.example.com/app:1', D, source([]));
    expect([r.accepted, r.error?.code]).toEqual([false, 'TRUST_REJECTED']);
    const e = await evaluateTrust(policy, 'registry.example.com/empty/app:1', D, source([]));
    expect([e.accepted, e.error?.code]).toEqual([false, 'TRUST_REJECTED']);
    expect(e.error?.message).toMatch(/empty list rejects/);
  });
});

describe('transparency-log entries (Rekor SET)', () => {
  const k = ecKey();
  const rekor = ecKey();
  const rekorPub = parsePublicKey(pem(rekor.publicKey), 'rekor');
  const logID = rekorPub.id.slice(7);
  function withSet(
    l: SignatureLayer,
    opts: { signer?: KeyObject; logID?: string; sig?: string; payload?: Buffer } = {},
  ) {
    const body = {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: {
          hash: {
            algorithm: 'sha256',
            value: createHash('sha256')
              .update(opts.payload ?? l.payload)
              .digest('hex'),
          },
        },
        signature: {
          content: opts.sig ?? l.annotations[ANNOTATION_SIGNATURE],
          publicKey: { content: b64(pem(k.publicKey)) },
        },
      },
    };
    const Payload = {
      body: b64(JSON.stringify(body)),
      integratedTime: 1700000000,
      logIndex: 42,
      logID: opts.logID ?? logID,
    };
    const set = sign('sha256', Buffer.from(canonicalJson(Payload)), opts.signer ?? rekor.privateKey).toString(
      'base64',
    );
    return {
      ...l,
      annotations: {
        ...l.annotations,
        [ANNOTATION_BUNDLE]: JSON.stringify({ SignedEntryTimestamp: set, Payload }),
      },
    };
  }
  const policy = keyPolicy(k.publicKey, { rekorPublicKeyData: b64(pem(rekor.publicKey)) });
  const l = layer(k.privateKey, makePayload(REF, D));

  it('accepts a SET by the trusted log for this signature, and reports it', async () => {
    const r = await evaluateTrust(policy, REF, D, source([withSet(l)]));
    expect(r.accepted).toBe(true);
    expect(r.signatures[0].tlog).toEqual({ integrated_time: 1700000000, log_id: logID, log_index: 42 });
  });
  it('refuses a missing SET, one from an unknown log, a forged one, and one for another signature', async () => {
    const reason = async (x: SignatureLayer) => {
      const r = await evaluateTrust(policy, REF, D, source([x]));
      expect(r.accepted).toBe(false);
      return r.error!.message;
    };
    expect(await reason(l)).toMatch(/no transparency-log entry/);
    expect(await reason(withSet(l, { logID: 'ab'.repeat(32) }))).toMatch(/unknown log/);
    expect(await reason(withSet(l, { signer: ecKey().privateKey }))).toMatch(/not the log's signature/);
    expect(await reason(withSet(l, { sig: b64('other') }))).toMatch(/another signature/);
    expect(await reason(withSet(l, { payload: Buffer.from('x') }))).toMatch(/another payload/);
    const garbled = { ...l, annotations: { ...l.annotations, [ANNOTATION_BUNDLE]: '{' } };
    expect(await reason(garbled)).toMatch(/not valid JSON/);
  });
});
