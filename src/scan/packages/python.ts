import type { Package } from '../types.js';
import { failSoft, type PackageParser, type ParseContext } from './parser.js';
import { purl } from './purl.js';

/**
 * Python: installed distributions' core metadata, what `pip list` and `importlib.metadata` read:
 * `*.dist-info/METADATA` (wheels, pip), `*.egg-info/PKG-INFO` (setuptools, Debian's python3-*
 * packages), a bare `*.egg-info` file (old distutils installs) and `*.egg/EGG-INFO/PKG-INFO`. The
 * headers (RFC 822 style, up to the first blank line) give Name, Version and the licence; the name
 * is kept as declared (what pip prints) and normalised per PEP 503 in the purl.
 */

const WANTED = [
  /\.dist-info\/METADATA$/,
  /\.egg-info\/PKG-INFO$/,
  /\.egg-info$/,
  /\.egg\/EGG-INFO\/PKG-INFO$/,
];

export function wantsPythonMetadata(path: string): boolean {
  return WANTED.some((re) => re.test(path));
}

/** PEP 503: runs of `-`, `_`, `.` become one `-`, lower-cased. */
export function pep503(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

/** The header fields (names lower-cased, first occurrence wins, continuation lines joined). */
export function metadataHeaders(text: string, wanted: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  let last: string | undefined;
  let pos = 0;
  while (pos < text.length) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = text.length;
    const line = text.slice(pos, eol).replace(/\r$/, '');
    pos = eol + 1;
    if (line.trim() === '') break; // the body (long description) follows
    if (line[0] === ' ' || line[0] === '\t') {
      if (last !== undefined) out.set(last, out.get(last) + '\n' + line.trim());
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    last = wanted.has(key) && !out.has(key) ? key : undefined;
    if (last !== undefined) out.set(key, line.slice(colon + 1).trim());
  }
  return out;
}

const FIELDS = new Set(['name', 'version', 'license-expression', 'license']);

export function parsePythonMetadata(content: Buffer, path: string, ctx: ParseContext): Package[] {
  const h = metadataHeaders(content.toString('utf8'), FIELDS);
  const name = h.get('name');
  const version = h.get('version');
  if (!name || !version) return [];
  const pkg: Package = {
    ecosystem: 'pypi',
    name,
    version,
    purl: purl({ type: 'pypi', name: pep503(name), version }),
    layer: ctx.layer,
    path,
  };
  const expr = h.get('license-expression');
  const lic = h.get('license');
  // `License` is free text (often the whole licence); keep it only when it reads like a name.
  const licence =
    expr || (lic && lic !== 'UNKNOWN' && !lic.includes('\n') && lic.length <= 80 ? lic : undefined);
  if (licence) pkg.licenses = [licence];
  return [pkg];
}

export const pythonParser: PackageParser = failSoft({
  name: 'python',
  wants: wantsPythonMetadata,
  maxBytes: 8 * 1024 * 1024,
  parse: parsePythonMetadata,
});
