import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { openArchiveFile, type ArchiveInput } from './archive-input.js';
import { invalid, scanArchive, type Loaded } from './archive-common.js';
import { loadDocker } from './archive-docker.js';
import { loadOci } from './archive-oci.js';
import { ImageError, isImageError } from './errors.js';
import type { ImageStore } from './store.js';
import { hostPlatform, parsePlatform, type ImageRecord, type Platform, type ProgressFn } from './types.js';

export { repositoryFromFile } from './archive-oci.js';

/**
 * `moat load`: an OCI image layout tar (`oci-layout`, `index.json`, `blobs/`) or a `docker save`
 * tar (`manifest.json`; newer Docker writes both, and `manifest.json` wins because it carries
 * the RepoTags). The tar (optionally gzipped) is read once: every file that can be a blob streams
 * straight into the store through putBlob — `blobs/sha256/<hex>` and `<hex>.json` verified
 * against the digest in their name — while the layers' diffIDs are computed on the side; the small
 * metadata files are kept in memory (4 MiB cap). Then the images are checked and recorded in one
 * images.json update, so a failed load changes no record (verified blobs may remain).
 *
 * OCI naming: `io.containerd.image.name` if present; else `org.opencontainers.image.ref.name`:
 * a value with `/` or `:` is a reference (short names → `localhost/…`); any other value is a bare
 * tag, named `localhost/<archive basename without .tar/.tar.gz/.tgz/.oci>:<tag>` — or
 * `<options.name>` with that tag — when the basename is no valid repository name, the image stays
 * unnamed. Docker naming: RepoTags as Docker meant them (`docker.io/library/…`).
 *
 * This file is the entry (loadArchive) and the error policy; the shared scan and helpers are in
 * archive-common.ts, the formats in archive-oci.ts and archive-docker.ts.
 */

export interface LoadOptions {
  /** Name images the archive leaves unnamed or names by a bare tag (a tag in the name wins). */
  name?: string;
  /** Platform to pick from nested indexes; default the host's. `os/arch[/variant]` or object. */
  platform?: Platform | string;
  onProgress?: ProgressFn;
}

export interface LoadResult {
  format: 'oci-archive' | 'docker-archive';
  /** The stored records (with every name they have, some perhaps given before this load). */
  images: ImageRecord[];
  /** Per image, in the same order: the names this archive gave it (what `load` reports). */
  loaded: { id: string; names: string[] }[];
}

/**
 * Load the archive at path `input`, or from a stream (stdin: `moat load < FILE`), which is read
 * once like a file. A stream has no file name, so its bare-tag OCI images take `opts.name` or
 * stay unnamed.
 */
export async function loadArchive(
  store: ImageStore,
  input: string | Readable,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const archive = typeof input === 'string' ? path.basename(input) : 'stdin';
  // A wrong path is IMAGE_ARCHIVE_NOT_FOUND, with the path as given, not wrapped as content.
  const source: ArchiveInput =
    typeof input === 'string' ? await openArchiveFile(input) : { stream: input, label: archive };
  try {
    const scan = await scanArchive(store, source, opts.onProgress);
    opts.onProgress?.({ phase: 'commit' });
    const platform =
      typeof opts.platform === 'string' ? parsePlatform(opts.platform) : (opts.platform ?? hostPlatform());
    const done = (format: LoadResult['format'], r: Loaded): LoadResult => ({
      format,
      images: r.images,
      loaded: r.images.map((i, n) => ({ id: i.id, names: r.requests[n].names })),
    });
    if (scan.meta.has('manifest.json')) {
      return done('docker-archive', await loadDocker(store, scan, opts));
    }
    if (scan.meta.has('index.json')) {
      const named = typeof input === 'string' ? archive : undefined;
      return done('oci-archive', await loadOci(store, scan, named, platform, opts));
    }
    throw invalid(
      scan.meta.has('repositories')
        ? 'a docker save archive without manifest.json (Docker < 1.10) is not supported'
        : 'neither an OCI image layout (oci-layout, index.json) nor a docker save archive (manifest.json)',
    );
  } catch (e) {
    throw asArchiveError(e, archive);
  }
}

// ---- errors ---------------------------------------------------------------------------------

const KEEP_CODES = new Set([
  'IMAGE_DIGEST_MISMATCH',
  'IMAGE_SIZE_MISMATCH',
  'IMAGE_UNSUPPORTED_MEDIA_TYPE',
  'IMAGE_PLATFORM_NOT_FOUND',
  'IMAGE_LOCK_TIMEOUT',
  'IMAGE_STORE_CORRUPT',
]);

/**
 * Everything wrong with the archive's content is IMAGE_INVALID_ARCHIVE (digest and size
 * mismatches keep their codes); I/O failures of the machine (ENOSPC, EACCES) pass unchanged.
 */
function asArchiveError(e: unknown, archive: string): unknown {
  if (isImageError(e)) {
    if (KEEP_CODES.has(e.code) || e.code === 'IMAGE_INVALID_ARCHIVE') {
      return e.message.startsWith(`${archive}: `)
        ? e
        : new ImageError(e.code, `${archive}: ${e.message}`, {
            hint: e.hint,
            cause: e.cause,
            details: { ...e.details, archive },
          });
    }
    return new ImageError('IMAGE_INVALID_ARCHIVE', `${archive}: ${e.message}`, {
      cause: e,
      details: { ...e.details, archive, reason: e.code },
    });
  }
  if (e instanceof Error && 'syscall' in e) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ImageError('IMAGE_INVALID_ARCHIVE', `${archive}: not a readable tar archive: ${message}`, {
    cause: e,
    details: { archive },
  });
}
