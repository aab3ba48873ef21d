import type { Package } from '../types.js';
import { baseName, failSoft, type PackageParser, type ParseContext } from './parser.js';
import { purl } from './purl.js';

/**
 * npm: `package-lock.json` (lockfile v1's nested `dependencies`, v2/v3's flat `packages` map keyed
 * by install path) and the installed tree itself, `node_modules/<name>/package.json` and
 * `node_modules/@scope/<name>/package.json` at any depth. What each lists:
 *   - the lock: every package npm would install for production; the root (`""`), workspace links
 *     (`link: true`), workspace sources (keys outside node_modules), dev-only packages (`dev: true`,
 *     absent after `npm ci --omit=dev`) and optional packages for another OS (`os` without linux:
 *     esbuild's darwin binaries) are left out;
 *   - node_modules: what is really there, whatever installed it. An image with both lists a
 *     package from each file; the SBOM keeps the paths, so both are visible.
 * Aliases (`"foo": "npm:bar@1"`) are listed under the real package name, which is what advisories
 * name.
 */

const PACKAGE_JSON = /(?:^|\/)node_modules\/(?:@[^/.][^/]*\/)?[^/.@][^/]*\/package\.json$/;

export function wantsPackageLock(path: string): boolean {
  return baseName(path) === 'package-lock.json';
}

export function wantsNodeModulesPackageJson(path: string): boolean {
  return PACKAGE_JSON.test(path);
}

export function npmPackage(
  name: string,
  version: string,
  path: string,
  ctx: ParseContext,
  licence?: string,
): Package {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const namespace = slash > 0 ? name.slice(0, slash).toLowerCase() : undefined;
  const short = slash > 0 ? name.slice(slash + 1) : name;
  const pkg: Package = {
    ecosystem: 'npm',
    name,
    version,
    purl: purl({ type: 'npm', namespace, name: short.toLowerCase(), version }),
    layer: ctx.layer,
    path,
  };
  if (licence) pkg.licenses = [licence];
  return pkg;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `npm:bar@1.2.3` (an alias's version in lockfile v1) → bar, 1.2.3. */
function unalias(name: string, version: string): [string, string] {
  if (!version.startsWith('npm:')) return [name, version];
  const spec = version.slice(4);
  const at = spec.lastIndexOf('@');
  return at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [name, version];
}

function licenceOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  if (isObj(v)) return str(v.type);
  return undefined;
}

function otherOsOnly(entry: Json): boolean {
  const os = entry.os;
  if (!Array.isArray(os) || os.length === 0) return false;
  const allowed = os.filter((o) => typeof o === 'string' && !o.startsWith('!'));
  const denied = os
    .filter((o) => typeof o === 'string' && o.startsWith('!'))
    .map((o) => (o as string).slice(1));
  if (denied.includes('linux')) return true;
  return allowed.length > 0 && !allowed.includes('linux');
}

export function parsePackageLock(content: Buffer, path: string, ctx: ParseContext): Package[] {
  const lock: unknown = JSON.parse(content.toString('utf8'));
  if (!isObj(lock)) return [];
  const out: Package[] = [];
  if (isObj(lock.packages)) {
    for (const [key, entry] of Object.entries(lock.packages)) {
      if (key === '' || !isObj(entry) || entry.link === true || entry.dev === true) continue;
      const at = key.lastIndexOf('node_modules/');
      if (at < 0) continue;
      if (otherOsOnly(entry)) continue;
      const version = str(entry.version);
      const name = str(entry.name) ?? key.slice(at + 'node_modules/'.length);
      if (!version || !name) continue;
      out.push(npmPackage(name, version, path, ctx, licenceOf(entry.license)));
    }
    return out;
  }
  // Lockfile v1: nested `dependencies`, walked with an explicit stack (no recursion depth limit).
  const stack: unknown[] = [lock.dependencies];
  while (stack.length > 0) {
    const deps = stack.pop();
    if (!isObj(deps)) continue;
    for (const [key, entry] of Object.entries(deps)) {
      if (!isObj(entry)) continue;
      if (isObj(entry.dependencies)) stack.push(entry.dependencies);
      const v = str(entry.version);
      if (!v || entry.dev === true || /^(file|link):/.test(v)) continue;
      const [name, version] = unalias(key, v);
      out.push(npmPackage(name, version, path, ctx));
    }
  }
  return out;
}

export function parseNodeModulesPackageJson(content: Buffer, path: string, ctx: ParseContext): Package[] {
  const pj: unknown = JSON.parse(content.toString('utf8'));
  if (!isObj(pj)) return [];
  const name = str(pj.name);
  const version = str(pj.version);
  if (!name || !version) return [];
  return [npmPackage(name, version, path, ctx, licenceOf(pj.license))];
}

export const npmLockParser: PackageParser = failSoft({
  name: 'npm-lock',
  wants: wantsPackageLock,
  maxBytes: 64 * 1024 * 1024,
  parse: parsePackageLock,
});

export const npmPackageJsonParser: PackageParser = failSoft({
  name: 'npm-package-json',
  wants: wantsNodeModulesPackageJson,
  maxBytes: 4 * 1024 * 1024,
  parse: parseNodeModulesPackageJson,
});
