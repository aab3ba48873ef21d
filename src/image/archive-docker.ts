import { lazyValidator } from '../util/schema.js';
import type { LoadOptions } from './archive.js';
import {
  cleanName,
  diffIdMismatch,
  invalid,
  type Loaded,
  type Scan,
  type ScannedBlob,
} from './archive-common.js';
import { normalizeForStore } from './reference.js';
import type { ImageStore } from './store.js';
import {
  checkConfig,
  MAX_CONFIG_BYTES,
  MediaType,
  parseJson,
  type Descriptor,
  type ImageManifest,
} from './types.js';

/**
 * `moat load` of a `docker save` tar (`manifest.json`), from the scan of archive-common.ts: per
 * entry, its config and layers found by path (links followed), the layers' diffIDs checked, an
 * OCI manifest written for them, and the RepoTags as names (see archive.ts).
 */

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

export async function loadDocker(store: ImageStore, scan: Scan, opts: LoadOptions): Promise<Loaded> {
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

/** The blob an archive path names, following links (a few hops at most). */
function blobAt(scan: Scan, name: string, what: string): ScannedBlob {
  let p = cleanName(name);
  for (let hops = 0; hops < 8 && scan.links.has(p); hops++) p = scan.links.get(p)!;
  const b = scan.blobs.get(p);
  if (!b) throw invalid(`${what} ${JSON.stringify(name)} is missing from the archive`);
  return b;
}
