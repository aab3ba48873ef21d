/** crypto.x509.* through node:crypto, and providers.aws.sign_req (SigV4). */
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { PolicyEngine } from '../../../src/policy/index.js';

function selfSigned(cn: string): { cert: string; key: string } {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '0a';
  cert.validity.notBefore = new Date('2024-01-01T00:00:00Z');
  cert.validity.notAfter = new Date('2034-01-01T00:00:00Z');
  const attrs = [
    { name: 'commonName', value: cn },
    { name: 'organizationName', value: 'moat' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: cn }] }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

const engine = new PolicyEngine([]);
const x = (q: string, input?: unknown): unknown => engine.eval(`x := ${q}`, input)[0]?.bindings.x;

describe('crypto.x509', () => {
  const { cert, key } = selfSigned('svc.example.com');
  it('parses PEM, base64 PEM and base64 DER certificates', () => {
    const der = Buffer.from(cert.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    for (const s of [cert, Buffer.from(cert).toString('base64'), der]) {
      const [c] = x('crypto.x509.parse_certificates(input)', s) as Record<string, unknown>[];
      expect(c).toMatchObject({
        Subject: { CommonName: 'svc.example.com', Organization: ['moat'] },
        DNSNames: ['svc.example.com'],
        SerialNumber: 10,
        NotBefore: '2024-01-01T00:00:00Z',
      });
    }
  });
  it('refuses malformed input with Go-like errors', () => {
    const strict = new PolicyEngine([], {}, { strictBuiltinErrors: true });
    expect(() => strict.eval('crypto.x509.parse_certificates("foobar")')).toThrow(/illegal base64/);
    expect(() => strict.eval('crypto.x509.parse_certificates("YmFkc3RyaW5n")')).toThrow(
      /x509: malformed certificate/,
    );
  });
  it('parses an RSA private key as a JWK', () => {
    expect(x('crypto.x509.parse_rsa_private_key(input)', key)).toMatchObject({ kty: 'RSA', e: 'AQAB' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    expect(x('crypto.parse_private_keys(input)', ec)).toMatchObject([{ kty: 'EC', crv: 'P-256' }]);
  });
});

describe('providers.aws.sign_req', () => {
  const cfg = {
    aws_access_key: 'AKID',
    aws_secret_access_key: 'SECRET',
    aws_service: 's3',
    aws_region: 'us-east-1',
  };
  it('signs with SigV4 and adds the amz headers', () => {
    const out = x(
      'providers.aws.sign_req({"method": "get", "url": "http://example.com"}, input, 1451311705000000000)',
      cfg,
    ) as {
      headers: Record<string, string>;
    };
    expect(out.headers['x-amz-date']).toBe('20151228T140825Z');
    expect(out.headers.Authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKID\/20151228\/us-east-1\/s3\/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=[0-9a-f]{64}$/,
    );
  });
  it('reports missing parameters as type errors', () => {
    const strict = new PolicyEngine([], {}, { strictBuiltinErrors: true });
    expect(() => strict.eval('providers.aws.sign_req({}, {}, 0)')).toThrow(
      /missing required request parameters/,
    );
  });
});
