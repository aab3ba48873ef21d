import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadArchive, repositoryFromFile } from '../../../src/image/archive.js';
import { ImageStore } from '../../../src/image/store.js';
import { hostPlatform } from '../../../src/image/types.js';
import {
  buildDockerSaveTar,
  buildImage,
  buildOciLayoutTar,
  dockerSaveFiles,
  hexOf,
  listFiles,
  ociLayoutFiles,
  packTar,
  sha256,
  tempDir,
  writeFile,
  type TarFile,
} from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: ImageStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = new ImageStore(path.join(dir, 'storage'));
});
afterEach(() => cleanup());

const code = (c: string) => expect.objectContaining({ code: c });
const layers = [
  [
    { path: 'etc/', type: 'directory' as const },
    { path: 'etc/hello', content: 'hi', mode: 0o600, uid: 1000, gid: 1000 },
  ],
  [{ path: 'bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 }],
];

describe('OCI layout archives', () => {
  it('loads an image named by a full reference', async () => {
    const { tar, image } = await buildOciLayoutTar({ layers, refName: 'quay.io/team/app:1.0' });
    const file = await writeFile(dir, 'app.tar', tar);
    const events: string[] = [];
    const res = await loadArchive(store, file, { onProgress: (e) => events.push(e.phase) });
    expect(res.format).toBe('oci-archive');
    expect(res.images).toHaveLength(1);
    expect(res.images[0]).toMatchObject({
      id: image.configDigest,
      manifestDigest: image.manifestDigest,
      names: ['quay.io/team/app:1.0'],
    });
    expect(res.images[0].layers.map((l) => l.diffId)).toEqual(image.config.rootfs.diff_ids);
    for (const l of image.layers) expect(await fsp.readFile(store.blobPath(l.digest))).toEqual(l.bytes);
    expect(events).toContain('read');
    expect(events).toContain('commit');
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('names a short reference localhost/…', async () => {
    const { tar } = await buildOciLayoutTar({ layers, refName: 'app:2' });
    const res = await loadArchive(store, await writeFile(dir, 'x.tar', tar));
    expect(res.images[0].names).toEqual(['localhost/app:2']);
  });

  it('names a bare tag after the archive file, or after the name option', async () => {
    const { tar } = await buildOciLayoutTar({ layers, refName: 'v3' });
    const gz = gzipSync(tar); // `… | gzip` archives are read too
    const res = await loadArchive(store, await writeFile(dir, 'My_Image.oci.tar.gz', gz));
    expect(res.images[0].names).toEqual(['localhost/my_image:v3']);
    const named = await loadArchive(store, await writeFile(dir, 'y.tar', tar), { name: 'tool' });
    expect(named.images[0].names).toEqual(['localhost/my_image:v3', 'localhost/tool:v3']);
  });

  it('prefers the containerd image-name annotation, and leaves an unnamed image dangling', async () => {
    const { tar } = await buildOciLayoutTar({
      layers,
      refName: 'latest',
      annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:latest' },
    });
    const res = await loadArchive(store, await writeFile(dir, 'c.tar', tar));
    expect(res.images[0].names).toEqual(['docker.io/library/busybox:latest']);
    const img2 = await buildImage({ layers: [[{ path: 'z', content: 'z' }]] });
    const bare = await packTar(ociLayoutFiles([{ image: img2 }]));
    const res2 = await loadArchive(store, await writeFile(dir, 'bare.tar', bare));
    expect(res2.images[0].names).toEqual([]);
  });

  it('follows a nested index to the host platform', async () => {
    const host = hostPlatform();
    const mine = await buildImage({
      layers: [[{ path: 'mine', content: '1' }]],
      architecture: host.architecture,
    });
    const other = await buildImage({ layers: [[{ path: 'other', content: '2' }]], architecture: 's390x' });
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: other.manifest.mediaType,
            digest: other.manifestDigest,
            size: other.manifestBytes.length,
            platform: { os: 'linux', architecture: 's390x' },
          },
          {
            mediaType: mine.manifest.mediaType,
            digest: mine.manifestDigest,
            size: mine.manifestBytes.length,
            platform: host,
          },
        ],
      }),
    );
    const files = ociLayoutFiles([{ image: mine }, { image: other }]).filter((f) => f.name !== 'index.json');
    files.push({ name: `blobs/sha256/${hexOf(sha256(nested))}`, content: nested });
    files.push({
      name: 'index.json',
      content: JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.index.v1+json',
            digest: sha256(nested),
            size: nested.length,
            annotations: { 'org.opencontainers.image.ref.name': 'multi:1' },
          },
        ],
      }),
    });
    const file = await writeFile(dir, 'multi.tar', await packTar(files));
    const res = await loadArchive(store, file);
    expect(res.images.map((i) => [i.id, i.names])).toEqual([[mine.configDigest, ['localhost/multi:1']]]);
    await expect(loadArchive(store, file, { platform: 'linux/riscv64' })).rejects.toThrow(
      code('IMAGE_PLATFORM_NOT_FOUND'),
    );
  });
});

describe('docker save archives', () => {
  it.each(['legacy', 'blobs'] as const)('loads a %s archive named by RepoTags', async (style) => {
    const { tar, image } = await buildDockerSaveTar({
      layers,
      repoTags: ['busybox:1.36', 'me/tool:v1', 'ghcr.io/x/y:z'],
      style,
    });
    const res = await loadArchive(store, await writeFile(dir, 'save.tar', tar));
    expect(res.format).toBe('docker-archive');
    expect(res.images).toHaveLength(1);
    const rec = res.images[0];
    expect(rec.id).toBe(image.configDigest);
    expect(rec.names).toEqual(['docker.io/library/busybox:1.36', 'docker.io/me/tool:v1', 'ghcr.io/x/y:z']);
    expect(rec.layers.map((l) => [l.digest, l.diffId, l.mediaType])).toEqual(
      image.layers.map((l) => [l.digest, l.diffId, 'application/vnd.oci.image.layer.v1.tar']),
    );
    const manifest = await store.manifest(rec);
    expect(manifest.config.digest).toBe(image.configDigest);
    expect((await store.resolve('busybox:1.36')).id).toBe(image.configDigest);
  });

  it('accepts gzip layers, symlinked duplicate layers and no RepoTags', async () => {
    const image = await buildImage({ layers: [layers[0], layers[0]], gzip: true });
    const files = dockerSaveFiles([{ image, repoTags: null }]);
    // docker save writes a repeated layer once and links the second directory to it
    const manifestFile = files.find((f) => f.name === 'manifest.json')!;
    const m = JSON.parse(String(manifestFile.content));
    expect(m[0].Layers[0]).toBe(m[0].Layers[1]);
    m[0].Layers[1] = 'dup/layer.tar';
    manifestFile.content = JSON.stringify(m);
    files.unshift({ name: 'dup/layer.tar', type: 'symlink', linkname: `../${m[0].Layers[0]}` });
    const res = await loadArchive(store, await writeFile(dir, 's.tar', await packTar(files)));
    expect(res.images[0].names).toEqual([]);
    expect(res.images[0].layers.map((l) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+gzip',
      'application/vnd.oci.image.layer.v1.tar+gzip',
    ]);
  });
});

describe('large layers', () => {
  it('streams multi-megabyte gzip and plain layers through the side hashes', async () => {
    const { randomBytes } = await import('node:crypto');
    const big = [{ path: 'big.bin', content: randomBytes(3 * 1024 * 1024) }];
    const oci = await buildOciLayoutTar({ layers: [big, layers[1]], refName: 'big:1' });
    const a = await loadArchive(store, await writeFile(dir, 'big-oci.tar', oci.tar));
    expect(a.images[0].layers[0].diffId).toBe(oci.image.layers[0].diffId);
    const save = await buildDockerSaveTar({ layers: [big], repoTags: ['big:2'] });
    const b = await loadArchive(store, await writeFile(dir, 'big-save.tar', save.tar));
    expect(b.images[0].layers[0].digest).toBe(save.image.layers[0].digest);
  });
});

describe('hostile and corrupt archives', () => {
  async function expectRefused(files: TarFile[] | Buffer, wantCode: string, message?: RegExp): Promise<void> {
    // an image already in the store: its record must survive untouched
    const keep = await buildOciLayoutTar({ layers: [[{ path: 'keep', content: 'k' }]], refName: 'keep:1' });
    await loadArchive(store, await writeFile(dir, 'keep.tar', keep.tar));
    const before = await fsp.readFile(path.join(store.root, 'images.json'), 'utf8');
    const tar = Buffer.isBuffer(files) ? files : await packTar(files);
    const err = await loadArchive(store, await writeFile(dir, 'bad.tar', tar)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: wantCode });
    if (message) expect((err as Error).message).toMatch(message);
    expect(await fsp.readFile(path.join(store.root, 'images.json'), 'utf8')).toBe(before);
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  }

  it('refuses a blob whose content does not match its name', async () => {
    const { files, image } = await buildOciLayoutTar({ layers });
    const f = files.find((x) => x.name === `blobs/sha256/${hexOf(image.layers[0].digest)}`)!;
    f.content = Buffer.from('tampered');
    await expectRefused(files, 'IMAGE_DIGEST_MISMATCH');
  });

  it('refuses a config whose diff_ids do not match the layers', async () => {
    const image = await buildImage({ layers });
    const lie = {
      ...image.config,
      rootfs: { type: 'layers' as const, diff_ids: [sha256('x'), sha256('y')] },
    };
    const configBytes = Buffer.from(JSON.stringify(lie));
    const manifest = {
      ...image.manifest,
      config: { ...image.manifest.config, digest: sha256(configBytes), size: configBytes.length },
    };
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const forged = {
      ...image,
      config: lie,
      configBytes,
      configDigest: sha256(configBytes),
      manifest,
      manifestBytes,
      manifestDigest: sha256(manifestBytes),
    };
    await expectRefused(ociLayoutFiles([{ image: forged, refName: 'x:1' }]), 'IMAGE_DIGEST_MISMATCH');
    await expectRefused(dockerSaveFiles([{ image: forged, repoTags: ['x:1'] }]), 'IMAGE_DIGEST_MISMATCH');
  });

  it('refuses a docker config not matching its <hex>.json name', async () => {
    const { files, image } = await buildDockerSaveTar({ layers, repoTags: ['x:1'] });
    const f = files.find((x) => x.name === `${hexOf(image.configDigest)}.json`)!;
    f.content = Buffer.from(String(f.content).replace('"amd64"', '"arm64"'));
    await expectRefused(files, 'IMAGE_DIGEST_MISMATCH');
  });

  it.each([
    ['index.json', '{"schemaVersion": 2, "manifests": ['],
    ['index.json', '{"schemaVersion": 2, "manifests": [{"digest": "sha256:abc"}]}'],
    ['oci-layout', 'nope'],
  ])('refuses malformed %s', async (name, content) => {
    const { files } = await buildOciLayoutTar({ layers, refName: 'x:1' });
    files.find((f) => f.name === name)!.content = content;
    await expectRefused(files, 'IMAGE_INVALID_ARCHIVE', /index\.json|oci-layout/);
  });

  it('refuses malformed manifest.json and a malformed manifest blob', async () => {
    const save = await buildDockerSaveTar({ layers, repoTags: ['x:1'] });
    save.files.find((f) => f.name === 'manifest.json')!.content = '[{"Config": 1}]';
    await expectRefused(save.files, 'IMAGE_INVALID_ARCHIVE', /manifest\.json/);

    const bogus = Buffer.from('{"schemaVersion": 2, "config": {}');
    const files: TarFile[] = [
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: `blobs/sha256/${hexOf(sha256(bogus))}`, content: bogus },
      {
        name: 'index.json',
        content: JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              digest: sha256(bogus),
              size: bogus.length,
            },
          ],
        }),
      },
    ];
    await expectRefused(files, 'IMAGE_INVALID_ARCHIVE', /not valid JSON/);
  });

  it('refuses an oversized index.json', async () => {
    const { files } = await buildOciLayoutTar({ layers, refName: 'x:1' });
    files.find((f) => f.name === 'index.json')!.content = ' '.repeat(4 * 1024 * 1024 + 1);
    await expectRefused(files, 'IMAGE_INVALID_ARCHIVE', /larger than/);
  });

  it.each(['../escape', 'blobs/../../escape', '/etc/passwd'])('refuses the entry %s', async (name) => {
    const { files } = await buildOciLayoutTar({ layers, refName: 'x:1' });
    files.splice(1, 0, { name, content: 'x' });
    await expectRefused(files, 'IMAGE_INVALID_ARCHIVE');
    expect(await listFiles(dir)).not.toContain('escape');
  });

  it('refuses a missing blob, a missing layer file and duplicate entries', async () => {
    const oci = await buildOciLayoutTar({ layers, refName: 'x:1' });
    const missing = oci.files.filter((f) => f.name !== `blobs/sha256/${hexOf(oci.image.layers[1].digest)}`);
    await expectRefused(missing, 'IMAGE_INVALID_ARCHIVE', /missing/);

    const save = await buildDockerSaveTar({ layers, repoTags: ['x:1'] });
    await expectRefused(
      save.files.filter((f) => !f.name.endsWith('layer.tar')),
      'IMAGE_INVALID_ARCHIVE',
      /missing/,
    );

    await expectRefused(
      [...oci.files, oci.files[oci.files.length - 1]],
      'IMAGE_INVALID_ARCHIVE',
      /duplicate/,
    );
  });

  it('refuses a file that is not a tar, and an empty tar', async () => {
    await expectRefused(Buffer.from('this is not a tar archive at all'.repeat(40)), 'IMAGE_INVALID_ARCHIVE');
    await expectRefused([], 'IMAGE_INVALID_ARCHIVE', /neither/);
  });
});

describe('repositoryFromFile', () => {
  it.each([
    ['alpine.tar', 'alpine'],
    ['/x/My Image (1).tar.gz', 'my-image-1'],
    ['busy__box.oci.tgz', 'busy-box'],
    ['...tar', undefined],
  ])('%s → %s', (file, want) => {
    expect(repositoryFromFile(file)).toBe(want);
  });
});
