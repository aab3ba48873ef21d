import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode } from '../errors.js';
import { exists, writeJsonAtomic } from '../util/fsutil.js';
import { withLock } from '../util/lock.js';
import { checkDigest, DigestStream, digestHex, sha256Digest } from './digest.js';
import { ImageError, type ImageErrorCode } from './errors.js';
import { localCandidates, normalizeForStore } from './reference.js';
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
 */

export interface ImageStoreOptions {
  /** How long to wait for another process's lock before IMAGE_LOCK_TIMEOUT. Default 10 s. */
  lockTimeoutMs?: number;
}

export interface BlobExpectation {
  digest: string;
  size?: number;
}

/** Told where an incoming blob is written and how far (to read it while it downloads). */
export interface BlobWriteObserver {
  opened(tmpFile: string): void;
  wrote(total: number): void;
}

export interface PutBlobResult {
  digest: string;
  size: number;
  /** False when the store already had the blob. */
  created: boolean;
}

export interface AddImageRequest {
  manifestDigest: string;
  /** Names to give the image; short names become `localhost/NAME:TAG`. */
  names?: string[];
  /** `host/path@sha256:…` references that name this image (see ImageRecord.repoDigests). */
  repoDigests?: string[];
}

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
}

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
  removed: string[];
}

export interface RemoveResult {
  untagged: string[];
  /** IDs of deleted image records: the image's ID once its last name is gone, else empty. */
  deleted: string[];
  /** Blobs garbage-collected because no remaining image references them. */
  removedBlobs: string[];
}

interface StoreFile {
  version: 1;
  images: ImageRecord[];
  /** Records of images removed while containers used them (see the top of this file). */
  retained?: ImageRecord[];
}

const DEFAULTS = { lockTimeoutMs: 10_000 };

export class ImageStore {
  readonly root: string;
  private readonly lockTimeoutMs: number;
  /** Serialises this instance's own updates; the lock file serialises processes. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(root: string, opts: ImageStoreOptions = {}) {
    this.root = path.resolve(root);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs;
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
    if (expected) {
      checkDigest(expected.digest, 'expected digest');
      if (expected.size !== undefined && !(Number.isSafeInteger(expected.size) && expected.size >= 0)) {
        throw new ImageError('IMAGE_SIZE_MISMATCH', `invalid expected size ${expected.size}`);
      }
    }
    await fsp.mkdir(path.join(this.root, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
    await fsp.mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.tmpDir, `blob-${randomBytes(8).toString('hex')}`);
    const what = expected ? `blob ${expected.digest}` : 'blob';
    const counter = new DigestStream({
      maxBytes: expected?.size,
      tooLarge: (n) =>
        new ImageError(
          'IMAGE_SIZE_MISMATCH',
          `${what} is larger than the announced ${expected?.size} bytes`,
          {
            details: { expected: expected?.size, atLeast: n },
          },
        ),
      onBytes: opts.onProgress
        ? (n) =>
            opts.onProgress?.({ phase: 'blob', current: n, total: expected?.size, digest: expected?.digest })
        : undefined,
    });
    const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
    const fh = await fsp.open(tmp, 'wx', 0o400);
    const observer = opts.observer;
    let written = 0;
    try {
      observer?.opened(tmp);
      // The sink must be allowed to close: with autoClose false it never emits 'close', and
      // pipeline() (Node 20) waits for that forever.
      const sink = new Writable({
        write: (chunk: Buffer, _enc, cb) => {
          fh.write(chunk).then(() => {
            written += chunk.length;
            observer?.wrote(written);
            cb();
          }, cb);
        },
        final: (cb) => {
          fh.sync().then(() => cb(), cb);
        },
      });
      await pipeline(input, counter, sink);
    } catch (e) {
      await fh.close().catch(() => {});
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    const { digest, size } = counter;
    if (expected?.size !== undefined && size !== expected.size) {
      await fsp.rm(tmp, { force: true });
      throw new ImageError('IMAGE_SIZE_MISMATCH', `${what} is ${size} bytes, announced ${expected.size}`, {
        details: { expected: expected.size, actual: size },
      });
    }
    if (expected && digest !== expected.digest) {
      await fsp.rm(tmp, { force: true });
      throw new ImageError('IMAGE_DIGEST_MISMATCH', `${what} has digest ${digest}`, {
        details: { expected: expected.digest, actual: digest },
      });
    }
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
      for (const req of requests) prepared.push(await this.prepare(req));
      const db = await this.readDb();
      const gc: string[] = [];
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
          Object.assign(existing, { manifestDigest: rec.manifestDigest, layers: rec.layers, size: rec.size });
        }
        existing.names = [...new Set([...existing.names, ...rec.names])];
        if (rec.repoDigests?.length)
          existing.repoDigests = [...new Set([...(existing.repoDigests ?? []), ...rec.repoDigests])];
      }
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
   * Delete the image records `images` asks for that no container uses (`inUse`), and retained
   * records no container uses any more, with their blobs. Then delete blobs no image references
   * and temp files of interrupted writes, both only when older than `minAgeMs`: a pull in
   * progress stores its blobs before it records the image, and those must survive a concurrent
   * prune.
   */
  async prune(opts: PruneOptions): Promise<PruneResult> {
    const cutoff = Date.now() - opts.minAgeMs;
    const mode = opts.images ?? 'none';
    const inUse = opts.inUse;
    return this.withLock(async () => {
      const db = await this.readDb();
      const res: PruneResult = {
        untagged: [],
        deleted: [],
        removedBlobs: [],
        freedBytes: 0,
        removedTemp: [],
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
        if (gone.length) await this.writeDb(db);
      }
      const candidates = new Set(gone.flatMap(blobsOf));
      const live = new Set([...db.images, ...(db.retained ?? [])].flatMap(blobsOf));
      for (const d of await this.listBlobs()) {
        if (live.has(d)) continue;
        const st = await fsp.stat(this.blobPath(d)).catch(() => undefined);
        // Blobs of the records deleted here go whatever their age, as `rmi` would delete them.
        if (!st || (st.mtimeMs > cutoff && !candidates.has(d))) continue;
        await fsp.unlink(this.blobPath(d)).catch(() => {});
        res.removedBlobs.push(d);
        res.freedBytes += st.size;
      }
      for (const f of await fsp.readdir(this.tmpDir).catch(() => [] as string[])) {
        const full = path.join(this.tmpDir, f);
        const st = await fsp.stat(full).catch(() => undefined);
        if (!st || st.mtimeMs > cutoff) continue;
        await fsp.rm(full, { force: true, recursive: true });
        res.removedTemp.push(f);
      }
      return res;
    });
  }

  /**
   * Re-hash every blob and check every image's blobs are present with their sizes. With
   * `repair`, corrupt blobs and stray files are deleted (images that need them can be pulled or
   * loaded again). Runs without the store lock: blobs are immutable once named.
   */
  async fsck(opts: { repair?: boolean } = {}): Promise<FsckResult> {
    const res: FsckResult = { checked: 0, corrupt: [], missing: [], strays: [], temp: [], removed: [] };
    const dir = path.join(this.root, 'blobs', 'sha256');
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
    const db = await this.readDb();
    for (const img of [...db.images, ...(db.retained ?? [])]) {
      const needs: [string, number | undefined][] = [
        [img.manifestDigest, undefined],
        [img.id, undefined],
        ...img.layers.map((l): [string, number] => [l.digest, l.size]),
      ];
      for (const [d, size] of needs) {
        const actual = await this.blobSize(d);
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
    res.temp = await fsp.readdir(this.tmpDir).catch(() => [] as string[]);
    return res;
  }

  // ---- internals ----------------------------------------------------------------------------

  private async prepare(req: AddImageRequest): Promise<ImageRecord> {
    const digest = checkDigest(req.manifestDigest, 'manifest digest');
    const what = `manifest ${digest}`;
    const manifest = checkManifest(await this.readJsonBlob(digest, { what }), what);
    await this.checkPresent(manifest.config.digest, manifest.config.size, 'config');
    const cfgValue = await this.readJsonBlob(manifest.config.digest, {
      maxBytes: MAX_CONFIG_BYTES,
      code: 'IMAGE_INVALID_CONFIG',
      what: `image config ${manifest.config.digest}`,
    });
    const config = checkConfig(cfgValue, manifest.layers.length, `image config ${manifest.config.digest}`);
    for (const l of manifest.layers) await this.checkPresent(l.digest, l.size, 'layer');
    const created = config.created && !Number.isNaN(Date.parse(config.created)) ? config.created : undefined;
    const names = [...new Set((req.names ?? []).map((n) => normalizeForStore(n, 'local')))];
    const repoDigests = [...new Set(req.repoDigests ?? [])].filter((r) =>
      /^[^@\s]+@sha256:[a-f0-9]{64}$/.test(r),
    );
    return {
      id: manifest.config.digest,
      manifestDigest: digest,
      names,
      ...(repoDigests.length ? { repoDigests } : {}),
      created: created ?? new Date().toISOString(),
      layers: manifest.layers.map((l, i) => ({
        digest: l.digest,
        size: l.size,
        mediaType: l.mediaType,
        diffId: config.rootfs.diff_ids[i],
      })),
      size: manifest.layers.reduce((n, l) => n + l.size, 0),
    };
  }

  private async checkPresent(digest: string, size: number, what: string): Promise<void> {
    const actual = await this.blobSize(digest);
    if (actual === undefined) throw blobNotFound(digest, what);
    if (actual !== size) {
      throw new ImageError(
        'IMAGE_SIZE_MISMATCH',
        `${what} ${digest} is ${actual} bytes, the manifest says ${size}`,
        {
          details: { digest, expected: size, actual },
        },
      );
    }
  }

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
    let text: string;
    try {
      text = await fsp.readFile(this.dbPath, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return { version: 1, images: [] };
      throw e;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw corrupt(this.dbPath, (e as Error).message);
    }
    const images = (value as { images?: unknown } | null)?.images;
    if (!Array.isArray(images)) throw corrupt(this.dbPath, 'no images array');
    const retained = (value as { retained?: unknown }).retained;
    return {
      version: 1,
      images: images as ImageRecord[],
      ...(Array.isArray(retained) && retained.length ? { retained: retained as ImageRecord[] } : {}),
    };
  }

  private async writeDb(db: StoreFile): Promise<void> {
    await writeJsonAtomic(this.dbPath, db, 0o600);
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

function blobsOf(r: ImageRecord): string[] {
  return [r.manifestDigest, r.id, ...r.layers.map((l) => l.digest)];
}

function blobNotFound(digest: string, what = 'blob'): ImageError {
  return new ImageError('IMAGE_BLOB_NOT_FOUND', `${what} ${digest} is not in the image store`, {
    details: { digest },
  });
}

function corrupt(file: string, why: string): ImageError {
  return new ImageError('IMAGE_STORE_CORRUPT', `${file} is unreadable: ${why}`, {
    hint: 'restore it from a backup or move it aside (images will have to be loaded again)',
  });
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** The repository part of a stored name (`host/path:tag` → `host/path`). */
function repoOfName(name: string): string {
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** Resolution rules of {@link ImageStore.resolve}, over a list of records. */
export function lookupImage(images: ImageRecord[], input: string): { record: ImageRecord; name?: string } {
  const full = /^(sha256:)?([a-f0-9]{64})$/.exec(input);
  if (full) {
    const d = `sha256:${full[2]}`;
    const r = images.find((i) => i.id === d) ?? images.find((i) => i.manifestDigest === d);
    if (r) return { record: r };
    if (full[1]) throw notFound(input);
  }
  const prefixed = /^sha256:([a-f0-9]{3,63})$/.exec(input);
  if (prefixed) return { record: byPrefix(images, prefixed[1], input) };
  const candidates = localCandidates(input);
  for (const c of candidates) {
    const at = c.indexOf('@');
    if (at >= 0) {
      const repo = c.slice(0, at);
      const digest = c.slice(at + 1);
      const r =
        images.find((i) => i.repoDigests?.includes(c)) ??
        images.find((i) => i.manifestDigest === digest && i.names.some((n) => repoOfName(n) === repo));
      if (r) return { record: r };
    } else {
      const r = images.find((i) => i.names.includes(c));
      if (r) return { record: r, name: c };
    }
  }
  if (/^[a-f0-9]{3,63}$/.test(input)) return { record: byPrefix(images, input, input, candidates) };
  throw notFound(input, candidates);
}

function byPrefix(images: ImageRecord[], hex: string, input: string, candidates?: string[]): ImageRecord {
  const matches = images.filter((i) => i.id.startsWith(`sha256:${hex}`));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new ImageError('IMAGE_AMBIGUOUS_ID', `${JSON.stringify(input)} matches ${matches.length} images`, {
      hint: 'give more digits of the ID',
      details: { ids: matches.map((m) => m.id) },
    });
  }
  throw notFound(input, candidates);
}

function notFound(input: string, candidates?: string[]): ImageError {
  return new ImageError('IMAGE_NOT_FOUND', `no local image matches ${JSON.stringify(input)}`, {
    hint: 'run `moat images` to list local images',
    details: { input, ...(candidates ? { tried: candidates } : {}) },
  });
}
