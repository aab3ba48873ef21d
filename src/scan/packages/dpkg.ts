import type { Package } from '../types.js';
import { failSoft, type PackageParser, type ParseContext } from './parser.js';
import { distroQualifier, purl } from './purl.js';

/**
 * Debian and Ubuntu: dpkg's database, `var/lib/dpkg/status` (one deb822 paragraph per package),
 * and distroless images' `var/lib/dpkg/status.d/<name>` (one file per package, no `Status` field:
 * everything there is installed). A package counts when dpkg's status word is `installed`
 * (`install ok installed`, `hold ok installed`); removed packages that keep their conffiles
 * (`deinstall ok config-files`) and half-installed ones do not. Version is the field as dpkg prints
 * it (epoch included); Source gives the source package OSV's Debian records match on.
 */

const STATUS_D = /^var\/lib\/dpkg\/status\.d\/[^/]+$/;

export function wantsDpkg(path: string): boolean {
  if (path === 'var/lib/dpkg/status') return true;
  return STATUS_D.test(path) && !path.endsWith('.md5sums');
}

/**
 * deb822 paragraphs, keeping only the `fields` asked for (lower-cased names, single-line values:
 * continuation lines are skipped). One pass over the text with indexOf, no per-line copies of the
 * lines nobody reads (descriptions and conffiles are most of a status file).
 */
export function* deb822Paragraphs(text: string, fields: ReadonlySet<string>): Generator<Map<string, string>> {
  let cur = new Map<string, string>();
  let pos = 0;
  const n = text.length;
  while (pos <= n) {
    let eol = text.indexOf('\n', pos);
    if (eol < 0) eol = n;
    let end = eol;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    const c = pos < end ? text.charCodeAt(pos) : -1;
    if (c === -1 || ((c === 32 || c === 9) && blank(text, pos, end))) {
      if (cur.size > 0) yield cur;
      cur = new Map();
    } else if (c !== 32 && c !== 9 && c !== 35 /* # */) {
      const colon = text.indexOf(':', pos);
      if (colon > pos && colon < end) {
        const key = text.slice(pos, colon).trim().toLowerCase();
        if (fields.has(key) && !cur.has(key)) cur.set(key, text.slice(colon + 1, end).trim());
        else if (!cur.has('')) cur.set('', ''); // the paragraph has content even if no field we want
      }
    }
    pos = eol + 1;
  }
  if (cur.size > 0) yield cur;
}

function blank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/** `glibc (2.36-9+deb12u4)` → name and version; `glibc` → name only. */
export function parseDpkgSource(field: string): { name: string; version?: string } | undefined {
  const m = /^([^\s(]+)\s*(?:\(\s*([^\s)]+)\s*\))?\s*$/.exec(field.trim());
  if (!m) return undefined;
  return m[2] ? { name: m[1], version: m[2] } : { name: m[1] };
}

const DPKG_FIELDS = new Set(['package', 'status', 'version', 'architecture', 'source']);

function installed(status: string | undefined): boolean {
  if (status === undefined) return true; // status.d entries carry no Status field
  const words = status.trim().split(/\s+/);
  return words.length === 3 && words[2] === 'installed';
}

export function parseDpkgStatus(content: Buffer, path: string, ctx: ParseContext): Package[] {
  const out: Package[] = [];
  const distro = ctx.distro;
  const vendor = distro?.id || 'debian';
  for (const p of deb822Paragraphs(content.toString('utf8'), DPKG_FIELDS)) {
    const name = p.get('package');
    const version = p.get('version');
    if (!name || !version || !installed(p.get('status'))) continue;
    const arch = p.get('architecture') || undefined;
    const src = p.get('source');
    const source = (src && parseDpkgSource(src)) || { name };
    const pkg: Package = {
      ecosystem: 'deb',
      name,
      version,
      source,
      purl: purl({
        type: 'deb',
        namespace: vendor.toLowerCase(),
        name: name.toLowerCase(),
        version,
        qualifiers: { arch, distro: distroQualifier(distro) },
      }),
      layer: ctx.layer,
      path,
    };
    if (distro) pkg.distro = distro;
    out.push(pkg);
  }
  return out;
}

export const dpkgParser: PackageParser = failSoft({
  name: 'dpkg',
  wants: wantsDpkg,
  maxBytes: 64 * 1024 * 1024,
  parse: parseDpkgStatus,
});
