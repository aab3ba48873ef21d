/**
 * The scan as moat runs it: scanImage (layers, rules, packages) + vulnerability matching against
 * the database in force + VEX suppression, made into a ScanReport and recorded with the image
 * (record.ts). Routes call scanStored after the policy allowed `image.scan`; runs and the policy's
 * facts call recordedScan, which only reads.
 */
import type { ImageStore } from '../image/store.js';
import type { ImageRecord } from '../image/types.js';
import { effectiveScanConfig, type ScanConfig } from './config.js';
import { dbStamp, recordKey, ScanRecords, vexStamps, type ScanRecordEntry } from './record.js';
import { summarize, type ScanReport, type ScanSummary } from './report/types.js';
import type { SecretOptions } from './rules/secrets.js';

export const NO_DATABASE_NOTE =
  'no vulnerability database: vulnerabilities were NOT checked (give an OSV export with --db PATH, $MOAT_VULN_DB or "db" in ~/.config/moat/scan.json)';

export interface ScanStoredOptions {
  /** The database (an OSV directory, zip or tar); default: the configuration's (config.ts). */
  db?: string;
  /** OpenVEX documents; default: the configuration's. */
  vex?: string[];
  secrets?: SecretOptions;
  /** The reference to show in the report (default: the image's first name, else its ID). */
  reference?: string;
  env?: NodeJS.ProcessEnv;
}

/** The record key of a setting, and the database's real path; throws when the database is gone. */
export function settingKey(cfg: Pick<ScanConfig, 'db' | 'vex' | 'secrets'>): string {
  return recordKey({
    ...(cfg.db ? { db: dbStamp(cfg.db) } : {}),
    vex: vexStamps(cfg.vex),
    ...(cfg.secrets ? { secrets: cfg.secrets } : {}),
  });
}

/** Scan a stored image under the setting in force (or given), record the report, return it. */
export async function scanStored(
  store: ImageStore,
  record: ImageRecord,
  opts: ScanStoredOptions = {},
): Promise<ScanReport> {
  const cfg = effectiveScanConfig({ db: opts.db, vex: opts.vex }, opts.env);
  const secrets = opts.secrets ?? cfg.secrets;
  // Stamped before the database is read: if it changes meanwhile, the next lookup misses.
  const stamp = cfg.db ? safeStamp(cfg.db) : undefined;
  const { scanImage, SCANNER_VERSION } = await import('./index.js');
  const result = await scanImage(store, record, secrets ? { secrets } : {});
  const notes = [...result.notes];
  let db: ScanReport['db'] = null;
  let vulns: ScanReport['findings'] = [];
  if (cfg.db) {
    const v = await import('./vuln/index.js');
    const vdb = await v.loadVulnDb(cfg.db, opts.env ? { env: opts.env } : {});
    const vex = cfg.vex.length ? await v.loadVex(cfg.vex) : undefined;
    vulns = v.matchPackages(result.packages, vdb, vex, { imageDigest: record.manifestDigest });
    const age = v.dbAgeDays(vdb);
    db = {
      path: vdb.source,
      version: vdb.version,
      ...(vdb.modified ? { newest: vdb.modified } : {}),
      ...(age !== undefined ? { ageDays: Math.floor(age) } : {}),
      records: vdb.records,
    };
    if (vdb.skipped)
      notes.push(`vulnerability database: ${vdb.skipped} file(s) skipped (not OSV JSON or too large)`);
  } else {
    notes.push(NO_DATABASE_NOTE);
    if (cfg.vex.length) notes.push('VEX documents were not applied: there is no vulnerability database');
  }
  const report: ScanReport = {
    image: {
      reference: opts.reference ?? record.names[0] ?? record.id,
      id: record.id,
      digest: record.manifestDigest,
      layers: record.layers.map((l) => l.digest),
    },
    findings: [...result.findings, ...vulns.filter((f) => !f.suppressed)],
    suppressed: vulns
      .filter((f) => f.suppressed)
      .map((f) => ({
        ...f,
        vex: {
          status: f.suppressed!.status,
          ...(f.suppressed!.justification ? { justification: f.suppressed!.justification } : {}),
          document: f.suppressed!.document,
        },
      })),
    packages: result.packages,
    db,
    notes,
    scanner: { name: 'moat', version: SCANNER_VERSION },
    at: new Date().toISOString(),
  };
  const entry: ScanRecordEntry = {
    key: recordKey({
      ...(stamp ? { db: stamp } : {}),
      vex: vexStamps(cfg.vex),
      ...(secrets ? { secrets } : {}),
    }),
    scanner: SCANNER_VERSION,
    db: db
      ? {
          source: db.path,
          version: db.version,
          ...(db.newest ? { modified: db.newest } : {}),
          records: db.records ?? 0,
        }
      : null,
    vex: cfg.vex,
    at: report.at,
    summary: summarize(report),
  };
  await new ScanRecords(store.root).put(record.manifestDigest, entry, report);
  return report;
}

function safeStamp(db: string): { source: string; stamp: string } | undefined {
  try {
    return dbStamp(db);
  } catch {
    return undefined; // loadVulnDb says why (VULN_DB_MISSING...)
  }
}

/**
 * The recorded entry for the image under the setting in force, or undefined (never scanned under
 * it, or the database cannot be stat'ed). Reads only: a stat of the database, the VEX files, the
 * image's small record index.
 */
export function recordedScan(
  storeRoot: string,
  record: Pick<ImageRecord, 'manifestDigest'>,
  cfg: Pick<ScanConfig, 'db' | 'vex' | 'secrets'>,
): ScanRecordEntry | undefined {
  let key: string;
  try {
    key = settingKey(cfg);
  } catch {
    return undefined;
  }
  return new ScanRecords(storeRoot).get(record.manifestDigest, key);
}

/** The recorded full report for the setting in force (moat sbom/check read it after a scan). */
export async function readScanRecord(
  storeRoot: string,
  record: Pick<ImageRecord, 'manifestDigest'>,
  cfg: Pick<ScanConfig, 'db' | 'vex' | 'secrets'>,
): Promise<ScanReport | undefined> {
  const e = recordedScan(storeRoot, record, cfg);
  return e ? new ScanRecords(storeRoot).report(record.manifestDigest, e.key) : undefined;
}

/**
 * `facts.image.scan`: the recorded summary, with the database's age as of now (it grows while the
 * record stays). Undefined when the image was not scanned under the setting in force.
 */
export function scanSummaryFacts(
  entry: ScanRecordEntry | undefined,
  now = new Date(),
): ScanSummary | undefined {
  if (!entry) return undefined;
  const t = entry.db?.modified ? Date.parse(entry.db.modified) : NaN;
  return {
    ...entry.summary,
    db: entry.db
      ? {
          version: entry.db.version,
          age_days: Number.isNaN(t) ? null : Math.floor(Math.max(0, now.getTime() - t) / 86_400_000),
        }
      : null,
  };
}
