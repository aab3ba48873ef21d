import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { blobsOf, dropRecords, orphanRecords, type StoreAccess } from './store-db.js';
import type { ImageRecord } from './types.js';

/** `ImageStore.prune()`: unused image records, unreferenced blobs and leftover temp files deleted. */

/** Which image records `prune` deletes (never one a container uses). */
export type PruneImages = 'none' | 'dangling' | 'all';

export interface PruneOptions {
  /** Unreferenced blobs and temp files younger than this are kept (the default is the route's). */
  minAgeMs: number;
  /** Default 'none': records are left alone. */
  images?: PruneImages;
  /**
   * IDs of images containers use (in any state). Without it no record is deleted and retained
   * records are kept, since nothing says they are unused.
   */
  inUse?: ReadonlySet<string>;
}

export interface PruneResult {
  /** Names of the image records deleted. */
  untagged: string[];
  /** IDs of the image records deleted. */
  deleted: string[];
  /** Blobs no image references, deleted. */
  removedBlobs: string[];
  freedBytes: number;
  /** Leftover temp files of interrupted writes, deleted. */
  removedTemp: string[];
  /**
   * Manifest digests of no listed image whose per-image records (scan reports, trust
   * verifications) were deleted: left by an interrupted removal or a scan or verification that
   * outlived its image. (Records of the images deleted here go with them, unlisted, as with `rmi`.)
   */
  removedRecords: string[];
  /** The kinds of records each of `removedRecords` had (`scan`, `trust`). */
  removedRecordKinds: Record<string, string[]>;
}

/**
 * Delete the image records `images` asks for that no container uses (`inUse`), and retained
 * records no container uses any more, with their blobs. Then delete blobs no image references
 * and temp files of interrupted writes, both only when older than `minAgeMs`: a pull in
 * progress stores its blobs before it records the image, and those must survive a concurrent
 * prune. All of it under the store's lock (`store.withLock`); the age cutoff is taken before.
 * Per-image records (DigestRecords) go with their images, and so do those of no listed image
 * whatever their age: one is only written for a listed image, and no image becomes listed while
 * the lock is held.
 */
export async function pruneStore(store: StoreAccess, opts: PruneOptions): Promise<PruneResult> {
  const cutoff = Date.now() - opts.minAgeMs;
  const mode = opts.images ?? 'none';
  const inUse = opts.inUse;
  return store.withLock(async () => {
    const db = await store.readDb();
    const res: PruneResult = {
      untagged: [],
      deleted: [],
      removedBlobs: [],
      freedBytes: 0,
      removedTemp: [],
      removedRecords: [],
      removedRecordKinds: {},
    };
    const gone: ImageRecord[] = [];
    if (inUse) {
      const unused = (i: ImageRecord) => !inUse.has(i.id);
      const doomed = db.images.filter(
        (i) => unused(i) && (mode === 'all' || (mode === 'dangling' && i.names.length === 0)),
      );
      for (const i of doomed) {
        res.untagged.push(...i.names);
        res.deleted.push(i.id);
      }
      gone.push(...doomed, ...(db.retained ?? []).filter(unused));
      db.images = db.images.filter((i) => !doomed.includes(i));
      db.retained = (db.retained ?? []).filter((i) => !gone.includes(i));
      // The records first, as `rmi` does (see DigestRecords).
      await dropRecords(
        store.records,
        db,
        doomed.map((i) => i.manifestDigest),
      );
      if (gone.length) await store.writeDb(db);
    }
    for (const [d, kinds] of await orphanRecords(store.records, db)) {
      for (const r of store.records) await r.remove(d);
      res.removedRecords.push(d);
      res.removedRecordKinds[d] = kinds;
    }
    const candidates = new Set(gone.flatMap(blobsOf));
    const live = new Set([...db.images, ...(db.retained ?? [])].flatMap(blobsOf));
    for (const d of await store.listBlobs()) {
      if (live.has(d)) continue;
      const st = await fsp.stat(store.blobPath(d)).catch(() => undefined);
      // Blobs of the records deleted here go whatever their age, as `rmi` would delete them.
      if (!st || (st.mtimeMs > cutoff && !candidates.has(d))) continue;
      await fsp.unlink(store.blobPath(d)).catch(() => {});
      res.removedBlobs.push(d);
      res.freedBytes += st.size;
    }
    for (const f of await fsp.readdir(store.tmpDir).catch(() => [] as string[])) {
      const full = path.join(store.tmpDir, f);
      const st = await fsp.stat(full).catch(() => undefined);
      if (!st || st.mtimeMs > cutoff) continue;
      await fsp.rm(full, { force: true, recursive: true });
      res.removedTemp.push(f);
    }
    return res;
  });
}
