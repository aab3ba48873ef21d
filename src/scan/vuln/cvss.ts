/**
 * CVSS base scores from vector strings, and the qualitative levels of the specifications.
 *
 * v3.0 / v3.1: the specification's base equations (section 7.1 of each), with their round-up
 * (3.1's Roundup avoids floating-point artefacts, 3.0's is a plain ceiling to one decimal).
 * v2: the v2 guide's base equation, NVD's bands. v4 scores come from a table of macro-vectors
 * and an interpolation rather than a formula; moat does not compute them and falls back on the
 * record's severity label (`scoreVector` returns undefined).
 */

export type CvssLevel = 'none' | 'low' | 'medium' | 'high' | 'critical';

export interface CvssScore {
  version: '2.0' | '3.0' | '3.1';
  score: number;
  level: CvssLevel;
}

const V3: Record<string, Record<string, number>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};
const PR_UNCHANGED: Record<string, number> = { N: 0.85, L: 0.62, H: 0.27 };
const PR_CHANGED: Record<string, number> = { N: 0.85, L: 0.68, H: 0.5 };

/** The metrics of a vector (`AV:N/AC:L/...`), or undefined when one appears twice or is malformed. */
function metrics(parts: string[]): Map<string, string> | undefined {
  const m = new Map<string, string>();
  for (const p of parts) {
    const i = p.indexOf(':');
    if (i <= 0 || m.has(p.slice(0, i))) return undefined;
    m.set(p.slice(0, i), p.slice(i + 1));
  }
  return m;
}

/** CVSS v3.1 Appendix A: round up to one decimal, computed in integers. */
function roundup31(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

const roundup30 = (x: number) => Math.ceil(x * 10) / 10;

/** The level of a v3/v4 score: none 0.0, low 0.1–3.9, medium 4.0–6.9, high 7.0–8.9, critical 9.0–10.0. */
export function level(score: number): CvssLevel {
  if (score <= 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

function v3(version: '3.0' | '3.1', parts: string[]): CvssScore | undefined {
  const m = metrics(parts);
  const S = m?.get('S');
  if (!m || (S !== 'U' && S !== 'C')) return undefined;
  const w = (k: string) => V3[k][m.get(k) ?? ''];
  const pr = (S === 'C' ? PR_CHANGED : PR_UNCHANGED)[m.get('PR') ?? ''];
  const [av, ac, ui, c, i, a] = ['AV', 'AC', 'UI', 'C', 'I', 'A'].map(w);
  if ([av, ac, ui, c, i, a, pr].some((x) => x === undefined)) return undefined;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = S === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15);
  const exploitability = 8.22 * av * ac * pr * ui;
  const up = version === '3.1' ? roundup31 : roundup30;
  const score =
    impact <= 0
      ? 0
      : S === 'U'
        ? up(Math.min(impact + exploitability, 10))
        : up(Math.min(1.08 * (impact + exploitability), 10));
  return { version, score, level: level(score) };
}

const V2: Record<string, Record<string, number>> = {
  AV: { L: 0.395, A: 0.646, N: 1 },
  AC: { H: 0.35, M: 0.61, L: 0.71 },
  Au: { M: 0.45, S: 0.56, N: 0.704 },
  C: { N: 0, P: 0.275, C: 0.66 },
  I: { N: 0, P: 0.275, C: 0.66 },
  A: { N: 0, P: 0.275, C: 0.66 },
};

function v2(parts: string[]): CvssScore | undefined {
  const m = metrics(parts);
  if (!m) return undefined;
  const [av, ac, au, c, i, a] = ['AV', 'AC', 'Au', 'C', 'I', 'A'].map((k) => V2[k][m.get(k) ?? '']);
  if ([av, ac, au, c, i, a].some((x) => x === undefined)) return undefined;
  const impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a));
  const exploitability = 20 * av * ac * au;
  const f = impact === 0 ? 0 : 1.176;
  const score = Math.round((0.6 * impact + 0.4 * exploitability - 1.5) * f * 10) / 10;
  const s = Math.max(0, score);
  // NVD's v2 bands: low 0.0–3.9, medium 4.0–6.9, high 7.0–10.0.
  return { version: '2.0', score: s, level: s < 4 ? 'low' : s < 7 ? 'medium' : 'high' };
}

/**
 * The base score of a vector: `CVSS:3.1/AV:N/...`, `CVSS:3.0/...`, or a v2 vector (`AV:N/AC:L/Au:N/...`,
 * optionally in parentheses or prefixed `CVSS:2.0/`). Temporal and environmental metrics are ignored.
 * Undefined for v4 and for anything malformed.
 */
export function scoreVector(vector: string): CvssScore | undefined {
  const s = vector.trim().replace(/^\((.*)\)$/, '$1');
  const parts = s.split('/');
  if (parts[0] === 'CVSS:3.1' || parts[0] === 'CVSS:3.0') {
    const base = parts.slice(1).filter((p) => /^(AV|AC|PR|UI|S|C|I|A):/.test(p));
    return v3(parts[0] === 'CVSS:3.1' ? '3.1' : '3.0', base);
  }
  if (parts[0].startsWith('CVSS:')) {
    if (parts[0] !== 'CVSS:2.0') return undefined;
    parts.shift();
  }
  return v2(parts.filter((p) => /^(AV|AC|Au|C|I|A):/.test(p)));
}
