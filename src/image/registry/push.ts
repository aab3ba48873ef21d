/**
 * `moat push`: the stored manifest's exact bytes go up, so the registry (and anyone pulling)
 * sees the same digest moat has. For each blob (config, layers), `concurrency` at a time:
 * HEAD (already there?) → cross-repository mount from another repository of the same registry
 * that this image is also named in (when the registry allows it) → upload, monolithic (one PUT)
 * or chunked (PATCH `chunkSize` bytes at a time, then PUT) → finally PUT the manifest by tag.
 */
import { createReadStream } from 'node:fs';
import { ImageError } from '../errors.js';
import { localCandidates, parseReference } from '../reference.js';
import type { ImageStore } from '../store.js';
import {
  checkConfig,
  checkManifest,
  MAX_CONFIG_BYTES,
  MediaType,
  parseJson,
  type Descriptor,
} from '../types.js';
import { findCredentials } from './auth-file.js';
import { RegistryClient } from './client.js';
import type { RegistriesConfig } from './config.js';
import { resolveTarget } from './endpoint.js';
import { RegistryError } from './errors.js';
import { formatPlatform } from './manifest.js';
import { mapLimit } from './pool.js';
import type { TransferEventFn, TransferState } from './progress.js';
import { httpError } from './transport/errors.js';
import { header, type RegistryResponse } from './transport/http.js';

export interface PushOptions {
  store: ImageStore;
  cfg: RegistriesConfig;
  /** The local image (name or ID). */
  source: string;
  /** Where to push; default the name `source` resolves to. */
  destination?: string;
  tlsVerify?: boolean;
  /** Bytes per PATCH; 0 = monolithic. Default from registries.json. */
  chunkSize?: number;
  onEvent?: TransferEventFn;
}

export interface PushResult {
  reference: string;
  digest: string;
  /** The manifest's media type (sent as its Content-Type). */
  mediaType: string;
  /** The image config's `os/architecture[/variant]`. */
  platform: string;
  /** Config first, then each layer once: `exists` (already there), `mounted`, or `done` (uploaded). */
  blobs: { digest: string; size: number; state: TransferState }[];
  /** Bytes uploaded (blobs in state `done`). */
  uploadedBytes: number;
}

export async function push(opts: PushOptions): Promise<PushResult> {
  const { store, cfg } = opts;
  const rec = await store.resolve(opts.source);
  let dest = opts.destination;
  if (!dest) {
    const cands = /^(sha256:)?[a-f0-9]{3,64}$/.test(opts.source) ? [] : localCandidates(opts.source);
    dest = cands.find((c) => rec.names.includes(c));
    if (!dest)
      throw new RegistryError('REGISTRY_NO_DEFAULT', `push ${opts.source}: give a destination reference`, {
        hint: 'moat push IMAGE host[:port]/repo:tag',
      });
  }
  const target = resolveTarget(dest, cfg);
  if (!target.tag || target.digest)
    throw new ImageError(
      'IMAGE_INVALID_REFERENCE',
      `push needs a destination with a tag, not a digest: ${dest}`,
    );
  const manifestBytes = await store.readBlob(rec.manifestDigest);
  const manifest = checkManifest(
    parseJson(manifestBytes, 'IMAGE_INVALID_MANIFEST', `manifest ${rec.manifestDigest}`),
  );
  const config = checkConfig(
    await store.readJsonBlob(manifest.config.digest, {
      maxBytes: MAX_CONFIG_BYTES,
      code: 'IMAGE_INVALID_CONFIG',
      what: `image config ${manifest.config.digest}`,
    }),
  );
  const credentials = await findCredentials([cfg.authFile, cfg.dockerConfig], target.registry);
  const client = new RegistryClient({
    cfg,
    target,
    actions: ['pull', 'push'],
    tlsVerify: opts.tlsVerify,
    credentials,
  });
  await client.ping();
  // Other repositories of the same registry that hold this image: mount sources.
  const mountFrom = rec.names
    .map((n) => parseReference(n))
    .filter((r) => r.host === target.registry && r.path !== target.repository)
    .map((r) => r.path);
  const chunkSize = opts.chunkSize ?? cfg.chunkSize;
  const shown = `${target.registry}/${target.repository}:${target.tag}`;
  opts.onEvent?.({
    kind: 'resolved',
    message: `pushing ${shown} (${manifest.layers.length} layer(s), manifest ${rec.manifestDigest.slice(0, 19)})`,
  });
  const blobs = [manifest.config, ...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
  const states = await mapLimit(blobs, cfg.concurrency, async (d) => {
    const state = await pushBlob(client, store, d, { mountFrom, chunkSize, onEvent: opts.onEvent });
    opts.onEvent?.({ kind: 'blob', digest: d.digest, state, current: d.size, total: d.size });
    return { digest: d.digest, size: d.size, state };
  });
  const mediaType = manifest.mediaType ?? MediaType.OciManifest;
  const res = await client.send('PUT', client.repoUrl(`manifests/${target.tag}`), {
    headers: { 'content-type': mediaType },
    body: manifestBytes,
  });
  await res.body.dump();
  if (res.status !== 201 && res.status !== 200) throw httpError(res.status, `PUT manifest ${shown}`);
  const announced = header(res.headers, 'docker-content-digest');
  if (announced && announced !== rec.manifestDigest) {
    throw new ImageError(
      'IMAGE_DIGEST_MISMATCH',
      `${shown}: the registry stored the manifest as ${announced}, moat sent ${rec.manifestDigest}`,
    );
  }
  return {
    reference: shown,
    digest: rec.manifestDigest,
    mediaType,
    platform: formatPlatform(config),
    blobs: states,
    uploadedBytes: states.filter((b) => b.state === 'done').reduce((n, b) => n + b.size, 0),
  };
}

async function pushBlob(
  client: RegistryClient,
  store: ImageStore,
  d: Descriptor,
  o: { mountFrom: string[]; chunkSize: number; onEvent?: TransferEventFn },
): Promise<TransferState> {
  const head = await client.send('HEAD', client.repoUrl(`blobs/${d.digest}`));
  await head.body.dump();
  if (head.status === 200) return 'exists';
  if ((await store.blobSize(d.digest)) !== d.size)
    throw new ImageError('IMAGE_BLOB_NOT_FOUND', `blob ${d.digest} is missing or damaged in the store`, {
      hint: 'run `moat image fsck`, then pull or load the image again',
    });
  let location: string | undefined;
  for (const from of o.mountFrom) {
    const res = await client.send(
      'POST',
      client.repoUrl(`blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`),
      {
        scope: `repository:${from}:pull`,
        body: Buffer.alloc(0),
      },
    );
    await res.body.dump();
    if (res.status === 201) return 'mounted';
    if (res.status === 202) {
      location = uploadLocation(res);
      break;
    }
  }
  if (!location) {
    const res = await client.send('POST', client.repoUrl('blobs/uploads/'), { body: Buffer.alloc(0) });
    await res.body.dump();
    if (res.status !== 202) throw httpError(res.status, `start upload of ${d.digest}`);
    location = uploadLocation(res);
  }
  const file = store.blobPath(d.digest);
  o.onEvent?.({ kind: 'blob', digest: d.digest, state: 'uploading', current: 0, total: d.size });
  if (o.chunkSize > 0 && d.size > o.chunkSize) {
    for (let start = 0; start < d.size; start += o.chunkSize) {
      const end = Math.min(d.size, start + o.chunkSize) - 1;
      const res = await client.send('PATCH', location, {
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}` },
        body: () => createReadStream(file, { start, end }),
        bodyLength: end - start + 1,
      });
      await res.body.dump();
      if (res.status !== 202) throw httpError(res.status, `upload chunk ${start}-${end} of ${d.digest}`);
      location = uploadLocation(res);
      o.onEvent?.({ kind: 'blob', digest: d.digest, state: 'uploading', current: end + 1, total: d.size });
    }
    const done = await client.send('PUT', withDigest(location, d.digest), { body: Buffer.alloc(0) });
    await done.body.dump();
    if (done.status !== 201) throw httpError(done.status, `finish upload of ${d.digest}`);
  } else {
    const res = await client.send('PUT', withDigest(location, d.digest), {
      headers: { 'content-type': 'application/octet-stream' },
      body: () => createReadStream(file),
      bodyLength: d.size,
    });
    await res.body.dump();
    if (res.status !== 201) throw httpError(res.status, `upload ${d.digest}`);
  }
  return 'done';
}

function uploadLocation(res: RegistryResponse): string {
  const loc = header(res.headers, 'location');
  if (!loc) throw new RegistryError('REGISTRY_PROTOCOL_ERROR', 'upload response without a Location');
  try {
    return new URL(loc, res.url).toString();
  } catch {
    throw new RegistryError('REGISTRY_PROTOCOL_ERROR', `invalid upload Location ${JSON.stringify(loc)}`);
  }
}

function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}
