/**
 * `moat save`: images from the store into one tar, in either of the formats `moat load`,
 * `docker load`, `podman load` and `skopeo` read:
 *
 * - `oci-archive`: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/…`), each
 *   image's manifest annotated with its name (`org.opencontainers.image.ref.name` and
 *   `io.containerd.image.name`); the manifests are the stored bytes, so digests are unchanged.
 * - `docker-archive`: `manifest.json` with `Config`, `RepoTags` and `Layers` paths into the same
 *   `blobs/sha256/…` files (what Docker 25+ writes); layers keep their compression.
 *
 * The tar is written to a temp file beside the target and renamed into place when complete.
 * (It lives here because it writes what a registry would serve; it never contacts one.)
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { tempNameFor } from '../../util/fsutil.js';
import { digestHex } from '../digest.js';
import { localCandidates } from '../reference.js';
import type { ImageStore } from '../store.js';
import { MediaType, type ImageRecord } from '../types.js';

export type SaveFormat = 'oci-archive' | 'docker-archive';

export interface SaveResult {
  file: string;
  format: SaveFormat;
  images: { id: string; name?: string; manifestDigest: string }[];
  size: number;
}

interface Picked {
  rec: ImageRecord;
  name?: string;
}

export async function save(
  store: ImageStore,
  refs: string[],
  file: string,
  format: SaveFormat = 'oci-archive',
): Promise<SaveResult> {
  const picked: Picked[] = [];
  for (const r of refs) {
    const rec = await store.resolve(r);
    const name = /^(sha256:)?[a-f0-9]{3,64}$/.test(r)
      ? rec.names[0]
      : (localCandidates(r).find((c) => rec.names.includes(c)) ?? rec.names[0]);
    picked.push({ rec, name });
  }
  const blobs = new Map<string, number>();
  const index = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] as unknown[] };
  const dockerManifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  for (const { rec, name } of picked) {
    const manifestBytes = await store.readBlob(rec.manifestDigest);
    const mt =
      (JSON.parse(manifestBytes.toString('utf8')) as { mediaType?: string }).mediaType ??
      MediaType.OciManifest;
    blobs.set(rec.manifestDigest, manifestBytes.length);
    const cfgSize = await store.blobSize(rec.id);
    blobs.set(rec.id, cfgSize ?? 0);
    for (const l of rec.layers) blobs.set(l.digest, l.size);
    index.manifests.push({
      mediaType: mt,
      digest: rec.manifestDigest,
      size: manifestBytes.length,
      ...(name
        ? { annotations: { 'org.opencontainers.image.ref.name': name, 'io.containerd.image.name': name } }
        : {}),
    });
    dockerManifest.push({
      Config: `blobs/sha256/${digestHex(rec.id)}`,
      RepoTags: name ? [name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '')] : [],
      Layers: rec.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
    });
  }
  const target = path.resolve(file);
  const tmp = tempNameFor(target);
  const pack = tar.pack();
  const out = pipeline(pack as unknown as NodeJS.ReadableStream, createWriteStream(tmp, { mode: 0o644 }));
  const entry = (name: string, content: string | Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ name, mode: 0o644, mtime: new Date(0) }, content, (e) => (e ? reject(e) : resolve())),
    );
  try {
    if (format === 'oci-archive') await entry('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    for (const dir of ['blobs/', 'blobs/sha256/'])
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: dir, type: 'directory', mode: 0o755, mtime: new Date(0) }, (e) =>
          e ? reject(e) : resolve(),
        ),
      );
    for (const [digest] of blobs) {
      const st = await fsp.stat(store.blobPath(digest));
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(
          { name: `blobs/sha256/${digestHex(digest)}`, size: st.size, mode: 0o644, mtime: new Date(0) },
          (e) => (e ? reject(e) : resolve()),
        );
        pipeline(createReadStream(store.blobPath(digest)), sink as unknown as NodeJS.WritableStream).catch(
          reject,
        );
      });
    }
    if (format === 'oci-archive') await entry('index.json', JSON.stringify(index));
    else await entry('manifest.json', JSON.stringify(dockerManifest));
    pack.finalize();
    await out;
    await fsp.rename(tmp, target);
  } catch (e) {
    pack.destroy();
    await out.catch(() => {});
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  return {
    file: target,
    format,
    images: picked.map(({ rec, name }) => ({ id: rec.id, name, manifestDigest: rec.manifestDigest })),
    size: (await fsp.stat(target)).size,
  };
}
