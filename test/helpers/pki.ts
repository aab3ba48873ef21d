/**
 * A throw-away PKI for tests: a CA, a server certificate for 127.0.0.1 and client certificates,
 * signed with node-forge over keys made by Node (fast).
 */
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

const pki = forge.pki;

interface Keys {
  publicKey: forge.pki.PublicKey;
  privateKey: forge.pki.rsa.PrivateKey;
}

function keyPair(): Keys {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKey: pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey: pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
  };
}

let serial = 1;

function certificate(
  subject: string,
  keys: Keys,
  issuer: { name: string; key: forge.pki.rsa.PrivateKey } | undefined,
  ext: object[],
): string {
  const c = pki.createCertificate();
  c.publicKey = keys.publicKey;
  c.serialNumber = String(++serial).padStart(2, '0');
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 86_400_000);
  c.setSubject([{ name: 'commonName', value: subject }]);
  c.setIssuer([{ name: 'commonName', value: issuer?.name ?? subject }]);
  c.setExtensions(ext);
  c.sign(issuer?.key ?? keys.privateKey, forge.md.sha256.create());
  return pki.certificateToPem(c);
}

/** A self-signed certificate (a token signer, say): its PEM and its private key's PEM. */
export function selfSigned(cn: string, ext: object[]): { cert: string; key: string } {
  const k = keyPair();
  return { cert: certificate(cn, k, undefined, ext), key: pki.privateKeyToPem(k.privateKey) };
}

export interface Pki {
  caPem: string;
  /** For 127.0.0.1 (IP SAN). */
  server: { cert: string; key: string };
  /** A client certificate with this common name. */
  client(cn: string): { cert: string; key: string };
}

export function makePki(caName = 'moat test CA'): Pki {
  const caKeys = keyPair();
  const caPem = certificate(caName, caKeys, undefined, [
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true },
  ]);
  const ca = { name: caName, key: caKeys.privateKey };
  const serverKeys = keyPair();
  const server = {
    cert: certificate('127.0.0.1', serverKeys, ca, [
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ]),
    key: pki.privateKeyToPem(serverKeys.privateKey),
  };
  return {
    caPem,
    server,
    client: (cn) => {
      const k = keyPair();
      return {
        cert: certificate(cn, k, ca, [{ name: 'extKeyUsage', clientAuth: true }]),
        key: pki.privateKeyToPem(k.privateKey),
      };
    },
  };
}
