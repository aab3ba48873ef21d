/**
 * crypto.x509.* — certificates, CSRs and keys through node:crypto, shaped like the JSON of Go's
 * x509.Certificate / x509.CertificateRequest that OPA returns (the commonly used fields). Names
 * (subject, issuer) are read from the DER with a small ASN.1 reader, since node:crypto has no CSR
 * parser and renders names only as text.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { RObject, bignum, fromJSON, type Value } from '../value.js';
import { register } from './registry.js';
import { fail, str } from './util.js';

// ---------------------------------------------------------------- DER

interface Node {
  tag: number;
  /** Offset of the header, and of the contents. */
  start: number;
  body: number;
  end: number;
}

function readNode(buf: Buffer, at: number, err: string): Node {
  if (at + 2 > buf.length) throw new Error(err);
  const tag = buf[at];
  let len = buf[at + 1];
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > buf.length) throw new Error(err);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i];
    body += n;
  }
  const end = body + len;
  if (end > buf.length) throw new Error(err);
  return { tag, start: at, body, end };
}

function children(buf: Buffer, n: Node, err: string): Node[] {
  const out: Node[] = [];
  for (let at = n.body; at < n.end;) {
    const c = readNode(buf, at, err);
    out.push(c);
    at = c.end;
  }
  return out;
}

function oid(buf: Buffer, n: Node): number[] {
  const b = buf.subarray(n.body, n.end);
  const out = [Math.floor(b[0] / 40), b[0] % 40];
  let v = 0;
  for (let i = 1; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) {
      out.push(v);
      v = 0;
    }
  }
  return out;
}

const NAME_FIELDS: Record<string, string> = {
  '2.5.4.6': 'Country',
  '2.5.4.10': 'Organization',
  '2.5.4.11': 'OrganizationalUnit',
  '2.5.4.7': 'Locality',
  '2.5.4.8': 'Province',
  '2.5.4.9': 'StreetAddress',
  '2.5.4.17': 'PostalCode',
};

/** A pkix.Name from a DER Name (SEQUENCE OF SET OF AttributeTypeAndValue). */
function pkixName(buf: Buffer, n: Node, err: string): Record<string, unknown> {
  const name: Record<string, unknown> = {
    Country: null,
    Organization: null,
    OrganizationalUnit: null,
    Locality: null,
    Province: null,
    StreetAddress: null,
    PostalCode: null,
    SerialNumber: '',
    CommonName: '',
    Names: [] as unknown[],
    ExtraNames: null,
  };
  for (const set of children(buf, n, err)) {
    for (const atv of children(buf, set, err)) {
      const [t, v] = children(buf, atv, err);
      if (!t || !v) throw new Error(err);
      const type = oid(buf, t);
      const value = buf.subarray(v.body, v.end).toString(v.tag === 0x1e ? 'utf16le' : 'utf8');
      (name.Names as unknown[]).push({ Type: type, Value: value });
      const key = type.join('.');
      if (key === '2.5.4.3') name.CommonName = value;
      else if (key === '2.5.4.5') name.SerialNumber = value;
      else if (NAME_FIELDS[key]) {
        const f = NAME_FIELDS[key];
        name[f] = [...((name[f] as string[] | null) ?? []), value];
      }
    }
  }
  return name;
}

// ---------------------------------------------------------------- inputs

/** Go's base64.StdEncoding: padded, no stray characters (newlines ignored). */
function strictBase64(fn: string, s: string): Buffer {
  const t = s.replace(/[\r\n]/g, '');
  const bad = t.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) fail(fn, `illegal base64 data at input byte ${bad}`);
  if (t.length % 4 !== 0) fail(fn, `illegal base64 data at input byte ${t.length - (t.length % 4)}`);
  const pad = t.indexOf('=');
  if (pad >= 0 && pad < t.length - 2) fail(fn, `illegal base64 data at input byte ${pad}`);
  return Buffer.from(t, 'base64');
}

function pemBlocks(text: string, type?: string): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text))
    if (!type || m[1] === type) out.push(Buffer.from(m[2].replace(/\s+/g, ''), 'base64'));
  return out;
}

/** PEM text, base64 of PEM, or base64 of DER (OPA's getX509CertsFromString). */
function derBlocks(fn: string, s: string, type: string): Buffer[] {
  if (s.startsWith('-----BEGIN')) return pemBlocks(s, type);
  const raw = strictBase64(fn, s);
  if (raw.subarray(0, 10).toString('latin1') === '-----BEGIN') return pemBlocks(raw.toString('latin1'), type);
  return [raw];
}

/** Splits concatenated DER certificates. */
function splitDer(fn: string, buf: Buffer, err: string): Buffer[] {
  const out: Buffer[] = [];
  try {
    for (let at = 0; at < buf.length;) {
      const n = readNode(buf, at, err);
      if (n.tag !== 0x30) throw new Error(err);
      out.push(buf.subarray(at, n.end));
      at = n.end;
    }
  } catch (e) {
    fail(fn, (e as Error).message);
  }
  return out;
}

// ---------------------------------------------------------------- certificates

const PK_ALGS: Record<string, number> = { rsa: 1, dsa: 2, ec: 3, ed25519: 4 };

function certValue(fn: string, der: Buffer): Value {
  const err = 'x509: malformed certificate';
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    fail(fn, err);
  }
  let subject: Record<string, unknown>;
  let issuer: Record<string, unknown>;
  let version = 1;
  try {
    const top = readNode(der, 0, err);
    const [tbs] = children(der, top, err);
    const f = children(der, tbs, err);
    let i = 0;
    if (f[0].tag === 0xa0) {
      const [v] = children(der, f[0], err);
      version = der[v.body] + 1;
      i = 1;
    }
    issuer = pkixName(der, f[i + 2], err);
    subject = pkixName(der, f[i + 4], err);
  } catch {
    fail(fn, err);
  }
  const san = cert.subjectAltName ?? '';
  const sans = (prefix: string): string[] | null => {
    const xs = san
      .split(/,\s*/)
      .filter((x) => x.startsWith(prefix + ':'))
      .map((x) => x.slice(prefix.length + 1));
    return xs.length ? xs : null;
  };
  const keyType = cert.publicKey.asymmetricKeyType ?? '';
  return fromJSON({
    Raw: der.toString('base64'),
    Version: version,
    SerialNumber: bignum(BigInt('0x' + cert.serialNumber)),
    Issuer: issuer,
    Subject: subject,
    NotBefore: new Date(cert.validFrom).toISOString().replace('.000Z', 'Z'),
    NotAfter: new Date(cert.validTo).toISOString().replace('.000Z', 'Z'),
    PublicKeyAlgorithm: PK_ALGS[keyType] ?? 0,
    PublicKey: publicKeyJSON(cert.publicKey),
    IsCA: cert.ca,
    BasicConstraintsValid: cert.ca,
    DNSNames: sans('DNS'),
    EmailAddresses: sans('email'),
    IPAddresses: sans('IP Address'),
    URIs: sans('URI'),
    ExtKeyUsage: null,
  });
}

function publicKeyJSON(k: KeyObject): unknown {
  const jwk = k.export({ format: 'jwk' }) as Record<string, string>;
  if (jwk.kty === 'RSA')
    return {
      N: bignum(BigInt('0x' + Buffer.from(jwk.n, 'base64url').toString('hex'))),
      E: Number(BigInt('0x' + Buffer.from(jwk.e, 'base64url').toString('hex'))),
    };
  if (jwk.kty === 'EC')
    return {
      Curve: {},
      X: BigInt('0x' + Buffer.from(jwk.x, 'base64url').toString('hex')),
      Y: BigInt('0x' + Buffer.from(jwk.y, 'base64url').toString('hex')),
    };
  return jwk;
}

function parseCerts(fn: string, s: string): Value[] {
  const out: Value[] = [];
  for (const block of derBlocks(fn, s, 'CERTIFICATE'))
    for (const der of splitDer(fn, block, 'x509: malformed certificate')) out.push(certValue(fn, der));
  return out;
}

register('crypto.x509.parse_certificates', (a) =>
  parseCerts('crypto.x509.parse_certificates', str('crypto.x509.parse_certificates', a, 0)),
);

register('crypto.x509.parse_and_verify_certificates', (a) => {
  const fn = 'crypto.x509.parse_and_verify_certificates';
  const s = str(fn, a, 0);
  let certs: X509Certificate[];
  let values: Value[];
  try {
    values = parseCerts(fn, s);
    certs = derBlocks(fn, s, 'CERTIFICATE')
      .flatMap((b) => splitDer(fn, b, 'x509: malformed certificate'))
      .map((d) => new X509Certificate(d));
  } catch {
    return [false, []];
  }
  if (certs.length < 2) return [false, []];
  // leaf first, root last: each issued and signed by the next, the root self-signed
  const ok = certs.every((c, i) => {
    const issuer = certs[i + 1] ?? c;
    return c.checkIssued(issuer) && c.verify(issuer.publicKey);
  });
  return ok ? [true, values] : [false, []];
});

register('crypto.x509.parse_certificate_request', (a) => {
  const fn = 'crypto.x509.parse_certificate_request';
  const s = str(fn, a, 0);
  const [der] = derBlocks(fn, s, 'CERTIFICATE REQUEST');
  const err = "asn1: structure error: tags don't match";
  if (!der) fail(fn, 'failed to decode PEM block containing certificate request');
  try {
    const top = readNode(der, 0, err);
    if (top.tag !== 0x30) throw new Error(err);
    const [info] = children(der, top, err);
    if (!info || info.tag !== 0x30) throw new Error(err);
    const f = children(der, info, err);
    const subject = pkixName(der, f[1], err);
    const spki = der.subarray(f[2].start, f[2].end);
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    return fromJSON({
      Raw: der.toString('base64'),
      Version: der[f[0].body],
      Subject: subject,
      PublicKeyAlgorithm: PK_ALGS[key.asymmetricKeyType ?? ''] ?? 0,
      PublicKey: publicKeyJSON(key),
    });
  } catch (e) {
    fail(fn, (e as Error).message.startsWith('asn1') ? (e as Error).message : err);
  }
});

function privateKeyFrom(fn: string, s: string): KeyObject {
  let text = s;
  if (!s.startsWith('-----BEGIN')) text = strictBase64(fn, s).toString('latin1');
  try {
    return createPrivateKey(text);
  } catch (e) {
    fail(fn, `failed to parse private key: ${(e as Error).message}`);
  }
}

register('crypto.x509.parse_rsa_private_key', (a) => {
  const fn = 'crypto.x509.parse_rsa_private_key';
  const k = privateKeyFrom(fn, str(fn, a, 0));
  if (k.asymmetricKeyType !== 'rsa') fail(fn, 'not an RSA private key');
  return fromJSON(k.export({ format: 'jwk' }));
});

register('crypto.parse_private_keys', (a) => {
  const fn = 'crypto.parse_private_keys';
  const s = str(fn, a, 0);
  if (s === '') return [];
  const text = s.startsWith('-----BEGIN') ? s : strictBase64(fn, s).toString('latin1');
  const out: Value[] = [];
  const re = /-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    try {
      out.push(fromJSON(createPrivateKey(m[0]).export({ format: 'jwk' })));
    } catch (e) {
      fail(fn, (e as Error).message);
    }
  }
  return out;
});

register('crypto.x509.parse_keypair', (a) => {
  const fn = 'crypto.x509.parse_keypair';
  const certs = parseCerts(fn, str(fn, a, 0));
  const key = privateKeyFrom(fn, str(fn, a, 1));
  const o = new RObject();
  o.set(
    'Certificate',
    certs.map((c) => (c as RObject).get('Raw')!),
  );
  o.set('PrivateKey', fromJSON(key.export({ format: 'jwk' })));
  return o;
});
