/**
 * Credentials in Docker's `config.json` shape: `{"auths": {"host[:port]": {"auth": base64("user:pass")}}}`.
 * `moat login` writes moat's own file (`$XDG_CONFIG_HOME/moat/auth.json`, mode 0600, written
 * atomically, other keys kept); lookups read it first, then Docker's `~/.docker/config.json`
 * (never written). Credential helpers (`credsStore`, `credHelpers`) are not run.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../../util/fsutil.js';
import { RegistryError } from './errors.js';

export interface Credentials {
  username: string;
  password: string;
  /** An OAuth2 refresh token for the registry's token service (docker's `identitytoken`). */
  identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

export interface AuthFile {
  auths?: Record<string, AuthEntry>;
  [k: string]: unknown;
}

const HUB_KEYS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'];

/** The registry a key of `auths` names: `https://host:port/v1/` → `host:port`; Hub aliases → `docker.io`. */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.split('/')[0].toLowerCase();
  if (HUB_KEYS.includes(k) || HUB_KEYS.includes(key)) return 'docker.io';
  return k;
}

/** Credentials for `registry` in a parsed auth file, or undefined. Pure. */
export function credentialsIn(file: AuthFile, registry: string): Credentials | undefined {
  const want = normalizeAuthKey(registry);
  for (const [key, entry] of Object.entries(file.auths ?? {})) {
    if (normalizeAuthKey(key) !== want || !entry || typeof entry !== 'object') continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const text = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string')
      return { username: entry.username, password: entry.password };
  }
  return undefined;
}

/** A copy of `file` with `registry`'s credentials set (or removed with `undefined`). Pure. */
export function withCredentials(
  file: AuthFile,
  registry: string,
  creds: Credentials | undefined,
): { file: AuthFile; changed: boolean } {
  const want = normalizeAuthKey(registry);
  const auths: Record<string, AuthEntry> = {};
  let changed = false;
  for (const [key, entry] of Object.entries(file.auths ?? {})) {
    if (normalizeAuthKey(key) === want) {
      changed = true;
      continue;
    }
    auths[key] = entry;
  }
  if (creds) {
    auths[want] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
    changed = true;
  }
  return { file: { ...file, auths }, changed };
}

export async function readAuthFile(file: string): Promise<AuthFile> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return {};
    throw e;
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    const auths = (v as AuthFile).auths;
    if (auths !== undefined && (auths === null || typeof auths !== 'object' || Array.isArray(auths)))
      throw new Error('"auths" is not an object');
    return v as AuthFile;
  } catch (e) {
    throw new RegistryError(
      'REGISTRY_CONFIG_INVALID',
      `${file} is not a valid auth file: ${(e as Error).message}`,
      { hint: `fix or remove ${file}` },
    );
  }
}

export async function writeAuthFile(file: string, value: AuthFile): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', 0o600);
  await fsp.chmod(file, 0o600);
}

/** Look credentials up in moat's file, then Docker's. */
export async function findCredentials(files: string[], registry: string): Promise<Credentials | undefined> {
  for (const f of files) {
    const c = credentialsIn(await readAuthFile(f), registry);
    if (c) return c;
  }
  return undefined;
}

export async function storeCredentials(file: string, registry: string, creds: Credentials): Promise<void> {
  const { file: next } = withCredentials(await readAuthFile(file), registry, creds);
  await writeAuthFile(file, next);
}

/** Remove `registry`'s credentials from moat's file; false when there were none. */
export async function removeCredentials(file: string, registry: string): Promise<boolean> {
  const { file: next, changed } = withCredentials(await readAuthFile(file), registry, undefined);
  if (changed) await writeAuthFile(file, next);
  return changed;
}

/** Remove every credential from moat's file (other keys stay). */
export async function removeAllCredentials(file: string): Promise<string[]> {
  const cur = await readAuthFile(file);
  const keys = Object.keys(cur.auths ?? {});
  if (keys.length) await writeAuthFile(file, { ...cur, auths: {} });
  return keys;
}
