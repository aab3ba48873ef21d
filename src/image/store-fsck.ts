import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode } from '../errors.js';
import { DigestStream } from './digest.js';
import { orphanRecords, type StoreAccess } from './store-db.js';

/** `ImageStore.fsck()`: the image store's blobs re-hashed and its records checked against them. */

export interface FsckResult {
  /** Blobs re-hashed. */
  checked: number;
  /** Blobs whose bytes do not hash to their name (removed with `repair`). */
  corrupt: { digest: string; actual: string; size: number }[];
  /** Blobs an image needs that are missing or have the wrong size. */
  missing: { image: string; digest: string; reason: string }[];
  /** Files in blobs/ that are not named by a digest (removed with `repair`). */
  strays: string[];
  /** Temp files of interrupted writes (never visible as blobs; `image prune` removes them). */
  temp: string[];
  /**
   * Manifest digests of no listed image that still have per-image records (scan reports, trust
   * verifications): left by an interrupted removal or a scan or verification that outlived its
   * image. Removed with `repair` (under the store lock, checked again there) and by `image prune`.
   */
  orphanRecords: string[];
  /** The kinds of records each of `orphanRecords` has (`scan`, `trust`). */
  orphanRecordKinds: Record<string, string[]>;
  removed: string[];
}

/**
 * Re-hash every blob and check every image's blobs are present with their sizes. With
 * `repair`, corrupt blobs and stray files are deleted (images that need them can be pulled or
 * loaded again). Runs without the store lock: blobs are immutable once named. Per-image records
 * of no listed image are listed too (`orphanRecords`), and deleted with `repair`.
 */
export async function fsckStore(store: StoreAccess, opts: { repair?: boolean } = {}): Promise<FsckResult> {
  const res: FsckResult = {
    checked: 0,
    corrupt: [],
    missing: [],
    strays: [],
    temp: [],
    orphanRecords: [],
    orphanRecordKinds: {},
    removed: [],
  };
  const dir = path.join(store.root, 'blobs', 'sha256');
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  for (const n of names) {
    const full = path.join(dir, n);
    if (!/^[a-f0-9]{64}$/.test(n)) {
      res.strays.push(full);
      if (opts.repair) {
        await fsp.rm(full, { force: true, recursive: true });
        res.removed.push(full);
      }
      continue;
    }
    const digest = `sha256:${n}`;
    const counter = new DigestStream();
    try {
      await pipeline(
        (await fsp.open(full, 'r')).createReadStream(),
        counter,
        new Writable({ write: (_c, _e, cb) => cb() }),
      );
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') continue;
      throw e;
    }
    res.checked++;
    if (counter.digest !== digest) {
      res.corrupt.push({ digest, actual: counter.digest, size: counter.size });
      if (opts.repair) {
        await fsp.rm(full, { force: true });
        res.removed.push(digest);
      }
    }
  }
  const bad = new Set(res.corrupt.map((c) => c.digest));
  const db = await store.readDb();
  for (const img of [...db.images, ...(db.retained ?? [])]) {
    const needs: [string, number | undefined][] = [
      [img.manifestDigest, undefined],
      [img.id, undefined],
      ...img.layers.map((l): [string, number] => [l.digest, l.size]),
    ];
    for (const [d, size] of needs) {
      const actual = await store.blobSize(d);
      const reason =
        actual === undefined
          ? 'missing'
          : bad.has(d)
            ? 'corrupt'
            : size !== undefined && actual !== size
              ? `size ${actual}, expected ${size}`
              : undefined;
      if (reason) res.missing.push({ image: img.names[0] ?? img.id, digest: d, reason });
    }
  }
  res.temp = await fsp.readdir(store.tmpDir).catch(() => [] as string[]);
  const orphans = await orphanRecords(store.records, db);
  res.orphanRecords = [...orphans.keys()];
  res.orphanRecordKinds = Object.fromEntries(orphans);
  if (opts.repair && orphans.size) {
    // Under the lock, against images.json as it is then: an image added meanwhile keeps its own.
    await store.withLock(async () => {
      const now = await store.readDb();
      for (const d of (await orphanRecords(store.records, now)).keys())
        for (const r of store.records) await r.remove(d);
    });
  }
  return res;
}
