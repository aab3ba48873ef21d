/**
 * Scan reports recorded with the image, so that a run reads a summary instead of scanning:
 *
 *   <store>/scan/records/<manifest hex>.json            the index: one entry per scan setting
 *   <store>/scan/records/<manifest hex>-<key>.report.json  each entry's full report
 *
 * An entry is keyed by what the report depends on besides the image: the vulnerability database
 * (its real path and the state of its files, which fixes its version; or none), the VEX documents
 * (their content) and the secret allow-list. The entry also records the scanner version and the
 * database version it was made with: a run whose scanner is newer scans again and replaces it.
 * The index is small (summaries only) so that a run's lookup is a stat or two and one small read;
 * the full report (packages, notes) is read by `moat scan`/`sbom`/`check` only.
 *
 * Not under scan/images/: that is the layer cache's directory, trimmed oldest first; records are
 * not a cache a trim may drop. Writes are atomic (temp + rename, 0600); the index keeps the
 * newest MAX_ENTRIES entries and is read up to MAX_INDEX_BYTES (larger or damaged: no record).
 *
 * Records live as long as the image: ScanRecords is one of the image store's DigestRecords
 * (runtime/context.ts), so `rmi`, `image prune` and a pull replacing the image's manifest remove
 * them (the index first, then the reports), and `image fsck`/`prune` find those of no image.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { digestHex } from '../image/digest.js';
import type { DigestRecords } from '../image/store-db.js';
import { readdirOrEmpty, writeFileAtomic } from '../util/fsutil.js';
import type { ScanReport, ScanSummary } from './report/types.js';
import type { SecretOptions } from './rules/secrets.js';

export const RECORD_LIMITS = {
  /** Entries kept per image (other databases, VEX sets, allow-lists), newest first. */
  maxEntries: 8,
  maxIndexBytes: 16 << 20,
  maxReportBytes: 512 << 20,
  /** Files of a database directory stamped (a larger tree is stamped by the directory alone). */
  maxStampFiles: 200_000,
} as const;

export interface ScanRecordEntry {
  /** recordKey(): the database state, VEX content and allow-list the report was made under. */
  key: string;
  scanner: string;
  db: { source: string; version: string; modified?: string; records: number } | null;
  vex: string[];
  at: string;
  summary: ScanSummary;
}

interface IndexFile {
  format: 'moat-scan-records-1';
  entries: ScanRecordEntry[];
}

function readBoundedSync(file: string, max: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > max) return undefined;
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * What identifies the state of a database source without reading it: its real path and the
 * size, mtime and inode of the file (a zip or tar), or of every .json file under the directory.
 * The same stamp means the same content, so the version recorded with it still holds; any
 * change is a new stamp, and so a new scan. Throws (ENOENT...) when the source cannot be stat'ed.
 */
export function dbStamp(db: string): { source: string; stamp: string } {
  const real = realpathSync(db);
  const h = createHash('sha256');
  const st = statSync(real);
  if (!st.isDirectory()) {
    h.update(`file ${real} ${st.size} ${Math.trunc(st.mtimeMs)} ${st.ino}\n`);
  } else {
    h.update(`dir ${real}\n`);
    let n = 0;
    const walk = (dir: string) => {
      const ents = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      );
      for (const e of ents) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile() && e.name.endsWith('.json') && ++n <= RECORD_LIMITS.maxStampFiles) {
          const s = statSync(p);
          h.update(`${path.relative(real, p)}\0${s.size} ${Math.trunc(s.mtimeMs)} ${s.ino}\n`);
        }
      }
    };
    walk(real);
  }
  return { source: real, stamp: h.digest('hex') };
}

/** The key of a scan setting: database state (or none), VEX documents' content, allow-list. */
export function recordKey(s: {
  db?: { source: string; stamp: string };
  vex: { file: string; sha256: string }[];
  secrets?: SecretOptions;
}): string {
  return createHash('sha256')
    .update(JSON.stringify({ db: s.db ?? 'none', vex: s.vex, secrets: s.secrets ?? {} }))
    .digest('hex')
    .slice(0, 32);
}

/** The VEX documents of a setting, by content (small files: read every time). */
export function vexStamps(files: string[]): { file: string; sha256: string }[] {
  return files.map((f) => {
    const b = readBoundedSync(f, 16 << 20);
    return { file: path.resolve(f), sha256: b ? createHash('sha256').update(b).digest('hex') : 'unreadable' };
  });
}

/** A file of the records directory: an index, a report, or either's temp file (writeFileAtomic). */
const RECORD_FILE = /^\.?([0-9a-f]{64})(?:\.json|-[0-9a-f]{32}\.report\.json)(?:\.tmp-[0-9a-f]+)?$/;

export class ScanRecords implements DigestRecords {
  readonly kind = 'scan';
  readonly dir: string;

  constructor(storeRoot: string) {
    this.dir = path.join(storeRoot, 'scan', 'records');
  }

  private indexFile(manifestDigest: string): string {
    return path.join(this.dir, `${digestHex(manifestDigest)}.json`);
  }

  private reportFile(manifestDigest: string, key: string): string {
    if (!/^[0-9a-f]{32}$/.test(key)) throw new Error(`invalid scan record key ${key}`);
    return path.join(this.dir, `${digestHex(manifestDigest)}-${key}.report.json`);
  }

  /** Every entry recorded for the image (newest first); none when absent or damaged. */
  entries(manifestDigest: string): ScanRecordEntry[] {
    const b = readBoundedSync(this.indexFile(manifestDigest), RECORD_LIMITS.maxIndexBytes);
    if (!b) return [];
    try {
      const f = JSON.parse(b.toString('utf8')) as IndexFile;
      return f.format === 'moat-scan-records-1' && Array.isArray(f.entries) ? f.entries : [];
    } catch {
      return [];
    }
  }

  /** The entry for this setting, if the image was scanned under it. */
  get(manifestDigest: string, key: string): ScanRecordEntry | undefined {
    return this.entries(manifestDigest).find((e) => e.key === key);
  }

  /** The full report of an entry (undefined when it is gone or damaged). */
  async report(manifestDigest: string, key: string): Promise<ScanReport | undefined> {
    try {
      const file = this.reportFile(manifestDigest, key);
      const st = await fsp.stat(file);
      if (st.size > RECORD_LIMITS.maxReportBytes) return undefined;
      return JSON.parse(await fsp.readFile(file, 'utf8')) as ScanReport;
    } catch {
      return undefined;
    }
  }

  /** Record a report under its setting (replacing that setting's entry), keep the newest few. */
  async put(manifestDigest: string, entry: ScanRecordEntry, report: ScanReport): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // The report first: an index entry never points at a report not yet written.
    await writeFileAtomic(this.reportFile(manifestDigest, entry.key), JSON.stringify(report));
    const old = this.entries(manifestDigest).filter((e) => e.key !== entry.key);
    const entries = [entry, ...old];
    const kept = entries.slice(0, RECORD_LIMITS.maxEntries);
    await writeFileAtomic(
      this.indexFile(manifestDigest),
      JSON.stringify({ format: 'moat-scan-records-1', entries: kept } satisfies IndexFile),
    );
    for (const e of entries.slice(RECORD_LIMITS.maxEntries))
      await fsp.rm(this.reportFile(manifestDigest, e.key), { force: true }).catch(() => undefined);
  }

  private async names(): Promise<string[]> {
    return readdirOrEmpty(this.dir);
  }

  /** Manifest digests with any record file (an index, a report, a write in progress). */
  async digests(): Promise<string[]> {
    const found = new Set<string>();
    for (const n of await this.names()) {
      const m = RECORD_FILE.exec(n);
      if (m) found.add(`sha256:${m[1]}`);
    }
    return [...found];
  }

  /**
   * Delete every record of the image. The index goes first: from then on a reader finds no
   * entry, so one stopped half-way leaves reports no index points at (digests() still lists
   * them, and the next prune deletes them), never an entry without its report.
   */
  async remove(manifestDigest: string): Promise<void> {
    const hex = digestHex(manifestDigest);
    await fsp.rm(this.indexFile(manifestDigest), { force: true });
    for (const n of await this.names()) {
      if (RECORD_FILE.exec(n)?.[1] === hex) await fsp.rm(path.join(this.dir, n), { force: true });
    }
  }
}
