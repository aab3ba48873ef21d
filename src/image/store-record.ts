import { checkDigest } from './digest.js';
import { ImageError } from './errors.js';
import { normalizeForStore } from './reference.js';
import { blobNotFound } from './store-db.js';
import type { AddImageRequest, ImageStore } from './store.js';
import { checkConfig, checkManifest, MAX_CONFIG_BYTES, type ImageRecord } from './types.js';

/**
 * The record `ImageStore.addImages()` makes of an image whose blobs are stored: its manifest and
 * config checked, every blob present with its announced size. Reads only; the store records it.
 */
export async function prepareRecord(store: ImageStore, req: AddImageRequest): Promise<ImageRecord> {
  const digest = checkDigest(req.manifestDigest, 'manifest digest');
  const what = `manifest ${digest}`;
  const manifest = checkManifest(await store.readJsonBlob(digest, { what }), what);
  await checkPresent(store, manifest.config.digest, manifest.config.size, 'config');
  const cfgValue = await store.readJsonBlob(manifest.config.digest, {
    maxBytes: MAX_CONFIG_BYTES,
    code: 'IMAGE_INVALID_CONFIG',
    what: `image config ${manifest.config.digest}`,
  });
  const config = checkConfig(cfgValue, manifest.layers.length, `image config ${manifest.config.digest}`);
  for (const l of manifest.layers) await checkPresent(store, l.digest, l.size, 'layer');
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

async function checkPresent(store: ImageStore, digest: string, size: number, what: string): Promise<void> {
  const actual = await store.blobSize(digest);
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
