/**
 * A scan report: what the scanners found in one image, as `moat scan`, `moat sbom` and
 * `moat check` print it and the run's facts summarise it. Plain data; the writers beside this
 * file (table, SARIF, CycloneDX, SPDX) are pure functions of it.
 */
import type { Finding, Package, Severity } from '../types.js';

export interface ScanReport {
  image: {
    /** The reference as the user gave it, resolved (`host/repo:tag`, or the image ID). */
    reference: string;
    id: string;
    /** The manifest digest. */
    digest: string;
    layers: string[];
  };
  findings: Finding[];
  /** Findings a VEX statement marks not affected / fixed: kept, shown as suppressed. */
  suppressed: (Finding & { vex?: { status: string; justification?: string; document?: string } })[];
  packages: Package[];
  /** The vulnerability database, or null when none is configured (never a silent pass). */
  db: { path: string; version: string; newest?: string; ageDays?: number; records?: number } | null;
  /** Things the reader must know (no database, files skipped over their caps...). */
  notes: string[];
  scanner: { name: 'moat'; version: string };
  /** ISO time of the scan. */
  at: string;
}

export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info', 'unknown'];

/** What the admission policy reads as `facts.image.scan`. */
export interface ScanSummary {
  critical: number;
  high: number;
  medium: number;
  low: number;
  /** Vulnerabilities with a fixed version known. */
  fixable: number;
  secrets: number;
  hazards: number;
  permissions: number;
  config: number;
  packages: number;
  db: { version: string; age_days: number | null } | null;
  findings: {
    kind: string;
    rule: string;
    severity: Severity;
    path?: string;
    package?: string;
    fixed?: string;
  }[];
}

export function summarize(r: ScanReport): ScanSummary {
  const vulns = r.findings.filter((f) => f.kind === 'vulnerability');
  const count = (s: Severity) => vulns.filter((f) => f.severity === s).length;
  return {
    critical: count('critical'),
    high: count('high'),
    medium: count('medium'),
    low: count('low'),
    fixable: vulns.filter((f) => f.fixed).length,
    secrets: r.findings.filter((f) => f.kind === 'secret').length,
    hazards: r.findings.filter((f) => f.kind === 'hazard').length,
    permissions: r.findings.filter((f) => f.kind === 'permission').length,
    config: r.findings.filter((f) => f.kind === 'config').length,
    packages: r.packages.length,
    db: r.db ? { version: r.db.version, age_days: r.db.ageDays ?? null } : null,
    findings: r.findings.map((f) => ({
      kind: f.kind,
      rule: f.rule,
      severity: f.severity,
      ...(f.path ? { path: f.path } : {}),
      ...(f.package ? { package: `${f.package.name}@${f.package.version}` } : {}),
      ...(f.fixed ? { fixed: f.fixed } : {}),
    })),
  };
}
