import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyChanges, DEFAULT_PATH_ENV, importRootfs } from '../../../src/image/import.js';
import { ImageStore } from '../../../src/image/store.js';
import { ociArchitecture } from '../../../src/image/types.js';
import { layerTar, listFiles, sha256, tempDir, writeFile } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: ImageStore;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = new ImageStore(path.join(dir, 'storage'));
});
afterEach(() => cleanup());

const code = (c: string) => expect.objectContaining({ code: c });

async function rootfs(): Promise<Buffer> {
  return layerTar([
    { path: 'bin/', type: 'directory' },
    { path: 'bin/sh', content: 'not really a shell', mode: 0o755 },
    { path: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n' },
  ]);
}

describe('importRootfs', () => {
  it('makes a one-layer image with defaults from a plain tar file', async () => {
    const tar = await rootfs();
    const phases: string[] = [];
    const rec = await importRootfs(store, await writeFile(dir, 'rootfs.tar', tar), 'mybase', {
      created: new Date('2024-05-01T00:00:00Z'),
      onProgress: (e) => phases.push(e.phase),
    });
    expect(rec.names).toEqual(['localhost/mybase:latest']);
    expect(rec.layers).toHaveLength(1);
    const layer = rec.layers[0];
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(layer.diffId).toBe(sha256(tar));
    const stored = await fsp.readFile(store.blobPath(layer.digest));
    expect(sha256(stored)).toBe(layer.digest);
    expect(gunzipSync(stored)).toEqual(tar);
    const config = await store.config(rec);
    expect(config).toMatchObject({
      os: 'linux',
      architecture: ociArchitecture(),
      created: '2024-05-01T00:00:00.000Z',
      config: { Env: [DEFAULT_PATH_ENV], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    });
    expect(config.history).toHaveLength(1);
    expect(phases).toContain('layer');
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('accepts a gzipped stream and applies --change CMD/ENV/WORKDIR', async () => {
    const tar = await rootfs();
    const rec = await importRootfs(store, Readable.from([gzipSync(tar)]), 'quay.io/me/app:1', {
      changes: [
        'CMD ["/app", "--serve"]',
        'ENV PATH=/app/bin MODE="prod mode"',
        'WORKDIR /srv',
        'WORKDIR data',
      ],
      platform: 'linux/arm64',
      message: 'imported for tests',
    });
    expect(rec.names).toEqual(['quay.io/me/app:1']);
    expect(rec.layers[0].diffId).toBe(sha256(tar));
    const config = await store.config(rec);
    expect(config.architecture).toBe('arm64');
    expect(config.config).toEqual({
      Env: ['PATH=/app/bin', 'MODE=prod mode'],
      Cmd: ['/app', '--serve'],
      WorkingDir: '/srv/data',
    });
    expect(config.history?.[0].comment).toBe('imported for tests');
    expect((await store.resolve('quay.io/me/app:1')).id).toBe(rec.id);
  });

  it('refuses input that is not a tar, leaving no image and no temp file', async () => {
    await expect(importRootfs(store, await writeFile(dir, 'junk', 'x'.repeat(2000)), 'x')).rejects.toThrow(
      code('IMAGE_CORRUPT_LAYER'),
    );
    await expect(
      importRootfs(store, Readable.from([gzipSync('not a tar'.repeat(100))]), 'x'),
    ).rejects.toThrow(code('IMAGE_CORRUPT_LAYER'));
    await expect(importRootfs(store, Readable.from([Buffer.alloc(0)]), 'x')).rejects.toThrow(
      code('IMAGE_CORRUPT_LAYER'),
    );
    expect(await store.list()).toEqual([]);
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  it('checks the name and the changes before reading the input', async () => {
    const never = new Readable({ read() {} }); // would hang if read
    await expect(importRootfs(store, never, 'Bad Name')).rejects.toThrow(code('IMAGE_INVALID_REFERENCE'));
    await expect(importRootfs(store, never, 'ok', { changes: ['RUN rm -rf /'] })).rejects.toThrow(
      code('IMAGE_INVALID_CHANGE'),
    );
  });
});

describe('applyChanges', () => {
  const base = { Env: [DEFAULT_PATH_ENV], Cmd: ['/bin/sh'] };

  it.each<[string[], object]>([
    [['CMD echo hi'], { Cmd: ['/bin/sh', '-c', 'echo hi'] }],
    [['cmd []'], { Cmd: [] }],
    [['ENTRYPOINT ["/init"]'], { Entrypoint: ['/init'], Cmd: null }],
    [['ENTRYPOINT ["/init"]', 'CMD ["x"]'], { Entrypoint: ['/init'], Cmd: ['x'] }],
    [['ENV A=1 B="two words" C=a\\ b'], { Env: [DEFAULT_PATH_ENV, 'A=1', 'B=two words', 'C=a b'] }],
    [['ENV LEGACY value with spaces'], { Env: [DEFAULT_PATH_ENV, 'LEGACY=value with spaces'] }],
    [['WORKDIR relative'], { WorkingDir: '/relative' }],
    [['USER app:app'], { User: 'app:app' }],
    [['LABEL org.example="a b" x=y'], { Labels: { 'org.example': 'a b', x: 'y' } }],
    [['VOLUME /data /var//log/'], { Volumes: { '/data': {}, '/var/log': {} } }],
    [['VOLUME ["/a", "/b"]'], { Volumes: { '/a': {}, '/b': {} } }],
    [
      ['EXPOSE 80 53/udp 8000-8001'],
      { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} } },
    ],
  ])('%j', (changes, want) => {
    expect(applyChanges(base, changes)).toMatchObject(want);
  });

  it.each([
    'RUN x',
    'VOLUME data',
    'VOLUME',
    'CMD',
    'CMD ["a", 1]',
    'CMD [not json',
    'ENV',
    'ENV =x',
    'ENV "unterminated',
    'USER a b',
    'LABEL novalue',
    'EXPOSE 0',
    'EXPOSE 70000',
    'EXPOSE 80/http',
    'WORKDIR',
    '',
  ])('refuses %j', (change) => {
    expect(() => applyChanges(base, [change])).toThrow(code('IMAGE_INVALID_CHANGE'));
  });

  it('does not modify its input', () => {
    const input = structuredClone(base);
    applyChanges(input, ['ENV A=1']);
    expect(input).toEqual(base);
  });
});
