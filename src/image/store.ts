import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { errnoCode } from '../errors.js';
import { exists, writeJsonAtomic } from '../util/fsutil.js';
import { withLock } from '../util/lock.js';
import { digestHex, sha256Digest } from './digest.js';
import { ImageError, type ImageErrorCode } from './errors.js';
import { normalizeForStore } from './reference.js';
import {
  blobNotFound,
  blobsOf,
  dropRecords,
  readStoreFile,
  type DigestRecords,
  type StoreAccess,
  type StoreFile,
} from './store-db.js';
import { fsckStore, type FsckResult } from './store-fsck.js';
import { lookupImage, shortId } from './store-lookup.js';
import {
  writeVerifiedTemp,
  type BlobExpectation,
  type BlobWriteObserver,
  type PutBlobResult,
} from './store-blob.js';
import { pruneStore, type PruneOptions, type PruneResult } from './store-prune.js';
import { prepareRecord } from './store-record.js';
import {
  checkConfig,
  checkManifest,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parseJson,
  type ImageConfig,
  type ImageManifest,
  type ImageRecord,
  type ProgressFn,
} from './types.js';

export type { BlobExpectation, BlobWriteObserver, PutBlobResult } from './store-blob.js';
export type { DigestRecords } from './store-db.js';
export type { FsckResult } from './store-fsck.js';
export { lookupImage, shortId } from './store-lookup.js';
export type { PruneImages, PruneOptions, PruneResult } from './store-prune.js';

/**
 * moat's content-addressed image store:
 *
 *   <root>/blobs/sha256/<hex>   immutable blobs (0400), named by the sha256 of their bytes
 *   <root>/images.json          the image records (0600), rewritten atomically (temp file + rename)
 *   <root>/images.lock          held (O_EXCL, contains the pid) around every images.json update
 *   <root>/tmp/                 blobs being written; renamed into blobs/ only once verified
 *
 * A blob appears under its name only after its digest (and size, when announced) was checked
 * while streaming, so anything in blobs/ is complete. images.json is valid JSON at every instant.
 * Directories are 0700 and files 0600 or 0400: the store is its owner's alone (for root, not
 * even container root reads it: root unpacks images itself).
 *
 * images.json also keeps the records of images removed while containers still used them
 * (`retained`): hidden from list and resolve, their blobs stay until `prune` is told that no
 * container uses them any more. A container never needs its image's record, only its root.
 *
 * This file owns the store's layout, its blobs (put, read, list), its records (add, tag, remove,
 * resolve) and the lock discipline: every images.json update runs in `withLock` (this instance's
 * queue, then images.lock). Beside it: store-db.ts (reading images.json; the view of the store
 * fsck and prune get), store-blob.ts (a blob written to a temp file, verified while it streams), store-record.ts (the record checked and built for `addImages`),
 * store-lookup.ts (how a typed name or ID finds a record), store-fsck.ts (`fsck`, lock-free) and
 * store-prune.ts (`prune`, under that same lock).
 *
 * Records other rooms keep per image by manifest digest (scan reports, trust verifications;
 * `records` below) go when no listed image has that manifest any more: dropped under the lock
 * before images.json is rewritten without it (see DigestRecords in store-db.ts).
 */

export interface ImageStoreOptions {
  /** How long to wait for another process's lock before IMAGE_LOCK_TIMEOUT. Default 10 s. */
  lockTimeoutMs?: number;
  /** Records kept per image by manifest digest, removed with the image (see DigestRecords). */
  records?: DigestRecords[];
}

export interface AddImageRequest {
  manifestDigest: string;
  /** Names to give the image; short names become `localhost/NAME:TAG`. */
  names?: string[];
  /** `host/path@sha256:…` references that name this image (see ImageRecord.repoDigests). */
  repoDigests?: string[];
}

export interface RemoveResult {
  untagged: string[];
  /** IDs of deleted image records: the image's ID once its last name is gone, else empty. */
  deleted: string[];
  /** Blobs garbage-collected because no remaining image references them. */
  removedBlobs: string[];
}

const DEFAULTS = { lockTimeoutMs: 10_000 };

export class ImageStore {
  readonly root: string;
  private readonly lockTimeoutMs: number;
  private readonly records: readonly DigestRecords[];
  /** Serialises this instance's own updates; the lock file serialises processes. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(root: string, opts: ImageStoreOptions = {}) {
    this.root = path.resolve(root);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs;
    this.records = opts.records ?? [];
  }

  get tmpDir(): string {
    return path.join(this.root, 'tmp');
  }
  private get dbPath(): string {
    return path.join(this.root, 'images.json');
  }
  private get lockPath(): string {
    return path.join(this.root, 'images.lock');
  }

  blobPath(digest: string): string {
    return path.join(this.root, 'blobs', 'sha256', digestHex(digest));
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  /** The stored size of a blob, or undefined if it is absent. */
  async blobSize(digest: string): Promise<number | undefined> {
    try {
      return (await fsp.stat(this.blobPath(digest))).size;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** A stream of a stored blob (layers); callers verify while consuming if they need to. */
  async openBlob(digest: string): Promise<Readable> {
    try {
      const fh = await fsp.open(this.blobPath(digest), 'r');
      return fh.createReadStream();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw blobNotFound(digest);
      throw e;
    }
  }

  /** Read a small blob whole, refusing more than `maxBytes`, and re-verify its digest. */
  async readBlob(digest: string, maxBytes = MAX_MANIFEST_BYTES): Promise<Buffer> {
    const size = await this.blobSize(digest);
    if (size === undefined) throw blobNotFound(digest);
    if (size > maxBytes) {
      throw new ImageError(
        'IMAGE_BLOB_TOO_LARGE',
        `blob ${digest} is ${size} bytes; the limit is ${maxBytes}`,
        {
          details: { digest, size, maxBytes },
        },
      );
    }
    const buf = await fsp.readFile(this.blobPath(digest));
    if (sha256Digest(buf) !== digest) {
      throw new ImageError('IMAGE_DIGEST_MISMATCH', `stored blob ${digest} is corrupt`, {
        hint: 'remove the image and load or pull it again',
        details: { digest },
      });
    }
    return buf;
  }

  /** Read and parse a JSON blob; malformed JSON is reported with `code`. */
  async readJsonBlob(
    digest: string,
    opts: { maxBytes?: number; code?: ImageErrorCode; what?: string } = {},
  ): Promise<unknown> {
    const buf = await this.readBlob(digest, opts.maxBytes);
    return parseJson(buf, opts.code ?? 'IMAGE_INVALID_MANIFEST', opts.what ?? `blob ${digest}`);
  }

  /**
   * Store a blob. Bytes go to a temp file while being hashed and counted; with `expected`, a
   * wrong digest (IMAGE_DIGEST_MISMATCH) or size (IMAGE_SIZE_MISMATCH, raised as soon as the
   * stream runs past it) deletes the temp file, so nothing is left behind.
   */
  async putBlob(
    source: Readable | Buffer,
    expected?: BlobExpectation,
    opts: { onProgress?: ProgressFn; observer?: BlobWriteObserver } = {},
  ): Promise<PutBlobResult> {
    const { tmp, digest, size } = await writeVerifiedTemp(this.tmpDir, source, expected, opts);
    await fsp.mkdir(path.join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    const final = this.blobPath(digest);
    if (await exists(final)) {
      await fsp.rm(tmp, { force: true });
      return { digest, size, created: false };
    }
    await fsp.rename(tmp, final);
    return { digest, size, created: true };
  }

  async addImage(manifestDigest: string, names: string[] = [], repoDigests?: string[]): Promise<ImageRecord> {
    const [record] = await this.addImages([{ manifestDigest, names, repoDigests }]);
    return record;
  }

  /**
   * Record images whose blobs are stored: all are checked first (manifest and config media types,
   * one diff_id per layer, every blob present with its announced size), then images.json is
   * rewritten once, so a failure changes nothing. A name moves from any image that had it
   * (that image stays, maybe dangling). Re-adding an ID keeps its names and adds the new ones.
   */
  async addImages(requests: AddImageRequest[]): Promise<ImageRecord[]> {
    return this.withLock(async () => {
      const prepared: ImageRecord[] = [];
      for (const req of requests) prepared.push(await prepareRecord(this, req));
      const db = await this.readDb();
      const gc: string[] = [];
      const replaced: string[] = [];
      for (const rec of prepared) {
        for (const other of db.images) {
          if (other.id !== rec.id) other.names = other.names.filter((n) => !rec.names.includes(n));
        }
        // An image removed while containers used it is back: its record takes over the blobs.
        const back = db.retained?.filter((r) => r.id === rec.id) ?? [];
        if (back.length) {
          db.retained = db.retained!.filter((r) => r.id !== rec.id);
          gc.push(...back.flatMap(blobsOf));
        }
        const existing = db.images.find((i) => i.id === rec.id);
        if (!existing) {
          db.images.push(rec);
          continue;
        }
        if (existing.manifestDigest !== rec.manifestDigest) {
          gc.push(existing.manifestDigest, ...existing.layers.map((l) => l.digest));
          replaced.push(existing.manifestDigest);
          Object.assign(existing, { manifestDigest: rec.manifestDigest, layers: rec.layers, size: rec.size });
        }
        existing.names = [...new Set([...existing.names, ...rec.names])];
        if (rec.repoDigests?.length)
          existing.repoDigests = [...new Set([...(existing.repoDigests ?? []), ...rec.repoDigests])];
      }
      await dropRecords(this.records, db, replaced);
      await this.writeDb(db);
      await this.collect(db, gc);
      return prepared.map((p) => structuredClone(db.images.find((i) => i.id === p.id)!));
    });
  }

  async list(): Promise<ImageRecord[]> {
    return (await this.readDb()).images;
  }

  /**
   * Find an image by a name the user typed (tried as {@link localCandidates} lists), a full
   * `sha256:` ID (or manifest digest), or a unique ID prefix of at least 3 hex digits.
   */
  async resolve(refOrId: string): Promise<ImageRecord> {
    return lookupImage((await this.readDb()).images, refOrId).record;
  }

  /** Give the image `src` names another name (short names become `localhost/NAME:TAG`). */
  async tag(src: string, newName: string): Promise<ImageRecord> {
    const name = normalizeForStore(newName, 'local');
    return this.withLock(async () => {
      const db = await this.readDb();
      const { record } = lookupImage(db.images, src);
      for (const other of db.images) other.names = other.names.filter((n) => n !== name);
      record.names.push(name);
      await this.writeDb(db);
      return structuredClone(record);
    });
  }

  /**
   * Remove by name: untag that name, and delete the image once it has none left. Remove by ID:
   * delete the image, refusing (IMAGE_CONFLICT) when it has several names unless `force`.
   * Deleting an image garbage-collects its blobs that no remaining image references; with
   * `retain` (containers still use it) the record is kept aside instead and its blobs stay.
   */
  async remove(refOrId: string, opts: { force?: boolean; retain?: boolean } = {}): Promise<RemoveResult> {
    return this.withLock(async () => {
      const db = await this.readDb();
      const { record, name } = lookupImage(db.images, refOrId);
      let untagged: string[];
      if (name !== undefined) {
        untagged = [name];
        record.names = record.names.filter((n) => n !== name);
      } else {
        if (record.names.length > 1 && !opts.force) {
          throw new ImageError(
            'IMAGE_CONFLICT',
            `image ${shortId(record.id)} has ${record.names.length} names`,
            {
              hint: 'remove it by name, or use --force to remove every name',
              details: { id: record.id, names: record.names },
            },
          );
        }
        untagged = record.names;
        record.names = [];
      }
      if (record.names.length > 0) {
        await this.writeDb(db);
        return { untagged, deleted: [], removedBlobs: [] };
      }
      db.images = db.images.filter((i) => i !== record);
      // Its records go first: if moat stops here, the image is still listed, only unscanned or
      // unverified.
      await dropRecords(this.records, db, [record.manifestDigest]);
      if (opts.retain) {
        db.retained = [...(db.retained ?? []).filter((r) => r.id !== record.id), record];
        await this.writeDb(db);
        return { untagged, deleted: [record.id], removedBlobs: [] };
      }
      await this.writeDb(db);
      const removedBlobs = await this.collect(db, blobsOf(record));
      return { untagged, deleted: [record.id], removedBlobs };
    });
  }

  async manifest(record: ImageRecord): Promise<ImageManifest> {
    const value = await this.readJsonBlob(record.manifestDigest, {
      what: `manifest ${record.manifestDigest}`,
    });
    return checkManifest(value, `manifest ${record.manifestDigest}`);
  }

  /**
   * The config of an image by ID, also when it was removed while containers used it (a
   * container's stop signal, say); undefined when the store has no record of it.
   */
  async configOf(imageId: string): Promise<ImageConfig | undefined> {
    const db = await this.readDb();
    const rec = [...db.images, ...(db.retained ?? [])].find((i) => i.id === imageId);
    return rec ? this.config(rec) : undefined;
  }

  /** The parsed image config (OCI shape; Docker configs are compatible). */
  async config(record: ImageRecord): Promise<ImageConfig> {
    const value = await this.readJsonBlob(record.id, {
      maxBytes: MAX_CONFIG_BYTES,
      code: 'IMAGE_INVALID_CONFIG',
      what: `image config ${record.id}`,
    });
    return checkConfig(value, record.layers.length, `image config ${record.id}`);
  }

  /** Digests of every file in blobs/sha256 (names that are not 64 hex digits are skipped). */
  async listBlobs(): Promise<string[]> {
    const dir = path.join(this.root, 'blobs', 'sha256');
    const names = await fsp.readdir(dir).catch((e: unknown) => {
      if (errnoCode(e) === 'ENOENT') return [] as string[];
      throw e;
    });
    return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /**
   * Delete unused image records (as `opts` says), unreferenced blobs and leftover temp files
   * older than `opts.minAgeMs`, under the store lock (see {@link pruneStore}).
   */
  async prune(opts: PruneOptions): Promise<PruneResult> {
    return pruneStore(this.access(), opts);
  }

  /**
   * Re-hash every blob and check every image's blobs; `repair` deletes corrupt blobs and strays.
   * Runs without the store lock: blobs are immutable once named (see {@link fsckStore}).
   */
  async fsck(opts: { repair?: boolean } = {}): Promise<FsckResult> {
    return fsckStore(this.access(), opts);
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Delete `candidates` that no record (retained ones included) references; returns what was deleted. */
  private async collect(db: StoreFile, candidates: string[]): Promise<string[]> {
    const live = new Set([...db.images, ...(db.retained ?? [])].flatMap(blobsOf));
    const removed: string[] = [];
    for (const d of new Set(candidates)) {
      if (live.has(d)) continue;
      try {
        await fsp.unlink(this.blobPath(d));
        removed.push(d);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    return removed;
  }

  private async readDb(): Promise<StoreFile> {
    return readStoreFile(this.dbPath);
  }

  private async writeDb(db: StoreFile): Promise<void> {
    await writeJsonAtomic(this.dbPath, db, 0o600);
  }

  /** What store-fsck.ts and store-prune.ts use of this store, `withLock` included. */
  private access(): StoreAccess {
    return {
      root: this.root,
      tmpDir: this.tmpDir,
      blobPath: (digest) => this.blobPath(digest),
      blobSize: (digest) => this.blobSize(digest),
      listBlobs: () => this.listBlobs(),
      readDb: () => this.readDb(),
      writeDb: (db) => this.writeDb(db),
      withLock: (fn) => this.withLock(fn),
      records: this.records,
    };
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    // The queue serialises this instance's own updates; the lock file serialises processes.
    const run = this.queue.then(() =>
      withLock(this.lockPath, fn, {
        timeoutMs: this.lockTimeoutMs,
        onTimeout: (file, pid) =>
          new ImageError('IMAGE_LOCK_TIMEOUT', `the image store is locked by process ${pid ?? '?'}`, {
            hint: `wait for that process to finish; if it is not moat, delete ${file}`,
            details: { lock: file, pid },
          }),
      }),
    );
    this.queue = run.catch(() => {});
    return run;
  }
}
