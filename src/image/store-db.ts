import { promises as fsp } from 'node:fs';
import { errnoCode } from '../errors.js';
import { ImageError } from './errors.js';
import type { ImageRecord } from './types.js';

/**
 * What the image store's files share: its records file (images.json) read and checked, the view
 * of the store that store-fsck.ts and store-prune.ts work through, and two small helpers. The
 * layout, and who may change what, are described in store.ts.
 */

export interface StoreFile {
  version: 1;
  images: ImageRecord[];
  /** Records of images removed while containers used them (see the top of store.ts). */
  retained?: ImageRecord[];
}

/**
 * What fsck and prune use of an ImageStore, private parts included. `withLock` is the store's
 * own: the instance queue, then the images.lock file, so updates made through it are serialised
 * with every other update of the store.
 */
export interface StoreAccess {
  readonly root: string;
  readonly tmpDir: string;
  blobPath(digest: string): string;
  blobSize(digest: string): Promise<number | undefined>;
  listBlobs(): Promise<string[]>;
  readDb(): Promise<StoreFile>;
  writeDb(db: StoreFile): Promise<void>;
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** The records other rooms keep per image (see DigestRecords). */
  readonly records: readonly DigestRecords[];
}

/**
 * Records another room keeps beside the store for each image, named by its manifest digest: the
 * scanner's reports (src/scan/record.ts) and trust verifications (src/trust/record.ts), each one
 * of the store's `records` (runtime/context.ts connects them: the image room imports neither).
 * They live as long as a listed image has that manifest: removing, pruning or replacing the image
 * drops them before images.json stops naming it, so an interrupted removal leaves an image without
 * records (scanned or verified again when needed), never records of no image. Those can still
 * appear (a scan or verification finishing after its image was removed, records made before this
 * rule): `prune` deletes them and `fsck` lists them (see orphanRecords).
 */
export interface DigestRecords {
  /** What they are, in messages (`scan`, `trust`): "scan records of no image". */
  readonly kind?: string;
  /** Manifest digests that have records (partly written ones included). */
  digests(): Promise<string[]>;
  /** Delete every record of the digest; none is not an error. */
  remove(manifestDigest: string): Promise<void>;
}

/** Drop the records of `candidates` (manifest digests) that no listed image in `db` has. */
export async function dropRecords(
  records: readonly DigestRecords[],
  db: StoreFile,
  candidates: Iterable<string>,
): Promise<string[]> {
  const live = new Set(db.images.map((i) => i.manifestDigest));
  const gone = [...new Set(candidates)].filter((d) => !live.has(d));
  for (const r of records) for (const d of gone) await r.remove(d);
  return gone;
}

/**
 * Manifest digests that have records but no listed image in `db` (sorted), each with the kinds
 * of records it has (in the order of `records`).
 */
export async function orphanRecords(
  records: readonly DigestRecords[],
  db: StoreFile,
): Promise<Map<string, string[]>> {
  const live = new Set(db.images.map((i) => i.manifestDigest));
  const found = new Map<string, string[]>();
  for (const r of records) {
    for (const d of new Set(await r.digests())) {
      if (!live.has(d)) found.set(d, [...(found.get(d) ?? []), r.kind ?? 'per-image']);
    }
  }
  return new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Read images.json; an absent file is an empty store, an unreadable one IMAGE_STORE_CORRUPT. */
export async function readStoreFile(dbPath: string): Promise<StoreFile> {
  let text: string;
  try {
    text = await fsp.readFile(dbPath, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { version: 1, images: [] };
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(dbPath, (e as Error).message);
  }
  const images = (value as { images?: unknown } | null)?.images;
  if (!Array.isArray(images)) throw corrupt(dbPath, 'no images array');
  const retained = (value as { retained?: unknown }).retained;
  return {
    version: 1,
    images: images as ImageRecord[],
    ...(Array.isArray(retained) && retained.length ? { retained: retained as ImageRecord[] } : {}),
  };
}

/** Every blob a record references: manifest, config and layers. */
export function blobsOf(r: ImageRecord): string[] {
  return [r.manifestDigest, r.id, ...r.layers.map((l) => l.digest)];
}

function corrupt(file: string, why: string): ImageError {
  return new ImageError('IMAGE_STORE_CORRUPT', `${file} is unreadable: ${why}`, {
    hint: 'restore it from a backup or move it aside (images will have to be loaded again)',
  });
}

export function blobNotFound(digest: string, what = 'blob'): ImageError {
  return new ImageError('IMAGE_BLOB_NOT_FOUND', `${what} ${digest} is not in the image store`, {
    details: { digest },
  });
}
