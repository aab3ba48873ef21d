/** The readable report of `moat scan`: notes first, then findings grouped by severity, with fixed versions. */
import type { Finding } from '../types.js';
import { SEVERITIES, type ScanReport } from './types.js';

function row(f: Finding): string {
  const what = f.package
    ? `${f.package.name} ${f.package.version}${f.fixed ? ` (fixed: ${f.fixed})` : ' (no fix yet)'}`
    : '';
  const where = f.path
    ? `${f.path}${f.line ? `:${f.line}` : ''}`
    : f.layer
      ? f.layer.slice(0, 19)
      : 'image config';
  return `  ${f.rule.padEnd(28)} ${(what || where).padEnd(40)} ${f.title}${f.detail ? ` [${f.detail}]` : ''}`;
}

export function toTable(r: ScanReport): string {
  const out: string[] = [
    `${r.image.reference} (${r.image.digest.slice(0, 19)}…, ${r.image.layers.length} layer(s), ${r.packages.length} package(s))`,
  ];
  for (const n of r.notes) out.push(`note: ${n}`);
  if (!r.db)
    out.push('note: no vulnerability database: vulnerabilities were NOT checked (give one with --db PATH)');
  for (const s of SEVERITIES) {
    const fs = r.findings.filter((f) => f.severity === s);
    if (!fs.length) continue;
    out.push('', `${s.toUpperCase()} (${fs.length})`);
    for (const f of fs) out.push(row(f));
  }
  if (r.suppressed.length) {
    out.push('', `SUPPRESSED by VEX (${r.suppressed.length})`);
    for (const f of r.suppressed) out.push(`${row(f)} (${f.vex?.status ?? 'not_affected'})`);
  }
  if (!r.findings.length) out.push('', 'no findings');
  return out.join('\n') + '\n';
}
