/**
 * The database: the three source forms give the same records, the index cache spares later loads
 * the source, bounds and failures are distinct codes.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dbAgeDays, loadVulnDb, type VulnDb } from '../../../../src/scan/vuln/db.js';
import { matchPackages } from '../../../../src/scan/vuln/match.js';
import { NEWEST, PACKAGES, RECORDS, recordFiles, tarGzOf, writeDir, zipOf } from './fixtures.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'moat-vulndb-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
const fresh = () => path.join(tmp, `case${++n}`);

/** A whole-second mtime, which utimes sets exactly (a Date's milliseconds go through a float). */
const pin = (file: string) => utimesSync(file, 1_700_000_000, 1_700_000_000);

/** Overwrite a file with other bytes of the same size and mtime: invisible to the fingerprint. */
function scramble(file: string): void {
  const st = statSync(file);
  writeFileSync(file, Buffer.alloc(st.size, 0x20).fill('{', 0, 1));
  pin(file);
}

const summary = (db: VulnDb) =>
  matchPackages(Object.values(PACKAGES), db).map((f) => `${f.rule} ${f.package?.name} ${f.fixed ?? '-'}`);

describe('vulnerability database', () => {
  it('reads a directory, a zip and a tar.gz of OSV records alike', async () => {
    const dir = fresh();
    writeDir(dir);
    const zip = path.join(tmp, 'all.zip');
    writeFileSync(zip, zipOf(recordFiles()));
    const stored = path.join(tmp, 'stored.zip');
    writeFileSync(stored, zipOf(recordFiles(), 0));
    const tgz = path.join(tmp, 'osv.tar.gz');
    writeFileSync(tgz, await tarGzOf(recordFiles()));
    const cacheDir = fresh();
    const dbs = await Promise.all([dir, zip, stored, tgz].map((p) => loadVulnDb(p, { cacheDir })));
    expect(dbs.map((d) => d.kind)).toEqual(['dir', 'zip', 'zip', 'tar']);
    // The withdrawn record is dropped; the GIT-only one stays a record with nothing to match.
    for (const db of dbs) {
      expect(db.records).toBe(RECORDS.length - 1);
      expect(db.skipped).toBe(0);
      expect(db.modified).toBe(NEWEST);
      expect(db.version).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(db.fromCache).toBe(false);
      expect(summary(db)).toEqual(summary(dbs[0]));
    }
    expect(summary(dbs[0]).length).toBeGreaterThan(5);
    expect(dbAgeDays(dbs[0], new Date('2024-07-10T12:00:00Z'))).toBe(10);
  });

  it('uses the cached index on the second load: the source is not read again', async () => {
    const dir = fresh();
    writeDir(dir);
    for (const r of RECORDS) pin(path.join(dir, `${String(r.id)}.json`));
    const cacheDir = fresh();
    const first = await loadVulnDb(dir, { cacheDir });
    expect(first.fromCache).toBe(false);
    // Every record replaced by garbage of the same size and mtime: a re-read would find no records.
    for (const r of RECORDS) scramble(path.join(dir, `${String(r.id)}.json`));
    const second = await loadVulnDb(dir, { cacheDir });
    expect(second.fromCache).toBe(true);
    expect(second.version).toBe(first.version);
    expect(second.modified).toBe(first.modified);
    expect(summary(second)).toEqual(summary(first));

    // The same for a zip.
    const zip = path.join(tmp, 'cached.zip');
    writeFileSync(zip, zipOf(recordFiles()));
    pin(zip);
    const z1 = await loadVulnDb(zip, { cacheDir });
    scramble(zip);
    const z2 = await loadVulnDb(zip, { cacheDir });
    expect([z1.fromCache, z2.fromCache]).toEqual([false, true]);
    expect(summary(z2)).toEqual(summary(z1));
  });

  it('indexes again when the source changes, and keeps the cache under $XDG_CACHE_HOME/moat/vulndb', async () => {
    const dir = fresh();
    writeDir(dir, RECORDS.slice(0, 3));
    const cache = fresh();
    const env = { XDG_CACHE_HOME: cache, HOME: path.join(cache, 'missing-home') };
    const a = await loadVulnDb(dir, { env });
    writeDir(dir, RECORDS.slice(3, 4));
    const b = await loadVulnDb(dir, { env });
    expect([a.records, b.records, b.fromCache]).toEqual([3, 4, false]);
    expect(b.version).not.toBe(a.version);
    const index = JSON.parse(
      readFileSync(
        path.join(cache, 'moat', 'vulndb', readdir1(path.join(cache, 'moat', 'vulndb')), 'index.json'),
        'utf8',
      ),
    ) as { format: number };
    expect(index.format).toBe(1);
  });

  it('skips and counts records that are not OSV JSON or too large; never silently', async () => {
    const dir = fresh();
    writeDir(dir, RECORDS.slice(0, 2));
    writeFileSync(path.join(dir, 'broken.json'), '{"id": ');
    writeFileSync(path.join(dir, 'noid.json'), '{"modified": "2024-01-01T00:00:00Z"}');
    writeFileSync(
      path.join(dir, 'big.json'),
      JSON.stringify({ ...RECORDS[0], id: 'BIG', pad: 'x'.repeat(5000) }),
    );
    writeFileSync(path.join(dir, 'notes.txt'), 'not a record');
    const db = await loadVulnDb(dir, { cacheDir: fresh(), limits: { maxRecordBytes: 4000 } });
    expect(db.records).toBe(2);
    expect(db.skipped).toBe(3);
    expect(db.skippedFiles.map((s) => s.file).sort()).toEqual(['big.json', 'broken.json', 'noid.json']);
  });

  it('has a distinct code for each way of having no usable database', async () => {
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    expect(await code(loadVulnDb(undefined))).toBe('VULN_DB_NOT_CONFIGURED');
    expect(await code(loadVulnDb(path.join(tmp, 'nope')))).toBe('VULN_DB_MISSING');
    const junk = path.join(tmp, 'junk.bin');
    writeFileSync(junk, 'this is neither a zip nor a tar');
    expect(await code(loadVulnDb(junk, { cacheDir: fresh() }))).toBe('VULN_DB_UNREADABLE');
    // A database with no record at all (empty, or nothing but files that are not OSV) is refused.
    const empty = fresh();
    writeDir(empty, []);
    writeFileSync(path.join(empty, 'x.json'), '[]');
    expect(await code(loadVulnDb(empty, { cacheDir: fresh() }))).toBe('VULN_DB_UNREADABLE');
    const bad = path.join(tmp, 'bad.zip');
    const z = zipOf(recordFiles());
    z[z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))] = 0; // damage the central directory
    writeFileSync(bad, z);
    expect(await code(loadVulnDb(bad, { cacheDir: fresh() }))).toBe('VULN_DB_UNREADABLE');
    const dir = fresh();
    writeDir(dir);
    expect(await code(loadVulnDb(dir, { cacheDir: fresh(), limits: { maxRecords: 3 } }))).toBe(
      'VULN_DB_TOO_LARGE',
    );
    expect(await code(loadVulnDb(dir, { cacheDir: fresh(), limits: { maxTotalBytes: 1000 } }))).toBe(
      'VULN_DB_TOO_LARGE',
    );
    const tgz = path.join(tmp, 'big.tar.gz');
    writeFileSync(tgz, await tarGzOf(recordFiles()));
    expect(await code(loadVulnDb(tgz, { cacheDir: fresh(), limits: { maxTotalBytes: 1000 } }))).toBe(
      'VULN_DB_TOO_LARGE',
    );
  });

  it('refuses a zip entry that inflates beyond the size it declares', async () => {
    const files = recordFiles().slice(0, 1);
    const z = zipOf(files);
    // Lower the declared size in the central directory (the deflated data is unchanged).
    const cd = z.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    z.writeUInt32LE(10, cd + 24);
    const p = path.join(tmp, 'bomb.zip');
    writeFileSync(p, z);
    await expect(loadVulnDb(p, { cacheDir: fresh() })).rejects.toMatchObject({ code: 'VULN_DB_UNREADABLE' });
  });
});

/** The most recently written entry of a directory. */
function readdir1(dir: string): string {
  const names = readdirSync(dir).sort(
    (a, b) => statSync(path.join(dir, a)).mtimeMs - statSync(path.join(dir, b)).mtimeMs,
  );
  expect(names.length).toBeGreaterThan(0);
  return names[names.length - 1];
}
