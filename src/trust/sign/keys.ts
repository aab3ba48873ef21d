/**
 * Signing keys: `moat key generate` writes an ECDSA P-256 pair — NAME.key (PKCS#8 PEM, encrypted
 * with AES-256-CBC when a password is given, mode 0600) and NAME.pub (SubjectPublicKeyInfo PEM,
 * what a trust policy's keyPath names). Neither file is overwritten: both are created
 * exclusively, and a failure removes what was written.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { TrustError } from '../errors.js';
import { parsePublicKey, type PublicKey } from '../key/public-key.js';
import { readBounded } from '../policy/load.js';

export interface GeneratedKeys {
  privateKey: string;
  publicKey: string;
  keyId: string;
}

function writeNew(file: string, data: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx', mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TrustError(
      'TRUST_KEY_INVALID',
      code === 'EEXIST'
        ? `${file} exists: moat does not overwrite keys`
        : `cannot create ${file}: ${(e as Error).message}`,
      {
        hint:
          code === 'EEXIST'
            ? 'choose another name with --output-key-prefix, or move the old key away'
            : undefined,
      },
    );
  }
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

export function generateKeys(prefix: string, password: string | undefined): GeneratedKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = privateKey.export(
    password
      ? { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }
      : { type: 'pkcs8', format: 'pem' },
  ) as string;
  const pub = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const keyFile = `${prefix}.key`;
  const pubFile = `${prefix}.pub`;
  writeNew(keyFile, priv, 0o600);
  try {
    writeNew(pubFile, pub, 0o644);
  } catch (e) {
    unlinkSync(keyFile);
    throw e;
  }
  return { privateKey: keyFile, publicKey: pubFile, keyId: parsePublicKey(pub, pubFile).id };
}

export interface SigningKey {
  key: KeyObject;
  pub: PublicKey;
}

/** Reads a private key (PKCS#8 or SEC1 PEM, encrypted or not). */
export function loadSigningKey(file: string, password: string | undefined): SigningKey {
  let bytes: Buffer | undefined;
  try {
    bytes = readBounded(file, 64 * 1024);
  } catch (e) {
    throw new TrustError('TRUST_KEY_INVALID', `${file}: ${(e as Error).message}`);
  }
  if (!bytes) throw new TrustError('TRUST_KEY_INVALID', `${file}: no such file`);
  const text = bytes.toString('utf8');
  if (/ENCRYPTED SIGSTORE PRIVATE KEY|ENCRYPTED COSIGN PRIVATE KEY/.test(text))
    throw new TrustError('TRUST_KEY_INVALID', `${file}: cosign's encrypted key format is not read by moat`, {
      hint: 'export the key as PKCS#8 PEM (or make one with moat key generate)',
    });
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem', ...(password ? { passphrase: password } : {}) });
  } catch (e) {
    const msg = (e as Error).message;
    throw new TrustError(
      'TRUST_KEY_INVALID',
      /passphrase|decrypt|bad decrypt/i.test(msg) || (/ENCRYPTED/.test(text) && !password)
        ? `${file}: the key is encrypted and the password is ${password ? 'wrong' : 'missing'}`
        : `${file}: not a PEM private key (${msg})`,
      { hint: "set MOAT_PASSWORD to the key's password (or use --password-stdin)" },
    );
  }
  if (
    key.asymmetricKeyType !== 'ec' &&
    key.asymmetricKeyType !== 'ed25519' &&
    key.asymmetricKeyType !== 'rsa'
  )
    throw new TrustError('TRUST_KEY_INVALID', `${file}: key type ${key.asymmetricKeyType} cannot sign here`);
  const pub = parsePublicKey(
    createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string,
    `${file} (public part)`,
  );
  return { key, pub };
}

/** Signs `data` as cosign does (ECDSA/RSA over SHA-256, DER; Ed25519 pure). */
export function signData(k: SigningKey, data: Buffer): Buffer {
  return k.pub.kind === 'ed25519' ? sign(null, data, k.key) : sign('sha256', data, k.key);
}
