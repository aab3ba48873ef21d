/**
 * Debian package versions, ordered as dpkg orders them (lib/dpkg/version.c, deb-version(7)):
 * `[epoch:]upstream[-revision]`. The epoch compares as a number; upstream and revision with
 * dpkg's verrevcmp: alternating runs of non-digits (compared character by character, `~` before
 * everything — even the end of the string — then letters, then everything else) and digit runs
 * (compared as numbers). A version without a revision has the empty revision, which equals "0".
 */

export interface DebianVersion {
  epoch: bigint;
  upstream: string;
  revision: string;
}

const UPSTREAM = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION = /^[A-Za-z0-9.+~]*$/;

/** Split a version as dpkg's parseversion does: epoch before the first `:`, revision after the last `-`. */
export function parse(v: string): DebianVersion | undefined {
  const s = v.trim();
  if (s === '' || /\s/.test(s)) return undefined;
  let epoch = 0n;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!/^[0-9]+$/.test(e)) return undefined;
    epoch = BigInt(e);
    rest = s.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (upstream === '' || (hyphen >= 0 && revision === '')) return undefined;
  return { epoch, upstream, revision };
}

/**
 * A version dpkg accepts without complaint: numeric epoch, upstream starting with a digit and made of
 * alphanumerics and `.+~-:` (`-` only with a revision, `:` only with an epoch), revision of
 * alphanumerics and `.+~`.
 */
export function valid(v: string): boolean {
  const p = parse(v);
  if (!p) return false;
  if (!UPSTREAM.test(p.upstream) || !REVISION.test(p.revision)) return false;
  if (p.upstream.includes(':') && !v.trim().includes(':')) return false;
  return true;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** dpkg's order(): digits (never reached) and the end 0, `~` -1, letters their code, the rest code + 256. */
function order(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1;
  return c + 256;
}

/** dpkg's verrevcmp. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a, i);
      const bc = order(b, j);
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    while (i < a.length && j < b.length && isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && isDigit(a.charCodeAt(i))) return 1;
    if (j < b.length && isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** -1, 0 or 1. A string dpkg could not parse at all sorts by verrevcmp of the whole string. */
export function compare(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return sign(verrevcmp(a.trim(), b.trim()));
  if (pa.epoch !== pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  return sign(verrevcmp(pa.upstream, pb.upstream)) || sign(verrevcmp(pa.revision, pb.revision));
}
