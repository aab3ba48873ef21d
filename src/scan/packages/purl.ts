/**
 * Package URLs per the purl specification (github.com/package-url/purl-spec):
 * `pkg:type/namespace/name@version?qualifiers`. Every component is percent-encoded except the
 * unreserved characters `A-Z a-z 0-9 . - _ ~` and the colon (the spec says `:` is never encoded,
 * which keeps a Debian epoch readable: `pkg:deb/debian/attr@1:2.4.47-2%2Bb1?arch=amd64`).
 * Namespace segments are encoded one by one (the `/` between them stays); qualifiers are sorted by
 * key, and empty values are left out. Lower-casing is the type's rule, so callers do it.
 */

const UNENCODED = /^[A-Za-z0-9._~:-]*$/;

export function purlEncode(s: string): string {
  if (UNENCODED.test(s)) return s;
  // encodeURIComponent leaves `!'()*` alone too; the spec encodes them, and never the colon.
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    .replace(/%3A/g, ':');
}

export interface PurlParts {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string | undefined>;
}

export function purl(p: PurlParts): string {
  let out = `pkg:${p.type}/`;
  if (p.namespace) {
    const segs = p.namespace.split('/').filter((s) => s !== '');
    if (segs.length > 0) out += segs.map(purlEncode).join('/') + '/';
  }
  out += purlEncode(p.name);
  if (p.version) out += '@' + purlEncode(p.version);
  const qs = Object.entries(p.qualifiers ?? {})
    .filter((kv): kv is [string, string] => typeof kv[1] === 'string' && kv[1] !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k.toLowerCase()}=${purlEncode(v)}`);
  if (qs.length > 0) out += '?' + qs.join('&');
  return out;
}

/** The `distro` qualifier: `debian-12`, `alpine-3.19.1`, or the bare id when there is no version. */
export function distroQualifier(distro: { id: string; version: string } | undefined): string | undefined {
  if (!distro || !distro.id) return undefined;
  return distro.version ? `${distro.id}-${distro.version}` : distro.id;
}
