/**
 * The scan as moat runs it (src/scan/service.ts) and its record (src/scan/record.ts): a report
 * made with a database written by the test, VEX suppression, "no database" as a notice, the
 * record keyed by the database's state and VEX content, bounded, and read back without scanning;
 * where the database comes from (src/scan/config.ts).
 */
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanConfig } from '../../../src/scan/config.js';
import { isScanError } from '../../../src/scan/errors.js';
import { RECORD_LIMITS, ScanRecords, type ScanRecordEntry } from '../../../src/scan/record.js';
import type { ScanReport } from '../../../src/scan/report/types.js';
import {
  NO_DATABASE_NOTE,
  readScanRecord,
  recordedScan,
  scanStored,
  scanSummaryFacts,
} from '../../../src/scan/service.js';
import { CLEAN_BASE, storeImage, tempDir, tempStore, type StoredImage } from './helpers.js';

const STATUS = [
  'Package: libfoo1',
  'Status: install ok installed',
  'Source: foo',
  'Version: 1.0-1',
  'Architecture: amd64',
  '',
  'Package: bar',
  'Status: install ok installed',
  'Version: 2.0-1',
  'Architecture: amd64',
  '',
].join('\n');

const RECORD = {
  id: 'DEBIAN-CVE-2099-0001',
  modified: '2024-06-01T00:00:00Z',
  summary: 'foo overflows',
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  affected: [
    {
      package: { ecosystem: 'Debian:12', name: 'foo' },
      ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0-2' }] }],
    },
  ],
};

const VEX = {
  '@context': 'https://openvex.dev/ns/v0.2.0',
  '@id': 'https://example.invalid/vex/1',
  author: 'test',
  timestamp: '2024-07-01T00:00:00Z',
  version: 1,
  statements: [
    {
      vulnerability: { name: 'DEBIAN-CVE-2099-0001' },
      products: [{ '@id': 'pkg:deb/debian/libfoo1@1.0-1?arch=amd64&distro=debian-12' }],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
    },
  ],
};

let img: StoredImage;
let dir: string;
let db: string;
let vex: string;
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  HOME: dir,
  XDG_CONFIG_HOME: path.join(dir, 'config'),
  XDG_CACHE_HOME: path.join(dir, 'cache'),
  ...extra,
});
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const s = await tempStore();
  cleanups.push(s.cleanup);
  const t = await tempDir('moat-scan-svc-');
  cleanups.push(t.cleanup);
  dir = t.dir;
  img = await storeImage(s.store, [
    [
      ...CLEAN_BASE,
      { name: 'etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
      { name: 'var/', type: 'directory' },
      { name: 'var/lib/', type: 'directory' },
      { name: 'var/lib/dpkg/', type: 'directory' },
      { name: 'var/lib/dpkg/status', content: STATUS },
    ],
  ]);
  db = path.join(dir, 'osv');
  mkdirSync(db);
  writeFileSync(path.join(db, 'DEBIAN-CVE-2099-0001.json'), JSON.stringify(RECORD));
  vex = path.join(dir, 'vex.json');
  writeFileSync(vex, JSON.stringify(VEX));
});
afterAll(async () => {
  for (const c of cleanups) await c();
});

const vulns = (r: ScanReport) => r.findings.filter((f) => f.kind === 'vulnerability');

describe('scanStored', () => {
  it('matches the inventory against the database and records the report under its setting', async () => {
    const r = await scanStored(img.store, img.record, { db, env: env() });
    expect(r.packages.map((p) => `${p.name} ${p.version}`).sort()).toEqual(['bar 2.0-1', 'libfoo1 1.0-1']);
    expect(vulns(r)).toMatchObject([
      { rule: 'DEBIAN-CVE-2099-0001', severity: 'critical', fixed: '1.0-2', package: { name: 'libfoo1' } },
    ]);
    expect(r.db).toMatchObject({ path: db, records: 1, newest: '2024-06-01T00:00:00Z' });
    expect(r.db!.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.notes).not.toContain(NO_DATABASE_NOTE);
    expect(r.image).toMatchObject({ id: img.record.id, digest: img.record.manifestDigest });

    const cfg = { db, vex: [] };
    const e = recordedScan(img.store.root, img.record, cfg);
    expect(e?.summary).toMatchObject({ critical: 1, high: 0, fixable: 1, packages: 2 });
    expect(e?.db).toMatchObject({ source: db, version: r.db!.version, records: 1 });
    expect(e?.scanner).toBe(r.scanner.version);
    expect(await readScanRecord(img.store.root, img.record, cfg)).toEqual(r);
  });

  it('without a database: a notice in the report, db null, a record of its own', async () => {
    const r = await scanStored(img.store, img.record, { env: env() });
    expect(r.db).toBeNull();
    expect(vulns(r)).toEqual([]);
    expect(r.notes).toContain(NO_DATABASE_NOTE);
    const e = recordedScan(img.store.root, img.record, { vex: [] });
    expect(e?.db).toBeNull();
    expect(scanSummaryFacts(e)?.db).toBeNull();
    // the database's entry is still there, beside it
    expect(recordedScan(img.store.root, img.record, { db, vex: [] })?.summary.critical).toBe(1);
  });

  it('a VEX statement suppresses the finding: kept in `suppressed`, not counted', async () => {
    const r = await scanStored(img.store, img.record, { db, vex: [vex], env: env() });
    expect(vulns(r)).toEqual([]);
    expect(r.suppressed).toMatchObject([
      {
        rule: 'DEBIAN-CVE-2099-0001',
        vex: { status: 'not_affected', document: 'https://example.invalid/vex/1' },
      },
    ]);
    expect(recordedScan(img.store.root, img.record, { db, vex: [vex] })?.summary.critical).toBe(0);
  });

  it('a changed database or VEX document is another setting: the lookup misses until scanned', async () => {
    const other = path.join(dir, 'osv2');
    mkdirSync(other);
    writeFileSync(path.join(other, 'a.json'), JSON.stringify(RECORD));
    await scanStored(img.store, img.record, { db: other, env: env() });
    expect(recordedScan(img.store.root, img.record, { db: other, vex: [] })).toBeDefined();
    writeFileSync(
      path.join(other, 'b.json'),
      JSON.stringify({ ...RECORD, id: 'DEBIAN-CVE-2099-0002', modified: '2024-06-02T00:00:00Z' }),
    );
    expect(recordedScan(img.store.root, img.record, { db: other, vex: [] })).toBeUndefined();
    // a touched file (same name, size) is a new state too
    utimesSync(path.join(other, 'a.json'), new Date(), new Date(Date.now() - 5000));
    await scanStored(img.store, img.record, { db: other, env: env() });
    const e = recordedScan(img.store.root, img.record, { db: other, vex: [] });
    expect(e?.summary.critical).toBe(2);
    // a database that is gone: no record (the run scans, and the scan says why)
    expect(recordedScan(img.store.root, img.record, { db: path.join(dir, 'gone'), vex: [] })).toBeUndefined();
  });

  it("facts: the database's age as of now, not as of the scan", () => {
    const e = recordedScan(img.store.root, img.record, { db, vex: [] });
    const s = scanSummaryFacts(e, new Date('2024-06-11T12:00:00Z'));
    expect(s?.db).toEqual({ version: e!.db!.version, age_days: 10 });
    expect(scanSummaryFacts(undefined)).toBeUndefined();
  });
});

describe('ScanRecords', () => {
  const entry = (key: string): ScanRecordEntry => ({
    key,
    scanner: 'x',
    db: null,
    vex: [],
    at: new Date().toISOString(),
    summary: {} as ScanRecordEntry['summary'],
  });

  it('keeps the newest entries and removes the reports of the others', async () => {
    const s = await tempDir('moat-scan-rec-');
    try {
      const recs = new ScanRecords(s.dir);
      const digest = `sha256:${'a'.repeat(64)}`;
      const keys = Array.from({ length: RECORD_LIMITS.maxEntries + 3 }, (_, i) =>
        i.toString(16).padStart(32, '0'),
      );
      for (const k of keys) await recs.put(digest, entry(k), { notes: [k] } as unknown as ScanReport);
      expect(recs.entries(digest).map((e) => e.key)).toEqual(
        [...keys].reverse().slice(0, RECORD_LIMITS.maxEntries),
      );
      const files = readdirSync(recs.dir).filter((f) => f.endsWith('.report.json'));
      expect(files).toHaveLength(RECORD_LIMITS.maxEntries);
      expect((await recs.report(digest, keys.at(-1)!))?.notes).toEqual([keys.at(-1)]);
      expect(await recs.report(digest, keys[0])).toBeUndefined();
      // the same setting again replaces its entry
      await recs.put(digest, { ...entry(keys.at(-1)!), scanner: 'y' }, {} as ScanReport);
      expect(recs.entries(digest)).toHaveLength(RECORD_LIMITS.maxEntries);
      expect(recs.get(digest, keys.at(-1)!)?.scanner).toBe('y');
    } finally {
      await s.cleanup();
    }
  });

  it('a damaged or foreign index is no record, never an error', async () => {
    const s = await tempDir('moat-scan-rec-');
    try {
      const recs = new ScanRecords(s.dir);
      const digest = `sha256:${'b'.repeat(64)}`;
      mkdirSync(recs.dir, { recursive: true });
      writeFileSync(path.join(recs.dir, `${'b'.repeat(64)}.json`), '{not json');
      expect(recs.entries(digest)).toEqual([]);
      writeFileSync(
        path.join(recs.dir, `${'b'.repeat(64)}.json`),
        JSON.stringify({ format: 'other', entries: [1] }),
      );
      expect(recs.get(digest, '0'.repeat(32))).toBeUndefined();
    } finally {
      await s.cleanup();
    }
  });
});

describe('scanConfig', () => {
  it('$MOAT_VULN_DB, else scan.json (paths relative to it), else none', () => {
    const cfgDir = path.join(dir, 'config', 'moat');
    mkdirSync(cfgDir, { recursive: true });
    expect(scanConfig(env())).toEqual({ vex: [], from: 'none' });
    writeFileSync(path.join(cfgDir, 'scan.json'), JSON.stringify({ db: '../../osv', vex: ['v.json'] }));
    expect(scanConfig(env())).toEqual({ db: db, vex: [path.join(cfgDir, 'v.json')], from: 'file' });
    expect(scanConfig(env({ MOAT_VULN_DB: '/srv/osv.zip', MOAT_VEX: '/a.json:/b.json' }))).toEqual({
      db: '/srv/osv.zip',
      vex: ['/a.json', '/b.json'],
      from: 'env',
    });
    for (const bad of ['[1]', '{"db": 3}', '{"dbs": "x"}', '{"vex": "x"}', 'nope']) {
      writeFileSync(path.join(cfgDir, 'scan.json'), bad);
      let err: unknown;
      try {
        scanConfig(env());
      } catch (e) {
        err = e;
      }
      expect(isScanError(err) && err.code, bad).toBe('SCAN_CONFIG_INVALID');
    }
    writeFileSync(path.join(cfgDir, 'scan.json'), '{}');
  });
});
