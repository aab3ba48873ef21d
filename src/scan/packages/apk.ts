import type { Package } from '../types.js';
import { failSoft, type PackageParser, type ParseContext } from './parser.js';
import { distroQualifier, purl } from './purl.js';

/**
 * Alpine (and other apk-tools distributions: Wolfi, Chainguard): `lib/apk/db/installed`, one
 * paragraph per package of `X:value` lines (apk's database format): `P` name, `V` version, `A`
 * architecture, `o` origin (the source package, what Alpine's secdb and OSV's Alpine records
 * name), `L` licence. Everything in this file is installed.
 */

export function wantsApk(path: string): boolean {
  return path === 'lib/apk/db/installed';
}

export function parseApkInstalled(content: Buffer, path: string, ctx: ParseContext): Package[] {
  const out: Package[] = [];
  const distro = ctx.distro;
  const vendor = (distro?.id || 'alpine').toLowerCase();
  let f = new Map<string, string>();
  const flush = (): void => {
    const name = f.get('P');
    const version = f.get('V');
    if (name && version) {
      const origin = f.get('o');
      const licence = f.get('L');
      const pkg: Package = {
        ecosystem: 'apk',
        name,
        version,
        source: { name: origin || name },
        purl: purl({
          type: 'apk',
          namespace: vendor,
          name: name.toLowerCase(),
          version,
          qualifiers: { arch: f.get('A'), distro: distroQualifier(distro) },
        }),
        layer: ctx.layer,
        path,
      };
      if (licence) pkg.licenses = [licence];
      if (distro) pkg.distro = distro;
      out.push(pkg);
    }
    f = new Map();
  };
  for (const raw of content.toString('utf8').split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') {
      flush();
      continue;
    }
    // Only the single-letter fields we read; the file lists (F:, R:, Z:...) are most of the file.
    if (line.length >= 2 && line[1] === ':' && 'PVAoL'.includes(line[0]) && !f.has(line[0])) {
      f.set(line[0], line.slice(2).trim());
    }
  }
  flush();
  return out;
}

export const apkParser: PackageParser = failSoft({
  name: 'apk',
  wants: wantsApk,
  maxBytes: 64 * 1024 * 1024,
  parse: parseApkInstalled,
});
