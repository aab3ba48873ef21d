/**
 * Semantic Versioning 2.0.0 (semver.org §11), as npm's `semver` package orders versions (strict
 * parsing: an optional leading `v`, no leading zeros), and Go module versions: `v1.2.3`,
 * pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, ordinary pre-releases to semver),
 * `+incompatible` (build metadata, ignored), `go1.21.3` toolchain names, and Go's shorthand `v1.2`.
 */

export interface SemVer {
  major: bigint;
  minor: bigint;
  patch: bigint;
  prerelease: string[];
  build: string[];
}

const NUM = '0|[1-9][0-9]*';
const PRE_ID = `(?:${NUM}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)`;
const FULL = new RegExp(
  `^v?(${NUM})\\.(${NUM})\\.(${NUM})(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);
// Go (golang.org/x/mod/semver) also accepts `v1` and `v1.2` as `v1.0.0` and `v1.2.0`.
const GO_SHORT = new RegExp(`^v(${NUM})(?:\\.(${NUM}))?$`);

export function parse(v: string): SemVer | undefined {
  const m = FULL.exec(v.trim());
  if (!m) return undefined;
  return {
    major: BigInt(m[1]),
    minor: BigInt(m[2]),
    patch: BigInt(m[3]),
    prerelease: m[4] ? m[4].split('.') : [],
    build: m[5] ? m[5].split('.') : [],
  };
}

/** A Go version as OSV's Go records write it (no `v`), from what a binary's build info says. */
export function goCanonical(v: string): string {
  let s = v.trim();
  if (s.startsWith('go')) s = s.slice(2); // toolchain: go1.21.3 (stdlib records use 1.21.3)
  if (!s.startsWith('v')) s = `v${s}`;
  const short = GO_SHORT.exec(s);
  if (short) s = `v${short[1]}.${short[2] ?? '0'}.0`;
  return s.slice(1);
}

export function parseGo(v: string): SemVer | undefined {
  return parse(goCanonical(v));
}

export function valid(v: string): boolean {
  return parse(v) !== undefined;
}

export function validGo(v: string): boolean {
  return parseGo(v) !== undefined;
}

const cmpBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
const numeric = /^[0-9]+$/;

/** semver §11.4: numeric identifiers numerically and before alphanumeric ones, those in ASCII order. */
function compareIdentifier(a: string, b: string): number {
  const an = numeric.test(a);
  const bn = numeric.test(b);
  if (an && bn) return cmpBig(BigInt(a), BigInt(b));
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareParsed(a: SemVer, b: SemVer): number {
  const main = cmpBig(a.major, b.major) || cmpBig(a.minor, b.minor) || cmpBig(a.patch, b.patch);
  if (main) return main;
  // A pre-release sorts before its release; build metadata does not count.
  if (a.prerelease.length === 0 || b.prerelease.length === 0)
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    if (i >= a.prerelease.length) return -1;
    if (i >= b.prerelease.length) return 1;
    const c = compareIdentifier(a.prerelease[i], b.prerelease[i]);
    if (c) return c;
  }
  return 0;
}

/** -1, 0 or 1; an invalid version sorts before every valid one, invalid ones by string. */
function compareWith(p: (v: string) => SemVer | undefined, a: string, b: string): number {
  const pa = p(a);
  const pb = p(b);
  if (pa && pb) return compareParsed(pa, pb);
  if (pa) return 1;
  if (pb) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compare(a: string, b: string): number {
  return compareWith(parse, a, b);
}

export function compareGo(a: string, b: string): number {
  return compareWith(parseGo, a, b);
}
