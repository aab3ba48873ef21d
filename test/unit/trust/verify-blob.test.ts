import { sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleToJSON } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder } from '@sigstore/sign';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/index.js';
import { EMAIL, ISSUER, Pki } from './helpers/pki.js';

const pki = new Pki();
afterAll(() => pki.close());
const file = (n: string) => join(pki.dir, n);

async function moat(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { status: await main(['node', 'moat', ...args]), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('moat trust verify-blob', () => {
  beforeAll(async () => {
    const leaf = pki.leaf();
    writeFileSync(file('blob.txt'), 'signed by alice\n');
    const b = await new MessageSignatureBundleBuilder({
      signer: {
        sign: async (data) => ({
          signature: sign('sha256', data, leaf.key),
          key: { $case: 'x509Certificate', certificate: leaf.certPem },
        }),
      },
      witnesses: [pki.witness()],
    }).create({ data: Buffer.from('signed by alice\n') });
    writeFileSync(
      file('blob.sigstore.json'),
      JSON.stringify({
        ...bundleToJSON(b),
        mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      }),
    );
    writeFileSync(file('trusted_root.json'), JSON.stringify(pki.trustedRoot()));
  });
  const base = () => [
    'trust',
    'verify-blob',
    '--bundle',
    file('blob.sigstore.json'),
    '--trusted-root',
    file('trusted_root.json'),
  ];
  const who = ['--certificate-identity', EMAIL, '--certificate-oidc-issuer', ISSUER];

  it('exits 0 for the right identity, by path and by digest, with --format json', async () => {
    const ok = await moat(...base(), ...who, file('blob.txt'));
    expect(ok.err).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.out).toMatch(/^Verified OK/);
    const digest =
      'sha256:' +
      (await import('node:crypto')).createHash('sha256').update('signed by alice\n').digest('hex');
    const j = await moat(...base(), ...who, '--format', 'json', digest);
    expect(j.status).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({ verified: true, subject: EMAIL, issuer: ISSUER });
  });

  it('exits 4 with a TRUST_* code for another identity, another file, a missing bundle', async () => {
    const wrong = await moat(
      ...base(),
      '--certificate-identity',
      'alice@example.co',
      '--certificate-oidc-issuer',
      ISSUER,
      file('blob.txt'),
    );
    expect(wrong.status).toBe(4);
    expect(wrong.err).toMatch(/TRUST_UNTRUSTED_SIGNER/);
    expect(wrong.err).toMatch(/hint:/);
    writeFileSync(file('other.txt'), 'not signed\n');
    expect((await moat(...base(), ...who, file('other.txt'))).status).toBe(4);
    const j = await moat(
      'trust',
      'verify-blob',
      '--bundle',
      file('none.json'),
      ...who,
      '--format',
      'json',
      file('blob.txt'),
    );
    expect(j.status).toBe(4);
    expect(JSON.parse(j.out).error.code).toMatch(/^TRUST_/);
  });

  it('needs an identity and issuer, or a key, not both', async () => {
    expect((await moat(...base(), '--certificate-identity', EMAIL, file('blob.txt'))).status).toBe(4);
    expect((await moat(...base(), file('blob.txt'))).status).toBe(4);
    writeFileSync(file('k.pub'), pki.rekorPem);
    expect((await moat(...base(), ...who, '--key', file('k.pub'), file('blob.txt'))).status).toBe(4);
  });
});
