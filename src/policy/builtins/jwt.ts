/** io.jwt.*: decode, verify (HS/RS/PS/ES), decode_verify, encode_sign(_raw), using node:crypto. */
import {
  KeyObject,
  X509Certificate,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as cSign,
  verify as cVerify,
  timingSafeEqual,
} from 'node:crypto';
import { RObject, fromJSON, isNumber, toJSON, toRegoString, typeName, type Value } from '../value.js';
import { operandError } from '../errors.js';
import { register } from './registry.js';
import { fail, obj, str } from './util.js';

interface Decoded {
  header: Value;
  payload: Value;
  sig: Buffer;
  signingInput: string;
  headerObj: Record<string, unknown>;
}

function b64(fn: string, s: string, what = ''): Buffer {
  const bad = s.search(/[^A-Za-z0-9_=-]/);
  if (bad >= 0) fail(fn, `${what}illegal base64 data at input byte ${bad}`);
  return Buffer.from(s.replace(/=+$/, ''), 'base64url');
}

function decode(fn: string, token: string): Decoded {
  const parts = token.split('.');
  if (parts.length === 5) fail(fn, 'JWT is a JWE object, which is not supported');
  if (parts.length === 1) fail(fn, 'encoded JWT had no period separators');
  if (parts.length !== 3) fail(fn, `encoded JWT must have 3 sections, found ${parts.length}`);
  let headerObj: Record<string, unknown>;
  let payload: unknown;
  const hb = b64(fn, parts[0], 'JWT header had invalid encoding: ');
  try {
    headerObj = JSON.parse(hb.toString('utf8'));
  } catch {
    fail(fn, 'JWT header had invalid encoding');
  }
  if (typeof headerObj !== 'object' || headerObj === null) fail(fn, 'JWT header had invalid encoding');
  if (headerObj.enc !== undefined) fail(fn, 'JWT is a JWE object, which is not supported');
  const pb = b64(fn, parts[1], 'JWT payload had invalid encoding: ');
  const sig = b64(fn, parts[2], 'JWT signature had invalid encoding: ');
  if (typeof headerObj.cty === 'string' && headerObj.cty.toUpperCase() === 'JWT') {
    // nested token: the payload is itself a JWT; report the innermost one
    let inner = pb.toString('utf8');
    try {
      const j = JSON.parse(inner);
      if (typeof j === 'string') inner = j;
    } catch {
      /* the raw payload is the token */
    }
    return decode(fn, inner);
  }
  try {
    payload = JSON.parse(pb.toString('utf8'));
  } catch {
    fail(fn, 'JWT payload had invalid encoding');
  }
  return {
    header: fromJSON(headerObj),
    payload: fromJSON(payload),
    sig,
    signingInput: parts[0] + '.' + parts[1],
    headerObj,
  };
}

register('io.jwt.decode', (a) => {
  const d = decode('io.jwt.decode', str('io.jwt.decode', a, 0));
  return [d.header, d.payload, d.sig.toString('hex')];
});

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/** Public keys from a PEM certificate, PEM key, or JWK / JWK set JSON. */
function publicKeys(fn: string, material: string): KeyObject[] {
  const t = material.trim();
  if (t.startsWith('{')) {
    let j: { keys?: unknown[] } & Record<string, unknown>;
    try {
      j = JSON.parse(t);
    } catch {
      fail(fn, 'failed to parse a JWK key (set)');
    }
    const keys = Array.isArray(j.keys) ? j.keys : [j];
    try {
      return keys.map((k) => createPublicKey({ key: k as never, format: 'jwk' }));
    } catch {
      fail(fn, 'failed to parse a JWK key (set)');
    }
  }
  if (t.includes('BEGIN CERTIFICATE')) {
    if (!t.endsWith('-----END CERTIFICATE-----')) fail(fn, 'extra data after a PEM certificate block');
    try {
      return [new X509Certificate(t).publicKey];
    } catch {
      fail(fn, 'failed to parse a PEM certificate');
    }
  }
  try {
    return [createPublicKey(t)];
  } catch {
    fail(fn, 'failed to extract a Key from the PEM certificate');
  }
}

function verifySig(fn: string, alg: string, d: Decoded, keyMaterial: string): boolean {
  const family = alg.slice(0, 2);
  const hash = HASH[alg.slice(2)];
  if (!hash) return false;
  if (family === 'HS') {
    const mac = createHmac(hash, Buffer.from(keyMaterial, 'utf8')).update(d.signingInput).digest();
    return mac.length === d.sig.length && timingSafeEqual(mac, d.sig);
  }
  for (const key of publicKeys(fn, keyMaterial)) {
    try {
      const ok =
        family === 'RS'
          ? cVerify(hash, Buffer.from(d.signingInput), key, d.sig)
          : family === 'PS'
            ? cVerify(hash, Buffer.from(d.signingInput), { key, padding: 6, saltLength: -1 } as never, d.sig)
            : family === 'ES'
              ? cVerify(hash, Buffer.from(d.signingInput), { key, dsaEncoding: 'ieee-p1363' }, d.sig)
              : false;
      if (ok) return true;
    } catch {
      /* try the next key */
    }
  }
  return false;
}

for (const fam of ['hs', 'rs', 'ps', 'es']) {
  for (const bits of ['256', '384', '512']) {
    const name = `io.jwt.verify_${fam}${bits}`;
    register(name, (a) => {
      const token = str(name, a, 0);
      const key = str(name, a, 1);
      const d = decode(name, token);
      return verifySig(name, fam.toUpperCase() + bits, d, key);
    });
  }
}

register('io.jwt.decode_verify', (a, ctx) => {
  const fn = 'io.jwt.decode_verify';
  const token = str(fn, a, 0);
  const c = obj(fn, a, 1);
  const bad: Value = [false, new RObject(), new RObject()];
  for (const k of c.keys())
    if (!['cert', 'secret', 'alg', 'iss', 'aud', 'time'].includes(String(k)))
      fail(fn, `unknown token validation constraint: ${String(k)}`);
  const cert = c.get('cert');
  const secret = c.get('secret');
  if ((cert === undefined) === (secret === undefined))
    fail(fn, 'exactly one of cert or secret must be specified');
  let d: Decoded;
  try {
    d = decode(fn, token);
  } catch {
    return bad;
  }
  const alg = d.headerObj.alg;
  if (typeof alg !== 'string') return bad;
  if (d.headerObj.crit !== undefined) return bad;
  const want = c.get('alg');
  if (want !== undefined && want !== alg) return bad;
  if (secret !== undefined) {
    if (typeof secret !== 'string') fail(fn, 'secret must be a string');
    if (!alg.startsWith('HS')) return bad;
    if (!verifySig(fn, alg, d, secret)) return bad;
  } else {
    if (typeof cert !== 'string') fail(fn, 'cert must be a string');
    if (alg.startsWith('HS')) return bad;
    if (!verifySig(fn, alg, d, cert)) return bad;
  }
  const p = d.payload;
  if (!(p instanceof RObject)) return bad;
  const nowNs = c.get('time') ?? ctx.now;
  if (!isNumber(nowNs)) fail(fn, 'time must be a number');
  const now = Number(nowNs) / 1e9;
  const exp = p.get('exp');
  if (exp !== undefined) {
    if (!isNumber(exp)) fail(fn, 'exp value must be a number');
    if (now >= Number(exp)) return bad;
  }
  const nbf = p.get('nbf');
  if (nbf !== undefined) {
    if (!isNumber(nbf)) fail(fn, 'nbf value must be a number');
    if (now < Number(nbf)) return bad;
  }
  const iss = c.get('iss');
  if (iss !== undefined && p.get('iss') !== iss) return bad;
  const aud = c.get('aud');
  const paud = p.get('aud');
  if (aud !== undefined) {
    if (paud === undefined) return bad;
    const list = Array.isArray(paud) ? paud : [paud];
    if (!list.includes(aud)) return bad;
  } else if (paud !== undefined) return bad;
  return [true, d.header, p];
});

// ---------------------------------------------------------------- signing

function signRaw(fn: string, headerJson: string, payloadJson: string, keyJson: string): string {
  let header: Record<string, unknown>;
  let jwk: Record<string, unknown>;
  try {
    header = JSON.parse(headerJson);
  } catch (e) {
    fail(
      fn,
      headerJson.trim() === ''
        ? 'unexpected end of JSON input'
        : `invalid character in header: ${(e as Error).message}`,
    );
  }
  const typ = typeof header.typ === 'string' ? header.typ : 'JWT';
  if (typ.toUpperCase() === 'JWT' || typ === '') {
    try {
      JSON.parse(payloadJson);
    } catch {
      fail(fn, 'type is JWT but payload is not JSON');
    }
  }
  try {
    jwk = JSON.parse(keyJson);
  } catch {
    fail(fn, 'invalid key JSON');
  }
  const alg = header.alg;
  if (typeof alg !== 'string') fail(fn, 'unsupported signature algorithm');
  if (!/^(HS|RS|PS|ES)(256|384|512)$/.test(alg) && alg !== 'none')
    fail(fn, `unknown signature algorithm ${alg}`);
  const input =
    Buffer.from(headerJson).toString('base64url') + '.' + Buffer.from(payloadJson).toString('base64url');
  const hash = HASH[alg.slice(2)];
  let sig: Buffer;
  if (alg.startsWith('HS')) {
    const k = typeof jwk.k === 'string' ? Buffer.from(jwk.k, 'base64url') : fail(fn, 'missing k in oct key');
    sig = createHmac(hash, createSecretKey(k)).update(input).digest();
  } else if (alg === 'none') {
    sig = Buffer.alloc(0);
  } else {
    const key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    if (alg.startsWith('RS')) sig = cSign(hash, Buffer.from(input), key);
    else if (alg.startsWith('PS'))
      sig = cSign(hash, Buffer.from(input), {
        key,
        padding: 6,
        saltLength: Number(alg.slice(2)) / 8,
      } as never);
    else if (alg.startsWith('ES')) sig = cSign(hash, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    else fail(fn, `unsupported alg ${alg}`);
  }
  return input + '.' + sig.toString('base64url');
}

register('io.jwt.encode_sign_raw', (a) =>
  signRaw(
    'io.jwt.encode_sign_raw',
    str('io.jwt.encode_sign_raw', a, 0),
    str('io.jwt.encode_sign_raw', a, 1),
    str('io.jwt.encode_sign_raw', a, 2),
  ),
);
register('io.jwt.encode_sign', (a) => {
  const fn = 'io.jwt.encode_sign';
  for (let i = 0; i < 3; i++)
    if (!(a[i] instanceof RObject)) throw operandError(fn, i + 1, 'object', typeName(a[i]));
  // OPA serialises the objects in Rego syntax (`{"a": 1}`), which is what gets signed
  return signRaw(fn, toRegoString(a[0]), toRegoString(a[1]), JSON.stringify(toJSON(a[2])));
});
