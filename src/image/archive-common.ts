import * as path from 'node:path';
import { pipeline as pipelineCb, Transform, Readable } from 'node:stream';
import * as tar from 'tar-stream';
import type { ArchiveInput } from './archive-input.js';
import { DiffIdTap, maybeGunzip, type Compression } from './digest.js';
import { ImageError, isImageError } from './errors.js';
import type { ImageStore } from './store.js';
import { MAX_MANIFEST_BYTES, type ImageRecord, type ProgressFn } from './types.js';

/**
 * What both archive formats share (see archive.ts for `moat load` as a whole): the one pass over
 * the tar that streams every blob into the store and keeps the metadata files (scanArchive), the
 * entry-name rules, and the content errors. The formats are read from the scan in archive-oci.ts
 * and archive-docker.ts.
 */

export interface ScannedBlob {
  digest: string;
  size: number;
  compression?: Compression;
  diffId?: string;
  diffIdError?: string;
}

type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

/** The images recorded, and what each was asked to be named (the archive's own names). */
export interface Loaded {
  requests: { manifestDigest: string; names: string[] }[];
  images: ImageRecord[];
}

export interface Scan {
  blobs: Map<string, ScannedBlob>;
  links: Map<string, string>;
  meta: Map<string, Buffer>;
  byDigest: Map<string, ScannedBlob>;
}

const META_FILES = new Set(['index.json', 'oci-layout', 'manifest.json', 'repositories']);

// ---- scanning -------------------------------------------------------------------------------

export async function scanArchive(
  store: ImageStore,
  source: ArchiveInput,
  onProgress?: ProgressFn,
): Promise<Scan> {
  const total = source.size;
  let read = 0;
  let step = -1;
  const counter = new Transform({
    transform(chunk: Buffer, _e, cb) {
      read += chunk.length;
      // One event per 5% read (per 16 MiB from a pipe): enough for a progress line, few enough to log.
      const now = total ? Math.floor((read / total) * 20) : total === 0 ? 0 : Math.floor(read / 0x1000000);
      if (now !== step) {
        step = now;
        onProgress?.({ phase: 'read', current: read, total });
      }
      cb(null, chunk);
    },
  });
  const { stream } = await maybeGunzip(pipelineCb(source.stream, counter, () => {}));
  // tar-stream's streams are streamx streams: Node's pipe() feeds them, pipeline() does not.
  const extract = tar.extract();
  stream.on('error', (e: Error) => extract.destroy(e));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  const scan: Scan = { blobs: new Map(), links: new Map(), meta: new Map(), byDigest: new Map() };
  try {
    for await (const entry of extract) await scanEntry(store, scan, entry, onProgress);
  } catch (e) {
    stream.destroy();
    extract.destroy();
    throw e;
  }
  return scan;
}

async function scanEntry(
  store: ImageStore,
  scan: Scan,
  entry: TarEntry,
  onProgress?: ProgressFn,
): Promise<void> {
  const h = entry.header;
  const name = cleanName(h.name);
  if (h.type === 'directory' || name === '') {
    entry.resume();
    return;
  }
  if (scan.blobs.has(name) || scan.links.has(name) || scan.meta.has(name)) {
    throw invalid(`duplicate entry ${JSON.stringify(name)}`);
  }
  if (h.type === 'symlink' || h.type === 'link') {
    const target = h.linkname ?? '';
    if (target.startsWith('/')) throw invalid(`link ${JSON.stringify(name)} has an absolute target`);
    const joined = h.type === 'symlink' ? path.posix.join(path.posix.dirname(name), target) : target;
    scan.links.set(name, cleanName(joined));
    entry.resume();
    return;
  }
  if (h.type !== 'file' && h.type !== 'contiguous-file') {
    throw invalid(`entry ${JSON.stringify(name)} has unsupported type ${h.type}`);
  }
  if (META_FILES.has(name)) {
    scan.meta.set(name, await readCapped(entry, name));
    return;
  }
  const base = path.posix.basename(name);
  if (base === 'VERSION' || base === 'json') {
    entry.resume(); // legacy per-layer metadata of docker save; nothing references it
    return;
  }
  let expected: string | undefined;
  const blobMatch = /^blobs\/([^/]+)\/([^/]+)$/.exec(name);
  if (blobMatch) {
    if (blobMatch[1] !== 'sha256') {
      entry.resume(); // other algorithms: moat cannot verify them, and nothing it loads uses them
      return;
    }
    if (!/^[a-f0-9]{64}$/.test(blobMatch[2]))
      throw invalid(`blob file ${JSON.stringify(name)} is not named by a digest`);
    expected = `sha256:${blobMatch[2]}`;
  } else {
    const hexJson = /^([a-f0-9]{64})\.json$/.exec(name);
    if (hexJson) expected = `sha256:${hexJson[1]}`;
  }
  const tap = new DiffIdTap();
  const put = await store
    .putBlob(
      pipelineCb(Readable.from(entry), tap, () => {}),
      expected ? { digest: expected, size: h.size } : undefined,
    )
    .catch((e: unknown) => {
      if (!isImageError(e) || e.code !== 'IMAGE_DIGEST_MISMATCH') throw e;
      throw new ImageError(
        e.code,
        `entry ${JSON.stringify(name)} does not match its name: it hashes to ${String(e.details?.actual)}`,
        {
          details: e.details,
        },
      );
    });
  const blob: ScannedBlob = {
    digest: put.digest,
    size: put.size,
    compression: tap.compression,
    diffId: tap.diffId,
    diffIdError: tap.diffIdError,
  };
  scan.blobs.set(name, blob);
  scan.byDigest.set(blob.digest, blob);
  onProgress?.({ phase: 'blob', digest: blob.digest, current: blob.size, total: blob.size });
}

/** Normalise an archive path; absolute paths and `..` components are refused. */
export function cleanName(name: string): string {
  if (name.includes('\0')) throw invalid('an entry name contains a NUL byte');
  if (name.startsWith('/')) throw invalid(`entry ${JSON.stringify(name)} has an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(`entry ${JSON.stringify(name)} has a '..' component`);
  return parts.join('/');
}

async function readCapped(entry: AsyncIterable<unknown>, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of entry) {
    n += (c as Buffer).length;
    if (n > MAX_MANIFEST_BYTES) throw invalid(`${name} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

// ---- errors ---------------------------------------------------------------------------------

export function invalid(message: string): ImageError {
  return new ImageError('IMAGE_INVALID_ARCHIVE', message);
}

export function diffIdMismatch(what: string, expected: string, actual: string, kind = 'layer'): ImageError {
  return new ImageError(
    'IMAGE_DIGEST_MISMATCH',
    `${kind} ${what} hashes to ${actual}, the archive claims ${expected}`,
    {
      details: { expected, actual },
    },
  );
}
