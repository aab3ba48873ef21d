/**
 * Matching packages against the database: for each package, the records filed under its OSV
 * ecosystem and name (osv.ts `lookupOf`: Debian and Ubuntu by source package and release, Alpine by
 * origin and branch), each affected[] entry evaluated with the ecosystem's version ordering. Records
 * that alias each other (GHSA-… and PYSEC-… for one CVE) make one finding, under the most severe
 * record's id. VEX statements mark findings suppressed without removing them. Pure: data in, data
 * out, in a deterministic order (severity, then id, then package).
 */
import type { Finding, Package, Severity } from '../types.js';
import { affects, indexKey, lookupOf, severityOf, type OsvRecord } from './osv.js';
import { SCHEMES } from './versions/index.js';
import { decide, type VexStatement } from './vex.js';

export interface MatchOptions {
  /** The image's manifest digest: VEX statements about the image (and its subcomponents) apply. */
  imageDigest?: string;
}

export const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'unknown', 'info'];
const rank = (s: Severity) => SEVERITY_ORDER.indexOf(s);

interface Hit {
  rec: OsvRecord;
  fixed?: string;
  severity: Severity;
  cvss?: { vector: string; score: number };
}

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The records that affect one package, each with its lowest fixed version. */
function hitsFor(p: Package, db: { lookup(ecosystem: string, name: string): OsvRecord[] }): Hit[] {
  const { ecosystems, name, version } = lookupOf(p);
  const scheme = SCHEMES[p.ecosystem];
  if (!scheme.valid(version)) return [];
  const hits = new Map<string, Hit>();
  for (const eco of ecosystems) {
    const key = indexKey(eco, name);
    for (const rec of db.lookup(eco, name)) {
      for (const a of rec.affected) {
        if (indexKey(a.ecosystem, a.name) !== key) continue;
        const res = affects(a, version, p.ecosystem);
        if (!res) continue;
        const old = hits.get(rec.id);
        if (old && (!res.fixed || (old.fixed && scheme.compare(old.fixed, res.fixed) <= 0))) continue;
        hits.set(rec.id, { rec, ...(res.fixed ? { fixed: res.fixed } : {}), ...severityOf(rec, a) });
      }
    }
  }
  return [...hits.values()];
}

/** Hits whose ids and aliases overlap, grouped (union-find over the ids). */
function groups(hits: Hit[]): Hit[][] {
  const parent = hits.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const owner = new Map<string, number>();
  hits.forEach((h, i) => {
    for (const id of [h.rec.id, ...h.rec.aliases]) {
      const j = owner.get(id);
      if (j === undefined) owner.set(id, i);
      else parent[find(i)] = find(j);
    }
  });
  const out = new Map<number, Hit[]>();
  hits.forEach((h, i) => {
    const r = find(i);
    out.set(r, [...(out.get(r) ?? []), h]);
  });
  return [...out.values()];
}

function finding(p: Package, group: Hit[], vex: VexStatement[] | undefined, opts: MatchOptions): Finding {
  const scheme = SCHEMES[p.ecosystem];
  // The most severe record speaks for the group; a scored one before a labelled one; then by id.
  const [main] = [...group].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      (b.cvss ? 1 : 0) - (a.cvss ? 1 : 0) ||
      cmpStr(a.rec.id, b.rec.id),
  );
  const fixes = group.flatMap((h) => (h.fixed ? [h.fixed] : [])).sort(scheme.compare);
  const fixed = main.fixed ?? fixes[0];
  const aliases = [...new Set(group.flatMap((h) => [h.rec.id, ...h.rec.aliases]))]
    .filter((x) => x !== main.rec.id)
    .sort(cmpStr);
  const f: Finding = {
    kind: 'vulnerability',
    rule: main.rec.id,
    severity: main.severity,
    title: `${p.name} ${p.version}: ${main.rec.summary ?? main.rec.id}`,
    layer: p.layer,
    path: p.path,
    package: { ecosystem: p.ecosystem, name: p.name, version: p.version },
    ...(fixed ? { fixed } : {}),
    ...(aliases.length ? { aliases } : {}),
    ...(main.cvss ? { cvss: main.cvss } : {}),
  };
  const st = vex?.length ? decide(vex, [main.rec.id, ...aliases], p.purl, opts.imageDigest) : undefined;
  if (st && (st.status === 'not_affected' || st.status === 'fixed')) {
    f.suppressed = {
      by: 'vex',
      status: st.status,
      ...(st.justification ? { justification: st.justification } : {}),
      ...(st.impact ? { impact: st.impact } : {}),
      document: st.document,
    };
  }
  return f;
}

/** Findings of kind 'vulnerability' for the packages; suppressed ones (VEX) included, marked. */
export function matchPackages(
  packages: Package[],
  db: { lookup(ecosystem: string, name: string): OsvRecord[] },
  vex?: VexStatement[],
  opts: MatchOptions = {},
): Finding[] {
  const out: Finding[] = [];
  for (const p of packages) for (const g of groups(hitsFor(p, db))) out.push(finding(p, g, vex, opts));
  const key = (f: Finding) => [
    f.package?.ecosystem ?? '',
    f.package?.name ?? '',
    f.package?.version ?? '',
    f.path ?? '',
    f.layer ?? '',
  ];
  return out.sort((a, b) => {
    const c = rank(a.severity) - rank(b.severity) || cmpStr(a.rule, b.rule);
    if (c) return c;
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return cmpStr(ka[i], kb[i]);
    return 0;
  });
}
