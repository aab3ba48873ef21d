/**
 * `moat pull`: reference → manifest (index → the platform's manifest) → config → layers, every
 * byte verified before it is visible:
 *
 * - manifests: at most 4 MiB, hashed and compared with the digest they were requested by (or,
 *   for a tag, recorded from the bytes; see manifest.ts);
 * - blobs: streamed through ImageStore.putBlob with the descriptor's digest and size, so a wrong,
 *   short or long blob is deleted from `tmp/` and never appears in `blobs/`; blobs already stored
 *   (same digest and size) are not fetched; layers download `concurrency` at a time;
 * - limits on layer count and sizes are checked from the manifest before any layer is fetched;
 * - with `unpack`, the image's root is unpacked while the layers download, each layer read as
 *   it is written (the unpack commits nothing before every blob is verified);
 * - the image record is written last (one atomic images.json update), so a pull killed at any
 *   point leaves complete blobs (reused by the next pull) and no record.
 *
 * Requests go through RegistryClient (client.ts: scheme, auth, redirects); statuses and socket
 * failures are mapped to codes by transport/errors.ts.
 */
import type { Readable } from 'node:stream';
import { ImageError, isImageError } from '../errors.js';
import { BlobFollower } from '../blob-follower.js';
import type { BlobWriteObserver, ImageStore } from '../store.js';
import {
  checkConfig,
  hostPlatform,
  MAX_CONFIG_BYTES,
  MAX_MANIFEST_BYTES,
  parsePlatform,
  type Descriptor,
  type ImageManifest,
  type ImageRecord,
  type Platform,
} from '../types.js';
import { findCredentials } from './auth-file.js';
import { RegistryClient } from './client.js';
import type { RegistriesConfig } from './config.js';
import { manifestReference, resolveTarget, type Target } from './endpoint.js';
import { RegistryError } from './errors.js';
import {
  choosePlatform,
  formatPlatform,
  judgeManifest,
  MANIFEST_ACCEPT,
  type FetchedManifest,
} from './manifest.js';
import { mapLimit } from './pool.js';
import { mark } from '../../util/timing.js';
import type { TransferEventFn } from './progress.js';
import { httpError, transportError } from './transport/errors.js';
import { discard, header, readCapped } from './transport/http.js';

export interface PullOptions {
  store: ImageStore;
  cfg: RegistriesConfig;
  reference: string;
  /** `os/arch[/variant]`; default the host's. */
  platform?: string;
  tlsVerify?: boolean;
  onEvent?: TransferEventFn;
  /**
   * Unpack the image's root while its layers download (given by whoever owns the runtime's
   * storage). It gets the image ID, each layer with a follower of its download, and a promise
   * that resolves once every blob is verified; it must not commit anything before that.
   * Resolves whether it created the root (false: it existed).
   */
  unpack?: LiveUnpack;
}

/** A layer as it downloads: where the store writes it and how far (failing if the download fails). */
export interface LiveLayer {
  digest: string;
  mediaType?: string;
  follower: BlobFollower;
  /** The blob's path in the store once verified. */
  final: string;
}
export type LiveUnpack = (
  imageId: string,
  layers: LiveLayer[],
  verified: Promise<unknown>,
) => Promise<{ created: boolean } | undefined>;

export interface PullResult {
  /** What was pulled, fully qualified (`registry/repo:tag` or `registry/repo@digest`). */
  reference: string;
  /** The local name given (undefined for a digest-only pull). */
  name?: string;
  /** The digest the reference resolved to (an index's digest when the tag names an index). */
  digest: string;
  manifestDigest: string;
  platform?: string;
  id: string;
  /** Blobs fetched now and bytes they had; the rest were already stored. */
  fetched: number;
  fetchedBytes: number;
  /** Whether the image's root was unpacked by this pull (undefined: not asked to). */
  unpacked?: boolean;
  image: ImageRecord;
  /** The media type of the image manifest stored. */
  mediaType: string;
  /** The image config's `os/architecture[/variant]`. */
  configPlatform: string;
  /** Blobs (config first, then layers once each): fetched now, or already present. */
  blobs: { digest: string; size: number; state: 'fetched' | 'present' }[];
}

const MAX_INDEX_DEPTH = 2;

export async function pull(opts: PullOptions): Promise<PullResult> {
  const { store, cfg } = opts;
  const target = resolveTarget(opts.reference, cfg);
  const wanted: Platform = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
  const credentials = await findCredentials([cfg.authFile, cfg.dockerConfig], target.registry);
  const client = new RegistryClient({
    cfg,
    target,
    actions: ['pull'],
    tlsVerify: opts.tlsVerify,
    credentials,
  });
  const shown = target.storeName ?? `${target.registry}/${target.repository}@${target.digest}`;
  await client.ping();

  let top = await fetchManifest(client, target, manifestReference(target), target.digest);
  const resolvedDigest = top.digest;
  let chosen: string | undefined;
  for (let depth = 0; top.kind === 'index'; depth++) {
    if (depth >= MAX_INDEX_DEPTH)
      throw new ImageError('IMAGE_INVALID_MANIFEST', `${shown}: indexes nested too deeply`);
    const d = choosePlatform(top.index, wanted, `${shown} (index ${top.digest})`);
    chosen = d.platform ? formatPlatform(d.platform) : undefined;
    checkDescriptorSize(d, MAX_MANIFEST_BYTES, 'manifest');
    top = await fetchManifest(client, target, d.digest, d.digest);
    if (top.bytes.length !== d.size)
      throw new ImageError(
        'IMAGE_SIZE_MISMATCH',
        `manifest ${d.digest} is ${top.bytes.length} bytes, the index says ${d.size}`,
      );
  }
  const manifest = top.manifest;
  mark('manifest verified');
  checkLimits(manifest, cfg, shown);
  opts.onEvent?.({
    kind: 'resolved',
    message: `pulling ${shown} (${manifest.layers.length} layer(s), manifest ${top.digest.slice(0, 19)}${chosen ? `, ${chosen}` : ''})`,
  });

  let fetched = 0;
  let fetchedBytes = 0;
  const inflight = new Set<Readable>();
  // Layers are followed as they are written, so the unpack can read them during the download.
  const followers = new Map<string, BlobFollower>();
  const present = new Set<string>();
  const get = async (d: Descriptor, event: boolean): Promise<void> => {
    const follower = followers.get(d.digest);
    if ((await store.blobSize(d.digest)) === d.size) {
      present.add(d.digest);
      if (event)
        opts.onEvent?.({ kind: 'blob', digest: d.digest, state: 'exists', total: d.size, current: d.size });
      if (follower) {
        follower.opened(store.blobPath(d.digest));
        follower.wrote(d.size);
        follower.finish();
      }
      return;
    }
    if (event)
      opts.onEvent?.({ kind: 'blob', digest: d.digest, state: 'downloading', total: d.size, current: 0 });
    try {
      await fetchBlob(client, store, d, inflight, event ? opts.onEvent : undefined, follower);
    } catch (e) {
      follower?.fail(e);
      throw e;
    }
    follower?.finish();
    fetched++;
    fetchedBytes += d.size;
    if (event)
      opts.onEvent?.({ kind: 'blob', digest: d.digest, state: 'done', total: d.size, current: d.size });
  };

  // The config first: it is small, and a bad one stops the pull before any layer is fetched.
  checkDescriptorSize(manifest.config, MAX_CONFIG_BYTES, 'config');
  await get(manifest.config, false);
  const config = checkConfig(
    await store.readJsonBlob(manifest.config.digest, {
      maxBytes: MAX_CONFIG_BYTES,
      code: 'IMAGE_INVALID_CONFIG',
      what: `image config ${manifest.config.digest}`,
    }),
    manifest.layers.length,
  );
  mark('config verified');
  for (const l of manifest.layers)
    opts.onEvent?.({ kind: 'blob', digest: l.digest, state: 'waiting', total: l.size });
  const unique = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
  if (opts.unpack) for (const l of unique) followers.set(l.digest, new BlobFollower());
  const downloads = mapLimit(
    unique,
    cfg.concurrency,
    (l) => get(l, true),
    () => {
      for (const b of inflight) discard(b);
    },
  ).then(
    () => mark('layers downloaded and verified'),
    (e: unknown) => {
      // Layers never started must not leave the unpack waiting.
      for (const f of followers.values()) f.fail(e);
      throw e;
    },
  );
  let unpacked: boolean | undefined;
  try {
    const unpacking = opts.unpack?.(
      manifest.config.digest,
      manifest.layers.map((l) => ({
        digest: l.digest,
        mediaType: l.mediaType,
        follower: followers.get(l.digest)!,
        final: store.blobPath(l.digest),
      })),
      downloads,
    );
    const [dl, up] = await Promise.allSettled([downloads, unpacking]);
    if (dl.status === 'rejected') throw dl.reason;
    if (up.status === 'rejected') throw up.reason;
    unpacked = up.value?.created;
  } finally {
    for (const f of followers.values()) f.close();
  }
  await store.putBlob(top.bytes, { digest: top.digest, size: top.bytes.length });
  const repo = `${target.registry}/${target.repository}`;
  const image = await store.addImage(top.digest, target.storeName ? [target.storeName] : [], [
    ...new Set([`${repo}@${resolvedDigest}`, `${repo}@${top.digest}`]),
  ]);
  return {
    reference: target.digest ? `${target.registry}/${target.repository}@${target.digest}` : shown,
    name: target.storeName,
    digest: resolvedDigest,
    manifestDigest: top.digest,
    platform: chosen,
    id: image.id,
    fetched,
    fetchedBytes,
    ...(unpacked !== undefined ? { unpacked } : {}),
    image,
    mediaType: top.mediaType,
    configPlatform: formatPlatform(config),
    blobs: [manifest.config, ...unique].map((d) => ({
      digest: d.digest,
      size: d.size,
      state: present.has(d.digest) ? ('present' as const) : ('fetched' as const),
    })),
  };
}

async function fetchManifest(
  client: RegistryClient,
  target: Target,
  ref: string,
  requested: string | undefined,
): Promise<FetchedManifest> {
  const what = `manifest ${target.registry}/${target.repository}:${ref}`.replace(/:sha256:/, '@sha256:');
  const res = await client.send('GET', client.repoUrl(`manifests/${ref}`), {
    headers: { accept: MANIFEST_ACCEPT },
  });
  if (res.status === 404) {
    await res.body.dump();
    throw new RegistryError('REGISTRY_MANIFEST_NOT_FOUND', `${what} not found`, {
      hint: 'check the repository name and tag',
    });
  }
  if (res.status !== 200) {
    await res.body.dump();
    throw httpError(res.status, `GET ${what}`);
  }
  const bytes = await readCapped(res, MAX_MANIFEST_BYTES, what);
  return judgeManifest(bytes, {
    requested,
    headerDigest: header(res.headers, 'docker-content-digest'),
    contentType: header(res.headers, 'content-type'),
    what,
  });
}

async function fetchBlob(
  client: RegistryClient,
  store: ImageStore,
  d: Descriptor,
  inflight: Set<Readable>,
  onEvent?: TransferEventFn,
  observer?: BlobWriteObserver,
): Promise<void> {
  const what = `blob ${d.digest}`;
  const res = await client.send('GET', client.repoUrl(`blobs/${d.digest}`));
  if (res.status === 404) {
    await res.body.dump();
    throw new RegistryError(
      'REGISTRY_BLOB_NOT_FOUND',
      `${what} is missing from ${client.target.registry}/${client.target.repository}`,
    );
  }
  if (res.status !== 200) {
    await res.body.dump();
    throw httpError(res.status, `GET ${what}`);
  }
  const len = Number(header(res.headers, 'content-length'));
  if (header(res.headers, 'content-length') !== undefined && Number.isFinite(len) && len !== d.size) {
    discard(res.body);
    throw new ImageError(
      'IMAGE_SIZE_MISMATCH',
      `${what}: the registry announces ${len} bytes, the manifest says ${d.size}`,
      { details: { expected: d.size, announced: len } },
    );
  }
  inflight.add(res.body);
  try {
    let last = 0;
    await store.putBlob(
      res.body,
      { digest: d.digest, size: d.size },
      {
        observer,
        onProgress: onEvent
          ? (ev) => {
              // Several events a second are plenty for a display.
              const now = Date.now();
              if (now - last < 100 && ev.current !== d.size) return;
              last = now;
              onEvent({
                kind: 'blob',
                digest: d.digest,
                state: 'downloading',
                current: ev.current,
                total: d.size,
              });
            }
          : undefined,
      },
    );
  } catch (e) {
    if (isImageError(e)) {
      if (
        e.code === 'IMAGE_SIZE_MISMATCH' &&
        typeof e.details?.actual === 'number' &&
        e.details.actual < d.size
      ) {
        throw new ImageError(
          'IMAGE_BLOB_TRUNCATED',
          `${what} ended after ${e.details.actual} of ${d.size} bytes`,
          { details: { expected: d.size, actual: e.details.actual }, hint: 'retry the pull' },
        );
      }
      throw e;
    }
    throw transportError(e, what, new URL(res.url).host, true);
  } finally {
    inflight.delete(res.body);
  }
}

function checkDescriptorSize(d: Descriptor, max: number, what: string): void {
  if (d.size > max)
    throw new ImageError(
      'IMAGE_BLOB_TOO_LARGE',
      `${what} ${d.digest} is ${d.size} bytes; the limit is ${max}`,
      { details: { digest: d.digest, size: d.size, maxBytes: max } },
    );
}

/** Layer count and sizes against the configured limits, before anything is fetched. */
export function checkLimits(m: ImageManifest, cfg: Pick<RegistriesConfig, 'limits'>, what: string): void {
  const { maxLayers, maxLayerBytes, maxImageBytes } = cfg.limits;
  const over = (message: string, details: Record<string, unknown>) =>
    new ImageError('IMAGE_LIMIT_EXCEEDED', `${what}: ${message}`, {
      hint: 'raise "limits" in ~/.config/moat/registries.json if this image is expected',
      details,
    });
  if (m.layers.length > maxLayers)
    throw over(`${m.layers.length} layers; the limit is ${maxLayers}`, {
      layers: m.layers.length,
      maxLayers,
    });
  let total = m.config.size;
  for (const l of m.layers) {
    if (l.size > maxLayerBytes)
      throw over(`layer ${l.digest} is ${l.size} bytes; the limit is ${maxLayerBytes}`, {
        digest: l.digest,
        size: l.size,
        maxLayerBytes,
      });
    total += l.size;
  }
  if (total > maxImageBytes)
    throw over(`${total} bytes in all; the limit is ${maxImageBytes}`, { size: total, maxImageBytes });
}
