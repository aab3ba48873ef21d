import * as path from 'node:path';
import type { LoadOptions } from './archive.js';
import { diffIdMismatch, invalid, type Loaded, type Scan } from './archive-common.js';
import { ImageError } from './errors.js';
import { normalizeForStore, parseReference, DEFAULT_TAG } from './reference.js';
import type { ImageStore } from './store.js';
import {
  checkConfig,
  checkIndex,
  checkManifest,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MAX_CONFIG_BYTES,
  parseJson,
  platformScore,
  type Descriptor,
  type Platform,
} from './types.js';

/**
 * `moat load` of an OCI image layout (`oci-layout`, `index.json`, `blobs/`), from the scan of
 * archive-common.ts: the image for the platform picked from (nested) indexes, its blobs checked,
 * and its names taken from the annotations or the archive's file name (see archive.ts).
 */

const NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

export async function loadOci(
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
