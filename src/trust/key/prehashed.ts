/**
 * Verifying a signature given only the SHA-256 digest of what was signed (`verify-blob
 * sha256:HEX`, a message-signature bundle checked against a digest). Node's crypto hashes the
 * data itself and has no pre-hashed verify, so:
 * - RSA PKCS#1 v1.5: the public-key operation recovers the DigestInfo, compared whole with the
 *   DigestInfo of the digest (no parsing of what the signature yields);
 * - ECDSA (P-256, P-384, P-521): the verification equation of FIPS 186-4 §6.4.2 on BigInts over
 *   the public key's own point (Node has already checked it is on its curve). Only public values
 *   are involved, so constant time is not a concern; tests check it against Node's verify.
 * Ed25519 signs the message, not a digest: it cannot be verified from a digest.
 */
import { constants, publicDecrypt } from 'node:crypto';
import type { PublicKey } from './public-key.js';

interface Curve {
  p: bigint;
  a: bigint;
  n: bigint;
  gx: bigint;
  gy: bigint;
  bytes: number;
}

const CURVES: Record<string, Curve> = {
  'P-256': {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
    bytes: 32,
  },
  'P-384': {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
    bytes: 48,
  },
  'P-521': {
    p: (1n << 521n) - 1n,
    a: (1n << 521n) - 4n,
    n: 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
    gx: 0x00c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66n,
    gy: 0x011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650n,
    bytes: 66,
  },
};

const mod = (x: bigint, m: bigint) => ((x % m) + m) % m;

function inverse(x: bigint, m: bigint): bigint {
  // Extended Euclid; m is prime and 0 < x < m here.
  let [a, b, u, v] = [mod(x, m), m, 1n, 0n];
  while (a !== 0n) {
    const q = b / a;
    [a, b] = [b - q * a, a];
    [u, v] = [v - q * u, u];
  }
  return mod(v, m);
}

type Point = { x: bigint; y: bigint } | null;

function add(c: Curve, P: Point, Q: Point): Point {
  if (!P) return Q;
  if (!Q) return P;
  let l: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, c.p) === 0n) return null;
    l = mod((3n * P.x * P.x + c.a) * inverse(2n * P.y, c.p), c.p);
  } else l = mod((Q.y - P.y) * inverse(Q.x - P.x, c.p), c.p);
  const x = mod(l * l - P.x - Q.x, c.p);
  return { x, y: mod(l * (P.x - x) - P.y, c.p) };
}

function multiply(c: Curve, k: bigint, P: Point): Point {
  let R: Point = null;
  for (let Q = P; k > 0n; k >>= 1n, Q = add(c, Q, Q)) if (k & 1n) R = add(c, R, Q);
  return R;
}

const big = (b: Buffer) => (b.length ? BigInt(`0x${b.toString('hex')}`) : 0n);

/** The (r, s) of a DER ECDSA-Sig-Value, strictly (minimal lengths, positive integers). */
function derSignature(sig: Buffer): [bigint, bigint] | undefined {
  let i = 0;
  const len = (): number | undefined => {
    const b = sig[i++];
    if (b === undefined) return undefined;
    if (b < 0x80) return b;
    if (b !== 0x81) return undefined;
    const n = sig[i++];
    return n !== undefined && n >= 0x80 ? n : undefined;
  };
  const int = (): bigint | undefined => {
    if (sig[i++] !== 0x02) return undefined;
    const n = len();
    if (!n || i + n > sig.length) return undefined;
    const v = sig.subarray(i, i + n);
    i += n;
    if (v[0] & 0x80) return undefined;
    if (n > 1 && v[0] === 0 && !(v[1] & 0x80)) return undefined;
    return big(v);
  };
  if (sig[i++] !== 0x30) return undefined;
  const total = len();
  if (total === undefined || i + total !== sig.length) return undefined;
  const r = int();
  const s = int();
  return r !== undefined && s !== undefined && i === sig.length ? [r, s] : undefined;
}

function verifyEcdsa(k: PublicKey, digest: Buffer, sig: Buffer): boolean {
  const jwk = k.key.export({ format: 'jwk' });
  const c = typeof jwk.crv === 'string' ? CURVES[jwk.crv] : undefined;
  if (!c || !jwk.x || !jwk.y) return false;
  const rs = derSignature(sig);
  if (!rs) return false;
  const [r, s] = rs;
  if (r < 1n || r >= c.n || s < 1n || s >= c.n) return false;
  // e: the leftmost bits of the digest, as many as n has (FIPS 186-4 §6.4, step 4).
  const nBits = c.n.toString(2).length;
  let e = big(digest);
  if (digest.length * 8 > nBits) e >>= BigInt(digest.length * 8 - nBits);
  const Q = { x: big(Buffer.from(jwk.x, 'base64url')), y: big(Buffer.from(jwk.y, 'base64url')) };
  const w = inverse(s, c.n);
  const X = add(c, multiply(c, mod(e * w, c.n), { x: c.gx, y: c.gy }), multiply(c, mod(r * w, c.n), Q));
  return X !== null && mod(X.x, c.n) === r;
}

/** DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

function verifyRsa(k: PublicKey, digest: Buffer, sig: Buffer): boolean {
  try {
    const info = publicDecrypt({ key: k.key, padding: constants.RSA_PKCS1_PADDING }, sig);
    return info.equals(Buffer.concat([SHA256_DIGEST_INFO, digest]));
  } catch {
    return false;
  }
}

/** Does `sig` sign the data whose SHA-256 is `digest`, under `k`? Never throws. */
export function verifyPrehashed(k: PublicKey, digest: Buffer, sig: Buffer): boolean {
  if (digest.length !== 32) return false;
  try {
    if (k.kind === 'rsa') return verifyRsa(k, digest, sig);
    if (k.kind === 'ed25519') return false;
    return verifyEcdsa(k, digest, sig);
  } catch {
    return false;
  }
}
