/**
 * Builders for image tests (unit and e2e): layer tars, whole images, OCI-layout tars and
 * docker-save tars, all made in memory with tar-stream and zlib — no binary fixtures.
 *
 *   const { tar } = await buildOciLayoutTar({ layers: [[{ path: 'etc/hello', content: 'hi' }]], refName: 'demo:1' });
 *   const { tar } = await buildDockerSaveTar({ layers: [...], repoTags: ['busybox:latest'] });
 *
 * The `*Files` functions return the archive's file list so a test can tamper with it before
 * `packTar`.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import type { ImageConfig, ImageManifest } from '../../../src/image/types.js';

export interface LayerEntry {
  path: string;
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  /** Target of a symlink or hardlink. */
  linkname?: string;
  mtime?: Date;
}

/** One file of an archive (or layer) tar. */
export interface TarFile {
  name: string;
  content?: string | Buffer;
  type?: Header['type'];
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

export const sha256 = (b: string | Buffer): string =>
  'sha256:' + createHash('sha256').update(b).digest('hex');
export const hexOf = (digest: string): string => digest.replace(/^sha256:/, '');

const EPOCH = new Date(1_600_000_000_000);

export async function packTar(files: TarFile[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c) => chunks.push(c as Buffer));
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const f of files) {
    const type = f.type ?? 'file';
    const header = {
      name: f.name,
      type,
      mode: f.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: f.uid ?? 0,
      gid: f.gid ?? 0,
      mtime: f.mtime ?? EPOCH,
      ...(f.linkname !== undefined ? { linkname: f.linkname } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const cb = (e?: Error | null): void => (e ? reject(e) : resolve());
      if (type === 'file') p.entry(header, f.content ?? '', cb);
      else p.entry(header, cb).end(null);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function layerTar(entries: LayerEntry[]): Promise<Buffer> {
  return packTar(entries.map((e) => ({ ...e, name: e.path })));
}

export interface ImageSpec {
  /** One list of entries per layer, bottom first. */
  layers: LayerEntry[][];
  /** Store layers gzipped. Default: true for OCI layouts, false for docker save. */
  gzip?: boolean;
  /** The runtime config (`config` in the image config). */
  runtime?: ImageConfig['config'];
  architecture?: string;
  os?: string;
  created?: string;
}

export interface BuiltLayer {
  bytes: Buffer;
  digest: string;
  size: number;
  diffId: string;
  mediaType: string;
}

export interface BuiltImage {
  layers: BuiltLayer[];
  config: ImageConfig;
  configBytes: Buffer;
  configDigest: string;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  manifestDigest: string;
}

export async function buildImage(spec: ImageSpec, gzipDefault = true): Promise<BuiltImage> {
  const gzip = spec.gzip ?? gzipDefault;
  const layers: BuiltLayer[] = [];
  for (const entries of spec.layers) {
    const plain = await layerTar(entries);
    const bytes = gzip ? gzipSync(plain) : plain;
    layers.push({
      bytes,
      digest: sha256(bytes),
      size: bytes.length,
      diffId: sha256(plain),
      mediaType: gzip
        ? 'application/vnd.oci.image.layer.v1.tar+gzip'
        : 'application/vnd.oci.image.layer.v1.tar',
    });
  }
  const config: ImageConfig = {
    created: spec.created ?? '2024-01-01T00:00:00Z',
    architecture: spec.architecture ?? 'amd64',
    os: spec.os ?? 'linux',
    config: spec.runtime ?? { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created_by: 'test' })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(configBytes),
      size: configBytes.length,
    },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    layers,
    config,
    configBytes,
    configDigest: sha256(configBytes),
    manifest,
    manifestBytes,
    manifestDigest: sha256(manifestBytes),
  };
}

export interface OciLayoutImage {
  image: BuiltImage;
  /** `org.opencontainers.image.ref.name`: a full reference or a bare tag. */
  refName?: string;
  annotations?: Record<string, string>;
}

/** The files of an OCI image layout holding `images` (blobs deduplicated). */
export function ociLayoutFiles(images: OciLayoutImage[]): TarFile[] {
  const blobs = new Map<string, Buffer>();
  for (const { image } of images) {
    for (const l of image.layers) blobs.set(l.digest, l.bytes);
    blobs.set(image.configDigest, image.configBytes);
    blobs.set(image.manifestDigest, image.manifestBytes);
  }
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: images.map(({ image, refName, annotations }) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
      ...(refName || annotations
        ? {
            annotations: {
              ...(refName ? { 'org.opencontainers.image.ref.name': refName } : {}),
              ...annotations,
            },
          }
        : {}),
    })),
  };
  return [
    { name: 'oci-layout', content: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...[...blobs].map(([d, content]) => ({ name: `blobs/sha256/${hexOf(d)}`, content })),
    { name: 'index.json', content: JSON.stringify(index) },
  ];
}

export async function buildOciLayoutTar(
  spec: ImageSpec & { refName?: string; annotations?: Record<string, string> },
): Promise<{ tar: Buffer; image: BuiltImage; files: TarFile[] }> {
  const image = await buildImage(spec, true);
  const files = ociLayoutFiles([{ image, refName: spec.refName, annotations: spec.annotations }]);
  return { tar: await packTar(files), image, files };
}

export interface DockerSaveImage {
  image: BuiltImage;
  repoTags?: string[] | null;
}

/**
 * The files of a `docker save` archive. `legacy` (default) is Docker < 25: `<id>/layer.tar`,
 * `<config hex>.json`; `blobs` is Docker 25+: everything under `blobs/sha256/`.
 */
export function dockerSaveFiles(images: DockerSaveImage[], style: 'legacy' | 'blobs' = 'legacy'): TarFile[] {
  const files = new Map<string, TarFile>();
  const manifest = images.map(({ image, repoTags }) => {
    const configName =
      style === 'legacy' ? `${hexOf(image.configDigest)}.json` : `blobs/sha256/${hexOf(image.configDigest)}`;
    files.set(configName, { name: configName, content: image.configBytes });
    const layers = image.layers.map((l) => {
      const id = hexOf(sha256(l.diffId));
      const name = style === 'legacy' ? `${id}/layer.tar` : `blobs/sha256/${hexOf(l.digest)}`;
      if (style === 'legacy') {
        files.set(`${id}/`, { name: `${id}/`, type: 'directory' });
        files.set(`${id}/VERSION`, { name: `${id}/VERSION`, content: '1.0' });
        files.set(`${id}/json`, { name: `${id}/json`, content: JSON.stringify({ id }) });
      }
      files.set(name, { name, content: l.bytes });
      return name;
    });
    return { Config: configName, RepoTags: repoTags ?? null, Layers: layers };
  });
  return [...files.values(), { name: 'manifest.json', content: JSON.stringify(manifest) }];
}

export async function buildDockerSaveTar(
  spec: ImageSpec & { repoTags?: string[] | null; style?: 'legacy' | 'blobs' },
): Promise<{ tar: Buffer; image: BuiltImage; files: TarFile[] }> {
  const image = await buildImage(spec, false);
  const files = dockerSaveFiles([{ image, repoTags: spec.repoTags }], spec.style);
  return { tar: await packTar(files), image, files };
}

/** A fresh temp directory; `cleanup` removes it. */
export async function tempDir(
  prefix = 'moat-image-',
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fsp.rm(dir, { recursive: true, force: true }) };
}

export async function writeFile(dir: string, name: string, data: Buffer | string): Promise<string> {
  const p = path.join(dir, name);
  await fsp.writeFile(p, data);
  return p;
}

/** Every file under `dir`, relative, sorted (to assert nothing was left behind). */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}
