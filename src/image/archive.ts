import * as path from 'node:path';
import { pipeline as pipelineCb, Transform, Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { lazyValidator } from '../util/schema.js';
import { openArchiveFile, type ArchiveInput } from './archive-input.js';
import { DiffIdTap, maybeGunzip, type Compression } from './digest.js';
import { ImageError, isImageError } from './errors.js';
import { normalizeForStore, parseReference, DEFAULT_TAG } from './reference.js';
import type { ImageStore } from './store.js';
import {
  checkConfig,
  checkIndex,
  checkManifest,
  hostPlatform,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  MediaType,
  parseJson,
  parsePlatform,
  platformScore,
  type Descriptor,
  type ImageManifest,
  type ImageRecord,
  type Platform,
  type ProgressFn,
} from './types.js';

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

interface ScannedBlob {
  digest: string;
  size: number;
  compression?: Compression;
  diffId?: string;
  diffIdError?: string;
}

type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

/** The images recorded, and what each was asked to be named (the archive's own names). */
interface Loaded {
  requests: { manifestDigest: string; names: string[] }[];
  images: ImageRecord[];
}

interface Scan {
  blobs: Map<string, ScannedBlob>;
  links: Map<string, string>;
  meta: Map<string, Buffer>;
  byDigest: Map<string, ScannedBlob>;
}

const META_FILES = new Set(['index.json', 'oci-layout', 'manifest.json', 'repositories']);
const NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

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

// ---- scanning -------------------------------------------------------------------------------

async function scanArchive(store: ImageStore, source: ArchiveInput, onProgress?: ProgressFn): Promise<Scan> {
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
function cleanName(name: string): string {
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

/** The blob an archive path names, following links (a few hops at most). */
function blobAt(scan: Scan, name: string, what: string): ScannedBlob {
  let p = cleanName(name);
  for (let hops = 0; hops < 8 && scan.links.has(p); hops++) p = scan.links.get(p)!;
  const b = scan.blobs.get(p);
  if (!b) throw invalid(`${what} ${JSON.stringify(name)} is missing from the archive`);
  return b;
}

// ---- OCI layout -----------------------------------------------------------------------------

async function loadOci(
  store: ImageStore,
  scan: Scan,
  archive: string | undefined,
  platform: Platform,
  opts: LoadOptions,
): Promise<Loaded> {
  const layout = scan.meta.get('oci-layout');
  if (!layout) throw invalid('index.json without an oci-layout file');
  const version = (
    parseJson(layout, 'IMAGE_INVALID_ARCHIVE', 'oci-layout') as { imageLayoutVersion?: unknown }
  )?.imageLayoutVersion;
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw invalid(`unsupported imageLayoutVersion ${JSON.stringify(version)}`);
  }
  const index = checkIndex(
    parseJson(scan.meta.get('index.json')!, 'IMAGE_INVALID_ARCHIVE', 'index.json'),
    'index.json',
  );
  let tops = index.manifests.filter(
    (d) => MANIFEST_MEDIA_TYPES.includes(d.mediaType) || INDEX_MEDIA_TYPES.includes(d.mediaType),
  );
  // Several single-platform manifests at the top: keep those for this platform, if any.
  const forUs = tops.filter(
    (d) => !d.platform || INDEX_MEDIA_TYPES.includes(d.mediaType) || platformScore(d.platform, platform) >= 0,
  );
  if (forUs.length > 0) tops = forUs;
  if (tops.length === 0) throw invalid('index.json lists no image manifests');
  const requests = [];
  for (const top of tops) {
    const manifestDesc = await pickManifest(store, top, platform, 0);
    await checkOciImage(store, scan, manifestDesc);
    requests.push({
      manifestDigest: manifestDesc.digest,
      names: ociNames(top.annotations, archive, opts.name),
    });
  }
  return { requests, images: await store.addImages(requests) };
}

async function pickManifest(
  store: ImageStore,
  desc: Descriptor,
  platform: Platform,
  depth: number,
): Promise<Descriptor> {
  await present(store, desc, 'manifest');
  if (MANIFEST_MEDIA_TYPES.includes(desc.mediaType)) return desc;
  if (depth >= 4) throw invalid('indexes nested too deeply');
  const what = `index ${desc.digest}`;
  const nested = checkIndex(await store.readJsonBlob(desc.digest, { what }), what);
  const scored = nested.manifests
    .filter((d) => MANIFEST_MEDIA_TYPES.includes(d.mediaType) || INDEX_MEDIA_TYPES.includes(d.mediaType))
    .map((d) => ({ d, score: platformScore(d.platform, platform) }))
    .filter((x) => x.score >= 0)
    .sort((a, b) => b.score - a.score);
  if (scored.length === 0) {
    const offered = nested.manifests.map((d) => d.platform).filter((p): p is Platform => !!p);
    throw new ImageError(
      'IMAGE_PLATFORM_NOT_FOUND',
      `${what} has no image for ${platform.os}/${platform.architecture}${platform.variant ? '/' + platform.variant : ''}`,
      {
        hint: 'choose one of the offered platforms with --platform',
        details: { offered: offered.map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join('/')) },
      },
    );
  }
  return pickManifest(store, scored[0].d, platform, depth + 1);
}

async function checkOciImage(store: ImageStore, scan: Scan, desc: Descriptor): Promise<void> {
  const what = `manifest ${desc.digest}`;
  const manifest = checkManifest(await store.readJsonBlob(desc.digest, { what }), what);
  await present(store, manifest.config, 'config');
  for (const l of manifest.layers) await present(store, l, 'layer');
  const config = checkConfig(
    await store.readJsonBlob(manifest.config.digest, {
      maxBytes: MAX_CONFIG_BYTES,
      code: 'IMAGE_INVALID_CONFIG',
    }),
    manifest.layers.length,
  );
  manifest.layers.forEach((l, i) => {
    const diffId = scan.byDigest.get(l.digest)?.diffId;
    if (diffId !== undefined && diffId !== config.rootfs.diff_ids[i])
      throw diffIdMismatch(l.digest, config.rootfs.diff_ids[i], diffId);
  });
}

/** A blob a descriptor names must have arrived (or be stored already) with the announced size. */
async function present(store: ImageStore, d: Descriptor, what: string): Promise<void> {
  const size = await store.blobSize(d.digest);
  if (size === undefined) throw invalid(`${what} blob ${d.digest} is missing from the archive`);
  if (size !== d.size) {
    throw new ImageError(
      'IMAGE_SIZE_MISMATCH',
      `${what} blob ${d.digest} is ${size} bytes, the descriptor says ${d.size}`,
      {
        details: { digest: d.digest, expected: d.size, actual: size },
      },
    );
  }
}

function ociNames(
  annotations: Record<string, string> | undefined,
  archive: string | undefined,
  name?: string,
): string[] {
  const full = annotations?.[CONTAINERD_NAME_ANNOTATION];
  if (full) return [normalizeForStore(full, 'docker')];
  const ref = annotations?.[NAME_ANNOTATION];
  if (ref && /[/:@]/.test(ref)) return [normalizeForStore(ref, 'local')];
  if (name) {
    const r = parseReference(name);
    return [normalizeForStore({ ...r, tag: r.tag ?? ref ?? DEFAULT_TAG }, 'local')];
  }
  if (!ref || archive === undefined) return [];
  const base = repositoryFromFile(archive);
  return base ? [normalizeForStore(`localhost/${base}:${ref}`)] : [];
}

/** `My Image.tar.gz` → `my-image`; undefined when nothing valid is left. */
export function repositoryFromFile(file: string): string | undefined {
  let base = path.basename(file).toLowerCase();
  for (let again = true; again;) {
    again = false;
    for (const ext of ['.tgz', '.gz', '.tar', '.oci']) {
      if (base.endsWith(ext) && base.length > ext.length) {
        base = base.slice(0, -ext.length);
        again = true;
      }
    }
  }
  const cleaned = base
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, '-')
    .replace(/^[._-]+|[._-]+$/g, '');
  return /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/.test(cleaned) ? cleaned : undefined;
}

// ---- docker save ----------------------------------------------------------------------------

interface DockerEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const dockerManifestCheck = lazyValidator(
  'image:docker-save-manifest',
  {
    type: 'array',
    minItems: 1,
    maxItems: 1000,
    items: {
      type: 'object',
      required: ['Config', 'Layers'],
      properties: {
        Config: { type: 'string', minLength: 1 },
        RepoTags: { type: ['array', 'null'], items: { type: 'string' } },
        Layers: { type: 'array', maxItems: 500, items: { type: 'string', minLength: 1 } },
      },
    },
  },
  { allowUnionTypes: true },
);

async function loadDocker(store: ImageStore, scan: Scan, opts: LoadOptions): Promise<Loaded> {
  const value = parseJson(scan.meta.get('manifest.json')!, 'IMAGE_INVALID_ARCHIVE', 'manifest.json');
  if (!dockerManifestCheck(value)) {
    const e = dockerManifestCheck.errors?.[0];
    throw invalid(`manifest.json: ${e ? `${e.instancePath || '(root)'} ${e.message}` : 'invalid'}`);
  }
  const requests = [];
  for (const entry of value as DockerEntry[]) {
    const cfg = blobAt(scan, entry.Config, 'config');
    const named = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(entry.Config);
    if (named && cfg.digest !== `sha256:${named[1]}`)
      throw diffIdMismatch(entry.Config, `sha256:${named[1]}`, cfg.digest, 'config');
    const config = checkConfig(
      await store.readJsonBlob(cfg.digest, { maxBytes: MAX_CONFIG_BYTES, code: 'IMAGE_INVALID_CONFIG' }),
      entry.Layers.length,
      `config ${entry.Config}`,
    );
    const layers: Descriptor[] = entry.Layers.map((p, i) => {
      const b = blobAt(scan, p, 'layer');
      if (b.diffId === undefined)
        throw invalid(`layer ${JSON.stringify(p)}: ${b.diffIdError ?? 'unreadable'}`);
      if (b.diffId !== config.rootfs.diff_ids[i])
        throw diffIdMismatch(p, config.rootfs.diff_ids[i], b.diffId);
      const mediaType = b.compression === 'gzip' ? MediaType.OciLayerGzip : MediaType.OciLayer;
      return { mediaType, digest: b.digest, size: b.size };
    });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: cfg.digest, size: cfg.size },
      layers,
    };
    const put = await store.putBlob(Buffer.from(JSON.stringify(manifest)));
    const tags = entry.RepoTags ?? [];
    const names =
      tags.length > 0
        ? tags.map((t) => normalizeForStore(t, 'docker'))
        : opts.name
          ? [normalizeForStore(opts.name)]
          : [];
    requests.push({ manifestDigest: put.digest, names });
  }
  return { requests, images: await store.addImages(requests) };
}

// ---- errors ---------------------------------------------------------------------------------

function invalid(message: string): ImageError {
  return new ImageError('IMAGE_INVALID_ARCHIVE', message);
}

function diffIdMismatch(what: string, expected: string, actual: string, kind = 'layer'): ImageError {
  return new ImageError(
    'IMAGE_DIGEST_MISMATCH',
    `${kind} ${what} hashes to ${actual}, the archive claims ${expected}`,
    {
      details: { expected, actual },
    },
  );
}

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
