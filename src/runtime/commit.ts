/**
 * `moat commit`: a container's layer (files/layer.ts: its overlay's upper directory, whiteouts as
 * OCI `.wh.` entries, owners as the container sees them, i.e. the image's own IDs) becomes a new
 * layer on top of its image, stored in the content-addressed store: the tar is hashed (its diffID)
 * and gzipped and hashed again as it is written, as `moat import` stores a layer. The config is the
 * image's with the new diffID, a history entry (what the container ran, the message, the author)
 * and the `--change` instructions applied (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME).
 * A running container is read as it is (nothing is paused).
 */
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DigestStream } from '../image/digest.js';
import { ImageError } from '../image/errors.js';
import { applyChanges } from '../image/import.js';
import { normalizeForStore } from '../image/reference.js';
import type { ImageStore } from '../image/store.js';
import {
  MediaType,
  MAX_CONFIG_BYTES,
  type ImageConfig,
  type ImageManifest,
  type ImageRecord,
} from '../image/types.js';
import { layerOf, type FilesEngine } from './files/index.js';
import type { ContainerRecord } from './state.js';

export interface CommitOptions {
  /** REPO[:TAG] for the new image; none: an image without a name (`docker commit` prints its ID). */
  reference?: string;
  /** `--change` instructions, Dockerfile syntax. */
  changes?: string[];
  message?: string;
  author?: string;
  /** Creation time; default now. */
  created?: Date;
}

/** The base image's manifest, config (as stored: unknown fields kept) and record. */
async function baseOf(store: ImageStore, rec: ContainerRecord) {
  let image: ImageRecord;
  try {
    image = await store.resolve(rec.imageId);
  } catch (e) {
    throw new ImageError(
      'IMAGE_NOT_FOUND',
      `the image of container ${rec.name} (${rec.imageId.slice(7, 19)}) is no longer stored`,
      {
        cause: e,
        hint: 'pull or load it again, then commit',
      },
    );
  }
  const manifest = await store.manifest(image);
  await store.config(image); // checked as any config moat reads
  const raw = (await store.readJsonBlob(image.id, {
    maxBytes: MAX_CONFIG_BYTES,
    code: 'IMAGE_INVALID_CONFIG',
  })) as ImageConfig & Record<string, unknown>;
  return { image, manifest, config: raw };
}

export async function commitContainer(
  e: FilesEngine & { deps: { images: ImageStore } },
  rec: ContainerRecord,
  o: CommitOptions,
): Promise<ImageRecord> {
  const store = e.deps.images;
  // Everything that can be wrong with the arguments fails before the layer is read.
  const names = o.reference ? [normalizeForStore(o.reference, 'local')] : [];
  const base = await baseOf(store, rec);
  const runtime = applyChanges(base.config.config ?? {}, o.changes ?? []);
  const created = (o.created ?? new Date()).toISOString();

  const w = layerOf(e, rec);
  const diff = new DigestStream();
  let layer;
  try {
    [layer] = await Promise.all([store.putBlob(pipelineOf(w.stdout, diff)), w.done]);
  } catch (err) {
    w.kill();
    throw err;
  }
  const docker = base.manifest.mediaType === MediaType.DockerManifest;
  const config: ImageConfig & Record<string, unknown> = {
    ...base.config,
    created,
    ...(o.author ? { author: o.author } : {}),
    config: runtime,
    rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, diff.digest] },
    history: [
      ...(base.config.history ?? []),
      {
        created,
        created_by: rec.command.join(' '),
        ...(o.author ? { author: o.author } : {}),
        ...(o.message ? { comment: o.message } : {}),
      },
    ],
  };
  const cfg = await store.putBlob(Buffer.from(JSON.stringify(config)));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: docker ? MediaType.DockerManifest : MediaType.OciManifest,
    config: {
      mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig,
      digest: cfg.digest,
      size: cfg.size,
    },
    layers: [
      ...base.manifest.layers,
      {
        mediaType: docker ? MediaType.DockerLayerGzip : MediaType.OciLayerGzip,
        digest: layer.digest,
        size: layer.size,
      },
    ],
  };
  const man = await store.putBlob(Buffer.from(JSON.stringify(manifest)));
  return store.addImage(man.digest, names);
}

/** The layer's bytes through the diffID hash and gzip, as one readable for the store. */
function pipelineOf(src: NodeJS.ReadableStream, diff: DigestStream) {
  const gz = createGzip();
  void pipeline(src, diff, gz).catch((err: unknown) => gz.destroy(err as Error));
  return gz;
}
