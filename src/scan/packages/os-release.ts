import type { Distro } from './parser.js';

/**
 * os-release(5): the distribution the OS packages belong to, which Debian and Alpine purls and
 * OSV's `Debian:12` / `Alpine:v3.19` ecosystems need. `etc/os-release` wins over
 * `usr/lib/os-release` (the spec's order); on most images the former is a symlink to the latter, so
 * the walker hands over whichever is a regular file.
 */

/** Where os-release lives, most authoritative first. */
export const OS_RELEASE_PATHS = ['etc/os-release', 'usr/lib/os-release'] as const;

export const OS_RELEASE_MAX_BYTES = 64 * 1024;

export function wantsOsRelease(path: string): boolean {
  return (OS_RELEASE_PATHS as readonly string[]).includes(path);
}

/** The KEY=value assignments of an os-release file (shell-style quoting, comments skipped). */
export function osReleaseFields(content: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  if (content.length > OS_RELEASE_MAX_BYTES) return out;
  for (const raw of content.toString('utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    out.set(m[1], unquote(m[2]));
  }
  return out;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\([\\$"`])/g, '$1');
  }
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  return v;
}

/** ID and VERSION_ID (VERSION_CODENAME when there is no VERSION_ID, as on sid); undefined without ID. */
export function parseOsRelease(content: Buffer): Distro | undefined {
  try {
    const f = osReleaseFields(content);
    const id = f.get('ID')?.toLowerCase();
    if (!id) return undefined;
    return { id, version: f.get('VERSION_ID') ?? f.get('VERSION_CODENAME') ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * The distro of an image from the os-release files the walker found (path → content), in the
 * spec's order of precedence.
 */
export function distroFromFiles(files: ReadonlyMap<string, Buffer>): Distro | undefined {
  for (const p of OS_RELEASE_PATHS) {
    const c = files.get(p);
    if (c) {
      const d = parseOsRelease(c);
      if (d) return d;
    }
  }
  return undefined;
}
