/**
 * Credentials in Docker's `config.json` shape: `{"auths": {"host[:port]": {"auth": base64("user:pass")}}}`,
 * plus Docker's credential helpers: `"credHelpers": {"host[:port]": "NAME"}` (per registry) and
 * `"credsStore": "NAME"` (every other registry) mean `docker-credential-NAME` holds the secret
 * (cred-helper.ts); for such a registry the file's own `auths` entry is only a marker, as in
 * Docker.
 *
 * `moat login` writes moat's own file (`$XDG_CONFIG_HOME/moat/auth.json`, mode 0600, written
 * atomically, other keys kept) — or, when that file names a helper for the registry, stores
 * through the helper (`store`; `erase` on logout) and keeps an empty `auths` entry. Lookups read
 * moat's file first, then Docker's `~/.docker/config.json` (never written, its helpers run for
 * reading only); in each, a helper that answers "credentials not found" means none there.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { errnoCode } from '../../errors.js';
import { writeFileAtomic } from '../../util/fsutil.js';
import { helperErase, helperGet, helperStore, type HelperOptions } from './cred-helper.js';
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
  /** The helper for every registry without a `credHelpers` entry. */
  credsStore?: string;
  /** Per registry: the helper that holds its credentials. */
  credHelpers?: Record<string, string>;
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

/** The credential helper a parsed auth file names for `registry`: `credHelpers`, then `credsStore`. Pure. */
export function helperFor(file: AuthFile, registry: string): string | undefined {
  const want = normalizeAuthKey(registry);
  for (const [key, name] of Object.entries(file.credHelpers ?? {}))
    if (normalizeAuthKey(key) === want && typeof name === 'string' && name !== '') return name;
  return typeof file.credsStore === 'string' && file.credsStore !== '' ? file.credsStore : undefined;
}

/** Credentials for `registry` in a parsed auth file's `auths`, or undefined. Pure. */
export function credentialsIn(file: AuthFile, registry: string): Credentials | undefined {
  const want = normalizeAuthKey(registry);
  for (const [key, entry] of Object.entries(file.auths ?? {})) {
    if (normalizeAuthKey(key) !== want || !entry || typeof entry !== 'object') continue;
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      const user = typeof entry.auth === 'string' ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
      const colon = user.indexOf(':');
      return {
        username: colon > 0 ? user.slice(0, colon) : '<token>',
        password: '',
        identityToken: entry.identitytoken,
      };
    }
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
    const f = v as AuthFile;
    const auths = f.auths;
    if (auths !== undefined && (auths === null || typeof auths !== 'object' || Array.isArray(auths)))
      throw new Error('"auths" is not an object');
    if (f.credsStore !== undefined && typeof f.credsStore !== 'string')
      throw new Error('"credsStore" is not a string');
    const helpers = f.credHelpers;
    if (
      helpers !== undefined &&
      (helpers === null ||
        typeof helpers !== 'object' ||
        Array.isArray(helpers) ||
        Object.values(helpers).some((h) => typeof h !== 'string'))
    )
      throw new Error('"credHelpers" is not an object of helper names');
    return f;
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

/**
 * Look credentials up in moat's file, then Docker's: in each, through the helper it names for
 * the registry, else its `auths` entry. Undefined (anonymous) when none has any.
 */
export async function findCredentials(
  files: string[],
  registry: string,
  o: HelperOptions = {},
): Promise<Credentials | undefined> {
  for (const f of files) {
    const file = await readAuthFile(f);
    const helper = helperFor(file, registry);
    const c = helper ? await helperGet(helper, normalizeAuthKey(registry), o) : credentialsIn(file, registry);
    if (c) return c;
  }
  return undefined;
}

/**
 * Store `registry`'s credentials: through the helper moat's file names for it (the file keeps an
 * empty `auths` entry, as Docker's does), else in the file. Returns the helper used, if any.
 */
export async function storeCredentials(
  file: string,
  registry: string,
  creds: Credentials,
  o: HelperOptions = {},
): Promise<{ helper?: string }> {
  const cur = await readAuthFile(file);
  const helper = helperFor(cur, registry);
  if (!helper) {
    await writeAuthFile(file, withCredentials(cur, registry, creds).file);
    return {};
  }
  const key = normalizeAuthKey(registry);
  await helperStore(helper, key, creds, o);
  const { file: next } = withCredentials(cur, registry, undefined);
  next.auths = { ...next.auths, [key]: {} };
  await writeAuthFile(file, next);
  return { helper };
}

/** Remove `registry`'s credentials (the file's entry, and the helper's copy); false when there were none. */
export async function removeCredentials(
  file: string,
  registry: string,
  o: HelperOptions = {},
): Promise<boolean> {
  const cur = await readAuthFile(file);
  const helper = helperFor(cur, registry);
  const erased = helper ? await helperErase(helper, normalizeAuthKey(registry), o) : false;
  const { file: next, changed } = withCredentials(cur, registry, undefined);
  if (changed) await writeAuthFile(file, next);
  return changed || erased;
}

/**
 * Remove every credential moat's file holds (other keys stay), erasing through the helper those
 * registries whose entry is a helper's marker.
 */
export async function removeAllCredentials(file: string, o: HelperOptions = {}): Promise<string[]> {
  const cur = await readAuthFile(file);
  const keys = Object.keys(cur.auths ?? {});
  for (const k of keys) {
    const helper = helperFor(cur, k);
    if (helper) await helperErase(helper, normalizeAuthKey(k), o);
  }
  if (keys.length) await writeAuthFile(file, { ...cur, auths: {} });
  return keys;
}
