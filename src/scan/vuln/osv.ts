/**
 * OSV records (https://ossf.github.io/osv-schema/): parsed into the compact form the index keeps,
 * and the schema's range evaluation. GIT ranges are dropped when a record is parsed (moat matches
 * packages by version, not commits); `withdrawn` records are skipped by the caller.
 */
import type { Ecosystem, Package, Severity } from '../types.js';
import { scoreVector } from './cvss.js';
import { SCHEMES, SEMVER, type VersionScheme } from './versions/index.js';

export interface OsvSeverity {
  /** CVSS_V2, CVSS_V3, CVSS_V4, or a label type such as Ubuntu. */
  type: string;
  score: string;
}

/** One event of a range: exactly one of the four. */
export type OsvEvent =
  { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER';
  events: OsvEvent[];
}

export interface OsvAffected {
  /** As written in the record: `Debian:12`, `Alpine:v3.19`, `npm`, `PyPI`, `Go`, `Maven`... */
  ecosystem: string;
  name: string;
  ranges: OsvRange[];
  versions: string[];
  severity?: OsvSeverity[];
  /** A severity label from ecosystem_specific / database_specific of this package. */
  label?: string;
}

export interface OsvRecord {
  id: string;
  aliases: string[];
  modified: string;
  withdrawn?: string;
  summary?: string;
  severity: OsvSeverity[];
  /** database_specific.severity (GHSA's CRITICAL/HIGH/MODERATE/LOW) and the like. */
  label?: string;
  affected: OsvAffected[];
}

export class OsvParseError extends Error {}

const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
const strs = (x: unknown): string[] =>
  Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : [];

const SUMMARY_MAX = 240;

function severities(x: unknown): OsvSeverity[] {
  if (!Array.isArray(x)) return [];
  return x.flatMap((s) =>
    isObj(s) && typeof s.type === 'string' && typeof s.score === 'string'
      ? [{ type: s.type, score: s.score }]
      : [],
  );
}

/** A severity word some databases give instead of (or beside) a vector. */
function labelOf(...objs: unknown[]): string | undefined {
  for (const o of objs) {
    if (!isObj(o)) continue;
    for (const k of ['severity', 'urgency', 'priority', 'cvss_severity']) {
      const v = o[k];
      if (typeof v === 'string' && v !== '') return v;
    }
  }
  return undefined;
}

function events(x: unknown): OsvEvent[] {
  if (!Array.isArray(x)) throw new OsvParseError('range without events');
  return x.map((e): OsvEvent => {
    if (!isObj(e)) throw new OsvParseError('event is not an object');
    const keys = Object.keys(e).filter((k) => ['introduced', 'fixed', 'last_affected', 'limit'].includes(k));
    const k = keys[0];
    const v = k === undefined ? undefined : str(e[k]);
    if (keys.length !== 1 || v === undefined) throw new OsvParseError('event without exactly one version');
    return { [k]: v } as OsvEvent;
  });
}

/** The compact record, or OsvParseError when the JSON is not an OSV record moat can use. */
export function parseOsv(json: unknown): OsvRecord {
  if (!isObj(json)) throw new OsvParseError('not a JSON object');
  const id = str(json.id);
  const modified = str(json.modified);
  if (!id) throw new OsvParseError('no id');
  if (!modified) throw new OsvParseError(`${id}: no modified`);
  const affected: OsvAffected[] = [];
  for (const a of Array.isArray(json.affected) ? json.affected : []) {
    if (!isObj(a) || !isObj(a.package)) continue;
    const ecosystem = str(a.package.ecosystem);
    const name = str(a.package.name);
    if (!ecosystem || !name) continue;
    const ranges: OsvRange[] = [];
    for (const r of Array.isArray(a.ranges) ? a.ranges : []) {
      if (!isObj(r)) throw new OsvParseError(`${id}: range is not an object`);
      if (r.type === 'GIT') continue;
      if (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER')
        throw new OsvParseError(`${id}: range type ${String(r.type)}`);
      ranges.push({ type: r.type, events: events(r.events) });
    }
    const versions = strs(a.versions);
    if (ranges.length === 0 && versions.length === 0) continue;
    const sev = severities(a.severity);
    const label = labelOf(a.ecosystem_specific, a.database_specific);
    affected.push({
      ecosystem,
      name,
      ranges,
      versions,
      ...(sev.length ? { severity: sev } : {}),
      ...(label ? { label } : {}),
    });
  }
  const summary = str(json.summary)?.slice(0, SUMMARY_MAX);
  const label = labelOf(json.database_specific);
  const withdrawn = str(json.withdrawn);
  return {
    id,
    aliases: strs(json.aliases),
    modified,
    ...(withdrawn ? { withdrawn } : {}),
    ...(summary ? { summary } : {}),
    severity: severities(json.severity),
    ...(label ? { label } : {}),
    affected,
  };
}

/** PEP 503's normal form of a Python project name. */
export const pypiName = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');

/** The key of the index: the OSV ecosystem and the package name as that ecosystem compares names. */
export function indexKey(ecosystem: string, name: string): string {
  return `${ecosystem}\u0000${ecosystem === 'PyPI' ? pypiName(name) : name}`;
}

/** The ecosystem of a Package for an OSV ecosystem name (`Debian:12` → deb), if moat matches it. */
export function ecosystemOf(osv: string): Ecosystem | undefined {
  const base = osv.split(':')[0];
  const map: Record<string, Ecosystem> = {
    Debian: 'deb',
    Ubuntu: 'deb',
    Alpine: 'apk',
    npm: 'npm',
    PyPI: 'pypi',
    Go: 'golang',
    Maven: 'maven',
  };
  return map[base];
}

/** Maven's `group:artifact` from the name or, when the name is only the artifact, from the purl. */
function mavenName(p: Package): string {
  if (p.name.includes(':')) return p.name;
  const m = /^pkg:maven\/([^/@?#]+)\/([^/@?#]+)/.exec(p.purl);
  return m ? `${decodeURIComponent(m[1])}:${decodeURIComponent(m[2])}` : p.name;
}

/**
 * Where OSV keeps a package: the ecosystem(s) and name its records are filed under, and the version
 * to compare. Debian and Ubuntu by the source package and the release (their records are written
 * for source packages of one release), Alpine by the origin and the branch (`v3.19`). A distro
 * package whose release is unknown matches nothing (say so, rather than guess a release).
 */
export function lookupOf(p: Package): { ecosystems: string[]; name: string; version: string } {
  switch (p.ecosystem) {
    case 'deb': {
      const name = p.source?.name ?? p.name;
      const version = p.source?.version ?? p.version;
      const id = p.distro?.id.toLowerCase();
      const v = p.distro?.version ?? '';
      if (id === 'debian' && v) return { ecosystems: [`Debian:${v.split('.')[0]}`], name, version };
      if (id === 'ubuntu' && v) return { ecosystems: [`Ubuntu:${v}`, `Ubuntu:${v}:LTS`], name, version };
      return { ecosystems: [], name, version };
    }
    case 'apk': {
      const m = /^(\d+)\.(\d+)/.exec(p.distro?.version ?? '');
      const ecosystems = p.distro?.id.toLowerCase() === 'alpine' && m ? [`Alpine:v${m[1]}.${m[2]}`] : [];
      return { ecosystems, name: p.source?.name ?? p.name, version: p.version };
    }
    case 'npm':
      return { ecosystems: ['npm'], name: p.name, version: p.version };
    case 'pypi':
      return { ecosystems: ['PyPI'], name: p.name, version: p.version };
    case 'golang':
      return { ecosystems: ['Go'], name: p.name, version: p.version };
    case 'maven':
      return { ecosystems: ['Maven'], name: mavenName(p), version: p.version };
  }
}

type Kind = 'introduced' | 'fixed' | 'last_affected' | 'limit';
const kindOf = (e: OsvEvent): Kind => Object.keys(e)[0] as Kind;
const valueOf = (e: OsvEvent): string => Object.values(e)[0] as string;
const RANK: Record<Kind, number> = { introduced: 0, last_affected: 1, fixed: 2, limit: 3 };

/**
 * The schema's evaluation of one range: events sorted by version (`introduced: "0"` first), the
 * version affected from an introduced at or below it until a fixed at or below it, or a
 * last_affected below it; never at or beyond a limit. The fixed version is the first fixed event
 * above the version, when there is one.
 */
export function inRange(
  range: OsvRange,
  version: string,
  scheme: VersionScheme,
): { fixed?: string } | undefined {
  const evs = range.events.filter((e) => !(kindOf(e) === 'limit' && valueOf(e) === '*'));
  const cmp = (a: OsvEvent, b: OsvEvent) => {
    const za = kindOf(a) === 'introduced' && valueOf(a) === '0';
    const zb = kindOf(b) === 'introduced' && valueOf(b) === '0';
    if (za || zb) return za === zb ? 0 : za ? -1 : 1;
    return scheme.compare(valueOf(a), valueOf(b)) || RANK[kindOf(a)] - RANK[kindOf(b)];
  };
  const sorted = [...evs].sort(cmp);
  let affected = false;
  for (const e of sorted) {
    const k = kindOf(e);
    const v = valueOf(e);
    if (k === 'introduced') {
      if (v === '0' || scheme.compare(version, v) >= 0) affected = true;
    } else if (k === 'fixed') {
      if (scheme.compare(version, v) >= 0) affected = false;
    } else if (k === 'last_affected') {
      if (scheme.compare(version, v) > 0) affected = false;
    }
  }
  if (!affected) return undefined;
  for (const e of sorted)
    if (kindOf(e) === 'limit' && scheme.compare(version, valueOf(e)) >= 0) return undefined;
  const fixed = sorted.find((e) => kindOf(e) === 'fixed' && scheme.compare(version, valueOf(e)) < 0);
  return fixed ? { fixed: valueOf(fixed) } : {};
}

/** Whether one affected[] entry covers the version: listed in versions[], or in one of its ranges. */
export function affects(a: OsvAffected, version: string, eco: Ecosystem): { fixed?: string } | undefined {
  const scheme = SCHEMES[eco];
  let hit: { fixed?: string } | undefined;
  for (const r of a.ranges) {
    const res = inRange(r, version, r.type === 'SEMVER' ? SEMVER : scheme);
    // Several ranges can cover the version: report the lowest fix any of them names.
    if (res && (!hit || (res.fixed && (!hit.fixed || scheme.compare(res.fixed, hit.fixed) < 0)))) hit = res;
  }
  if (hit) return hit;
  const listed = a.versions.some(
    (x) => x === version || (scheme.valid(x) && scheme.compare(x, version) === 0),
  );
  return listed ? {} : undefined;
}

const LABELS: Record<string, Severity> = {
  critical: 'critical',
  high: 'high',
  important: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'low',
  unimportant: 'low',
  none: 'info',
};

/** Severity of a record for one affected package: a CVSS vector scored (v3 before v2), else a label. */
export function severityOf(
  rec: OsvRecord,
  a: OsvAffected,
): { severity: Severity; cvss?: { vector: string; score: number } } {
  const list = a.severity?.length ? a.severity : rec.severity;
  for (const type of ['CVSS_V3', 'CVSS_V2']) {
    for (const s of list.filter((x) => x.type === type)) {
      const sc = scoreVector(s.score);
      if (sc)
        return {
          severity: sc.level === 'none' ? 'info' : sc.level,
          cvss: { vector: s.score, score: sc.score },
        };
    }
  }
  const words = [a.label, rec.label, ...list.filter((x) => !x.type.startsWith('CVSS_')).map((x) => x.score)];
  for (const w of words) {
    const sev = w ? LABELS[w.trim().toLowerCase()] : undefined;
    if (sev) return { severity: sev };
  }
  return { severity: 'unknown' };
}
