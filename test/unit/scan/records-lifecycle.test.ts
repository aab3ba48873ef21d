/**
 * Scan records live as long as their image (issue 14): the image store drops the records of a
 * manifest no listed image has any more — `remove` (rmi) of its last name or by ID, with or
 * without containers keeping it (`retain`), `prune`, and a re-add replacing the image's manifest —
 * before images.json stops naming it; a digest still named keeps its records; records of no image
 * (an interrupted removal, a scan that outlived its image) are listed by `fsck` and deleted by
 * `fsck --repair` and `prune`.
 */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageStore, type DigestRecords } from '../../../src/image/store.js';
import type { ImageRecord } from '../../../src/image/types.js';
import { ScanRecords } from '../../../src/scan/record.js';
import type { ScanReport } from '../../../src/scan/report/types.js';
import { recordedScan, scanStored } from '../../../src/scan/service.js';
import { sha256 } from '../image/helpers.js';
import { CLEAN_BASE, storeImage, tempDir } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

// A home and configuration directory that are certainly missing (not /nonexistent: a machine may have one).
const missing = path.join(mkdtempSync(path.join(tmpdir(), 'moat-nohome-')), 'missing');
const env: NodeJS.ProcessEnv = { HOME: missing, XDG_CONFIG_HOME: missing };
const NONE = { vex: [] as string[] };

async function world(records?: (dir: string) => DigestRecords[]) {
  const t = await tempDir('moat-scan-life-');
  cleanups.push(t.cleanup);
  const scan = new ScanRecords(t.dir);
  const store = new ImageStore(t.dir, { records: records ? records(t.dir) : [scan] });
  /** Every file in the records directory (indexes, reports), sorted. */
  const files = () => (existsSync(scan.dir) ? readdirSync(scan.dir).sort() : []);
  const image = async (marker: string, ...names: string[]) => {
    const { record } = await storeImage(store, [
      [...CLEAN_BASE, { name: 'etc/marker', content: `${marker}\n` }],
    ]);
    for (const n of names) await store.tag(record.id, n);
    return record;
  };
  const scanned = async (rec: ImageRecord) => {
    await scanStored(store, rec, { env });
    expect(recordedScan(store.root, rec, NONE)).toBeDefined();
  };
  const filesOf = (rec: ImageRecord) => files().filter((f) => f.startsWith(rec.manifestDigest.slice(7)));
  return { dir: t.dir, store, scan, files, filesOf, image, scanned };
}

describe('records go with their image', () => {
  it('rmi of the last name: the index and every report are gone; other images keep theirs', async () => {
    const w = await world();
    const a = await w.image('a', 'localhost/a:1');
    const b = await w.image('b', 'localhost/b:1');
    await w.scanned(a);
    await w.scanned(b);
    expect(w.filesOf(a)).toHaveLength(2); // the index and one report
    const res = await w.store.remove('localhost/a:1');
    expect(res.deleted).toEqual([a.id]);
    expect(w.filesOf(a)).toEqual([]);
    expect(recordedScan(w.store.root, a, NONE)).toBeUndefined();
    expect(w.filesOf(b)).toHaveLength(2);
    expect(recordedScan(w.store.root, b, NONE)).toBeDefined();
  });

  it('two names: removing one keeps the records, removing the other drops them', async () => {
    const w = await world();
    const a = await w.image('a', 'localhost/a:1', 'localhost/a:2');
    await w.scanned(a);
    const before = w.files();
    expect((await w.store.remove('localhost/a:1')).deleted).toEqual([]);
    expect(w.files()).toEqual(before);
    expect(recordedScan(w.store.root, a, NONE)).toBeDefined();
    await w.store.remove('localhost/a:2');
    expect(w.files()).toEqual([]);
  });

  it('by ID with force, and when containers keep the image (retain): the records go too', async () => {
    const w = await world();
    const a = await w.image('a', 'localhost/a:1', 'localhost/a:2');
    const b = await w.image('b', 'localhost/b:1');
    await w.scanned(a);
    await w.scanned(b);
    await w.store.remove(a.id, { force: true });
    expect(w.filesOf(a)).toEqual([]);
    await w.store.remove('localhost/b:1', { retain: true });
    expect(w.filesOf(b)).toEqual([]);
    expect(w.files()).toEqual([]);
  });

  it('prune deletes the records of the images it deletes, not of those it keeps', async () => {
    const w = await world();
    const dangling = await w.image('d');
    const kept = await w.image('k', 'localhost/k:1');
    const used = await w.image('u');
    for (const r of [dangling, kept, used]) await w.scanned(r);
    const res = await w.store.prune({ minAgeMs: 0, images: 'dangling', inUse: new Set([used.id]) });
    expect(res.deleted).toEqual([dangling.id]);
    expect(res.removedRecords).toEqual([]);
    expect(w.filesOf(dangling)).toEqual([]);
    expect(w.filesOf(kept)).toHaveLength(2);
    expect(w.filesOf(used)).toHaveLength(2);
  });

  it('a re-add replacing the manifest of an image drops the old manifest’s records', async () => {
    const w = await world();
    const a = await w.image('a', 'localhost/a:1');
    await w.scanned(a);
    // the same config and layers under another manifest (an annotation added)
    const m = JSON.parse((await w.store.readBlob(a.manifestDigest)).toString('utf8')) as object;
    const other = Buffer.from(JSON.stringify({ ...m, annotations: { 'org.example': 'x' } }));
    await w.store.putBlob(other);
    const again = await w.store.addImage(sha256(other), ['localhost/a:1']);
    expect(again.id).toBe(a.id);
    expect(again.manifestDigest).not.toBe(a.manifestDigest);
    expect(w.filesOf(a)).toEqual([]);
  });
});

describe('an interrupted removal', () => {
  it('drops the records before images.json: stopped there, the image is listed and unscanned', async () => {
    let fail = true;
    const w = await world((dir) => {
      const scan = new ScanRecords(dir);
      return [
        {
          digests: () => scan.digests(),
          // moat stops after the index went, before the reports and images.json
          remove: async (d) => {
            if (!fail) return scan.remove(d);
            await rm(path.join(scan.dir, `${d.slice(7)}.json`));
            throw new Error('interrupted');
          },
        },
      ];
    });
    const a = await w.image('a', 'localhost/a:1');
    await w.scanned(a);
    await expect(w.store.remove('localhost/a:1')).rejects.toThrow('interrupted');
    // still listed, with no record a reader could take for a scan of it
    expect((await w.store.list()).map((i) => i.id)).toEqual([a.id]);
    expect(recordedScan(w.store.root, a, NONE)).toBeUndefined();
    expect(w.filesOf(a)).toHaveLength(1); // its report, which no index points at
    // not an orphan: the image is listed, so prune leaves it to the image's own removal
    expect((await w.store.prune({ minAgeMs: 0 })).removedRecords).toEqual([]);
    expect(w.filesOf(a)).toHaveLength(1);
    fail = false;
    await w.scanned(a);
    await w.store.remove('localhost/a:1');
    expect(w.files()).toEqual([]);
    expect(await w.store.list()).toEqual([]);
  });

  it('records of no listed image: fsck lists them, --repair and prune delete them', async () => {
    const w = await world();
    const a = await w.image('a', 'localhost/a:1');
    await w.scanned(a);
    // left behind: a report with no index, and a whole record of an image that is gone
    const ghost = `sha256:${'e'.repeat(64)}`;
    const half = `sha256:${'f'.repeat(64)}`;
    const entry = { ...recordedScan(w.store.root, a, NONE)! };
    await w.scan.put(ghost, entry, {} as ScanReport);
    await w.scan.put(half, entry, {} as ScanReport);
    await rm(path.join(w.scan.dir, `${'f'.repeat(64)}.json`));

    const check = await w.store.fsck();
    expect(check.orphanRecords).toEqual([ghost, half]);
    expect(w.files().filter((f) => /^[ef]/.test(f))).toHaveLength(3);
    const repaired = await w.store.fsck({ repair: true });
    expect(repaired.orphanRecords).toEqual([ghost, half]);
    expect(w.files().filter((f) => /^[ef]/.test(f))).toEqual([]);
    expect((await w.store.fsck()).orphanRecords).toEqual([]);

    await w.scan.put(ghost, entry, {} as ScanReport);
    const res = await w.store.prune({ minAgeMs: 60_000 });
    expect(res.removedRecords).toEqual([ghost]);
    expect(w.files().filter((f) => f.startsWith('e'))).toEqual([]);
    // the listed image's records stay
    expect(w.filesOf(a)).toHaveLength(2);
    expect(recordedScan(w.store.root, a, NONE)).toBeDefined();
  });
});
