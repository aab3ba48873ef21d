/**
 * A Fulcio-style PKI and a Rekor log made by the tests themselves, independently of moat's code:
 * CA and leaf certificates by the `openssl` CLI (SAN email or URI, the OIDC issuer extension in
 * its current DER UTF8String form or the legacy raw form), keys and signed entry timestamps by
 * node:crypto, and a Rekor "witness" for @sigstore/sign's bundle builders.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Witness } from '@sigstore/sign';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_CERTIFICATE,
  ANNOTATION_CHAIN,
  ANNOTATION_SIGNATURE,
  type SignatureLayer,
} from '../../../../src/trust/cosign/verify.js';

export const ISSUER = 'https://issuer.example.com';
export const EMAIL = 'alice@example.com';

const pemOf = (k: KeyObject, type: 'spki' | 'pkcs8') => k.export({ type, format: 'pem' } as never).toString();

export interface Leaf {
  certPem: string;
  key: KeyObject;
  notBefore: number;
  notAfter: number;
}

export interface LeafOptions {
  email?: string;
  uri?: string;
  issuer?: string;
  /** Put the issuer in the legacy 1.3.6.1.4.1.57264.1.1 extension (raw bytes) instead. */
  legacy?: boolean;
  ca?: 'ca' | 'other';
}

export class Pki {
  readonly dir = mkdtempSync(join(tmpdir(), 'moat-pki-'));
  readonly caPem: string;
  readonly otherCaPem: string;
  readonly rekor = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  constructor() {
    this.caPem = this.makeCa('ca', 'fulcio-test-root');
    this.otherCaPem = this.makeCa('other', 'someone-else');
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  private makeCa(name: string, cn: string): string {
    writeFileSync(
      join(this.dir, `${name}.key`),
      pemOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'pkcs8'),
    );
    this.openssl([
      'req',
      '-x509',
      '-new',
      '-key',
      `${name}.key`,
      '-subj',
      `/O=moat-test/CN=${cn}`,
      '-days',
      '3650',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-addext',
      'subjectKeyIdentifier=hash',
      '-out',
      `${name}.pem`,
    ]);
    return readFileSync(join(this.dir, `${name}.pem`), 'utf8');
  }

  leaf(o: LeafOptions = {}): Leaf {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const n = Math.random().toString(36).slice(2);
    writeFileSync(join(this.dir, `${n}.key`), pemOf(privateKey, 'pkcs8'));
    const issuer = o.issuer ?? ISSUER;
    const san = o.uri !== undefined ? `URI:${o.uri}` : `email:${o.email ?? EMAIL}`;
    const ext = [
      '[v3]',
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=codeSigning',
      `subjectAltName=critical,${san}`,
      'authorityKeyIdentifier=keyid',
      o.legacy
        ? `1.3.6.1.4.1.57264.1.1=DER:${Buffer.from(issuer).toString('hex')}`
        : `1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:${issuer}`,
    ].join('\n');
    writeFileSync(join(this.dir, `${n}.cnf`), `${ext}\n`);
    const ca = o.ca ?? 'ca';
    this.openssl(['req', '-new', '-key', `${n}.key`, '-subj', '/O=moat-test', '-out', `${n}.csr`]);
    this.openssl([
      'x509',
      '-req',
      '-in',
      `${n}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${n}.cnf`,
      '-extensions',
      'v3',
      '-out',
      `${n}.pem`,
    ]);
    const certPem = readFileSync(join(this.dir, `${n}.pem`), 'utf8');
    const x = new X509Certificate(certPem);
    void publicKey;
    return {
      certPem,
      key: privateKey,
      notBefore: Math.floor(Date.parse(x.validFrom) / 1000),
      notAfter: Math.floor(Date.parse(x.validTo) / 1000),
    };
  }

  get rekorLogId(): string {
    return createHash('sha256')
      .update(this.rekor.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('hex');
  }

  get rekorPem(): string {
    return pemOf(this.rekor.publicKey, 'spki');
  }

  /** A Rekor SET (cosign's bundle annotation) for a hashedrekord entry of `sig` over `payload`. */
  set(
    payload: Buffer,
    sig: Buffer,
    certPem: string,
    o: { integratedTime?: number; logKey?: KeyObject; logId?: string } = {},
  ): string {
    const body = Buffer.from(
      JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'hashedrekord',
        spec: {
          data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
          signature: {
            content: sig.toString('base64'),
            publicKey: { content: Buffer.from(certPem).toString('base64') },
          },
        },
      }),
    ).toString('base64');
    const Payload = {
      body,
      integratedTime: o.integratedTime ?? Math.floor(Date.now() / 1000),
      logID: o.logId ?? this.rekorLogId,
      logIndex: 7,
    };
    const canonical = `{"body":${JSON.stringify(Payload.body)},"integratedTime":${Payload.integratedTime},"logID":${JSON.stringify(Payload.logID)},"logIndex":${Payload.logIndex}}`;
    const SignedEntryTimestamp = sign(
      'sha256',
      Buffer.from(canonical),
      o.logKey ?? this.rekor.privateKey,
    ).toString('base64');
    return JSON.stringify({ SignedEntryTimestamp, Payload });
  }

  /** A keyless cosign signature layer: payload signed by the leaf, certificate, chain and SET. */
  keylessLayer(
    leaf: Leaf,
    payload: Buffer,
    o: { integratedTime?: number; logKey?: KeyObject; logId?: string; chain?: boolean } = {},
  ): SignatureLayer {
    const sig = sign('sha256', payload, leaf.key);
    return {
      digest: `sha256:${createHash('sha256').update(payload).digest('hex')}`,
      payload,
      annotations: {
        [ANNOTATION_SIGNATURE]: sig.toString('base64'),
        [ANNOTATION_CERTIFICATE]: leaf.certPem,
        ...(o.chain === false ? {} : { [ANNOTATION_CHAIN]: this.caPem }),
        [ANNOTATION_BUNDLE]: this.set(payload, sig, leaf.certPem, o),
      },
    };
  }

  /**
   * A Rekor stand-in for @sigstore/sign: logs a message signature (hashedrekord 0.0.1) or a DSSE
   * envelope (dsse 0.0.1) and returns the entry with an inclusion promise signed by the test log.
   */
  witness(o: { integratedTime?: number } = {}): Witness {
    return {
      testify: async (content, publicKey) => {
        const keyB64 = Buffer.from(publicKey).toString('base64');
        let body: unknown;
        let kind: string;
        if (content.$case === 'messageSignature') {
          kind = 'hashedrekord';
          body = {
            apiVersion: '0.0.1',
            kind,
            spec: {
              data: {
                hash: {
                  algorithm: 'sha256',
                  value: content.messageSignature.messageDigest!.digest.toString('hex'),
                },
              },
              signature: {
                content: content.messageSignature.signature.toString('base64'),
                publicKey: { content: keyB64 },
              },
            },
          };
        } else {
          kind = 'dsse';
          const env = content.dsseEnvelope;
          body = {
            apiVersion: '0.0.1',
            kind,
            spec: {
              envelopeHash: {
                algorithm: 'sha256',
                value: createHash('sha256').update(JSON.stringify(env)).digest('hex'),
              },
              payloadHash: {
                algorithm: 'sha256',
                value: createHash('sha256').update(env.payload).digest('hex'),
              },
              signatures: [{ signature: env.signatures[0].sig.toString('base64'), verifier: keyB64 }],
            },
          };
        }
        const canonicalizedBody = Buffer.from(JSON.stringify(body));
        const integratedTime = o.integratedTime ?? Math.floor(Date.now() / 1000);
        const canonical = `{"body":${JSON.stringify(canonicalizedBody.toString('base64'))},"integratedTime":${integratedTime},"logID":${JSON.stringify(this.rekorLogId)},"logIndex":3}`;
        return {
          tlogEntries: [
            {
              logIndex: '3',
              logId: { keyId: Buffer.from(this.rekorLogId, 'hex') },
              kindVersion: { kind, version: '0.0.1' },
              integratedTime: String(integratedTime),
              inclusionPromise: {
                signedEntryTimestamp: sign('sha256', Buffer.from(canonical), this.rekor.privateKey),
              },
              inclusionProof: undefined,
              canonicalizedBody,
            },
          ],
        };
      },
    };
  }

  /** A trusted_root.json for this PKI (the CA and the log), as sigstore clients ship one. */
  trustedRoot(o: { logStart?: string | null } = {}): Record<string, unknown> {
    const der = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: 'https://rekor.test',
          hashAlgorithm: 'SHA2_256',
          publicKey: {
            rawBytes: this.rekor.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
            keyDetails: 'PKIX_ECDSA_P256_SHA_256',
            validFor: o.logStart === null ? {} : { start: o.logStart ?? '2020-01-01T00:00:00Z' },
          },
          logId: { keyId: Buffer.from(this.rekorLogId, 'hex').toString('base64') },
        },
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'moat-test', commonName: 'fulcio-test-root' },
          uri: 'https://fulcio.test',
          certChain: { certificates: [{ rawBytes: der(this.caPem) }] },
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
      ],
      ctlogs: [],
      timestampAuthorities: [],
    };
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
