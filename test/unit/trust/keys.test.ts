import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeys, loadSigningKey, signData } from '../../../src/trust/sign/keys.js';
import { parsePublicKey, verifyWith } from '../../../src/trust/key/public-key.js';
import { TrustRecords } from '../../../src/trust/record.js';
import type { TrustResult } from '../../../src/trust/verify.js';

const dir = mkdtempSync(path.join(tmpdir(), 'moat-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('moat key generate', () => {
  it('writes an ECDSA P-256 pair (private 0600), whose signatures verify with the public key', () => {
    const prefix = path.join(dir, 'ci');
    const g = generateKeys(prefix, undefined);
    expect(statSync(g.privateKey).mode & 0o777).toBe(0o600);
    expect(readFileSync(g.privateKey, 'utf8')).toMatch(/-----BEGIN PRIVATE KEY-----/);
    const pub = parsePublicKey(readFileSync(g.publicKey), 'pub');
    expect(pub.kind).toBe('ecdsa-p256');
    expect(pub.id).toBe(g.keyId);
    const k = loadSigningKey(g.privateKey, undefined);
    const data = Buffer.from('payload');
    expect(verifyWith(pub, data, signData(k, data))).toBe(true);
  });

  it('encrypts with a password, and says when it is missing or wrong', () => {
    const g = generateKeys(path.join(dir, 'enc'), 'hunter22');
    expect(readFileSync(g.privateKey, 'utf8')).toMatch(/ENCRYPTED PRIVATE KEY/);
    expect(() => loadSigningKey(g.privateKey, undefined)).toThrow(/encrypted and the password is missing/);
    expect(() => loadSigningKey(g.privateKey, 'wrong')).toThrow(/password is wrong/);
    expect(loadSigningKey(g.privateKey, 'hunter22').pub.kind).toBe('ecdsa-p256');
  });

  it('never overwrites a key, and leaves nothing half-written', () => {
    const prefix = path.join(dir, 'once');
    generateKeys(prefix, undefined);
    const before = readFileSync(`${prefix}.key`, 'utf8');
    expect(() => generateKeys(prefix, undefined)).toThrow(/exists: moat does not overwrite keys/);
    expect(readFileSync(`${prefix}.key`, 'utf8')).toBe(before);
    // the public half exists alone: the private key written first is removed again
    const half = path.join(dir, 'half');
    writeFileSync(`${half}.pub`, 'x');
    expect(() => generateKeys(half, undefined)).toThrow(/exists/);
    expect(() => statSync(`${half}.key`)).toThrow();
  });

  it('refuses a public key or garbage as a signing key', () => {
    const g = generateKeys(path.join(dir, 'pubonly'), undefined);
    expect(() => loadSigningKey(g.publicKey, undefined)).toThrow(/not a PEM private key/);
    expect(() => loadSigningKey(path.join(dir, 'nope'), undefined)).toThrow(/no such file/);
  });
});

describe('trust records', () => {
  const r = (reference: string, policy: string, accepted: boolean): TrustResult => ({
    accepted,
    verified: accepted,
    reference,
    digest: `sha256:${'1'.repeat(64)}`,
    policy: { source: '/p', digest: policy },
    scope: { transport: 'docker', kind: 'default' },
    requirements: [],
    signatures: [],
    checked: [],
    attestations: [],
    at: new Date().toISOString(),
  });
  it('are keyed by manifest digest, policy digest and reference', async () => {
    const t = new TrustRecords(dir);
    const m = `sha256:${'2'.repeat(64)}`;
    await t.put(m, r('r.io/a:1', 'p1', true));
    await t.put(m, r('r.io/b:1', 'p1', false));
    expect(t.get(m, 'p1', 'r.io/a:1')?.accepted).toBe(true);
    expect(t.get(m, 'p2', 'r.io/a:1')).toBeUndefined();
    expect(t.get(m, 'p1', 'r.io/b:1')?.accepted).toBe(false);
    expect(t.get(`sha256:${'3'.repeat(64)}`, 'p1', 'r.io/a:1')).toBeUndefined();
    await t.put(m, r('r.io/a:1', 'p1', false));
    expect(t.get(m, 'p1', 'r.io/a:1')?.accepted).toBe(false);
    expect(t.all(m, 'p1')).toHaveLength(2);
  });
  it('read a damaged file as no record', async () => {
    const t = new TrustRecords(dir);
    const m = `sha256:${'4'.repeat(64)}`;
    await t.put(m, r('r.io/a:1', 'p1', true));
    writeFileSync(path.join(dir, 'trust', `${'4'.repeat(64)}.json`), '{garbage');
    expect(t.get(m, 'p1', 'r.io/a:1')).toBeUndefined();
  });
});
