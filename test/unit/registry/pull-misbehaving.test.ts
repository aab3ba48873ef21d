/**
 * pull() against a registry that misbehaves: every bad answer has a stable code and leaves the
 * store as it was (no record, no blob with the bad digest, no temp file).
 */
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storeCredentials } from '../../../src/image/registry/auth-file.js';
import { clearTokenCache } from '../../../src/image/registry/client.js';
import { withDefaults, type RegistriesConfig } from '../../../src/image/registry/config.js';
import { pull } from '../../../src/image/registry/pull.js';
import { closeAgents } from '../../../src/image/registry/tls.js';
import { ImageStore } from '../../../src/image/store.js';
import { sha256 } from '../image/helpers.js';
import { smallImage, startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import type { BuiltImage } from '../image/helpers.js';

let reg: FakeRegistry;
let other: FakeRegistry;
let img: BuiltImage;
let dir: string;
let store: ImageStore;
let cfg: RegistriesConfig;

beforeAll(async () => {
  reg = await startFakeRegistry();
  other = await startFakeRegistry();
  img = await smallImage();
});
afterAll(async () => {
  await closeAgents();
  await reg.close();
  await other.close();
});
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-pull-'));
  store = new ImageStore(path.join(dir, 'store'));
  cfg = withDefaults(
    { timeouts: { connectMs: 2000, headersMs: 800, bodyIdleMs: 800 } },
    { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') },
  );
  reg.blobs.clear();
  reg.manifests.clear();
  reg.log.length = 0;
  reg.intercept = undefined;
  other.intercept = undefined;
  other.log.length = 0;
  reg.addImage('app', '1', img);
  clearTokenCache();
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const ref = (r = 'app:1') => `${reg.host}/${r}`;
const blobGets = () => reg.log.filter((l) => l.method === 'GET' && l.path.includes('/blobs/')).length;

async function expectUntouched(bad?: string): Promise<void> {
  expect(await store.list()).toEqual([]);
  if (bad) expect(await store.hasBlob(bad)).toBe(false);
  expect(await fsp.readdir(store.tmpDir).catch(() => [])).toEqual([]);
}

describe('pull from a well-behaved registry', () => {
  it('pulls, names the image, records the digest from the bytes, and skips stored blobs', async () => {
    const res = await pull({ store, cfg, reference: ref() });
    expect(res).toMatchObject({
      digest: img.manifestDigest,
      manifestDigest: img.manifestDigest,
      id: img.configDigest,
      name: `${reg.host}/app:1`,
      fetched: 3,
    });
    expect((await store.resolve(`${reg.host}/app:1`)).id).toBe(img.configDigest);
    const before = blobGets();
    expect(res.mediaType).toBe(img.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json');
    expect(res.configPlatform).toMatch(/^linux\/[a-z0-9]+/);
    expect(res.blobs.map((b) => [b.digest, b.size, b.state])).toEqual([
      [img.configDigest, img.configBytes.length, 'fetched'],
      ...img.layers.map((l) => [l.digest, l.bytes.length, 'fetched']),
    ]);
    const again = await pull({ store, cfg, reference: ref() });
    expect(again.fetched).toBe(0);
    expect(again.blobs.map((b) => [b.digest, b.state])).toEqual([
      [img.configDigest, 'present'],
      ...img.layers.map((l) => [l.digest, 'present']),
    ]);
    expect(blobGets()).toBe(before);
    expect((await store.fsck()).corrupt).toEqual([]);
  });

  it('chooses the platform from an index', async () => {
    const arm = await smallImage({ architecture: 'arm64', layers: [[{ path: 'arm', content: 'arm' }]] });
    reg.addImage('app', 'arm', arm);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: img.manifestDigest,
            size: img.manifestBytes.length,
            platform: { os: 'linux', architecture: 'amd64' },
          },
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: arm.manifestDigest,
            size: arm.manifestBytes.length,
            platform: { os: 'linux', architecture: 'arm64' },
          },
        ],
      }),
    );
    reg.manifests.set('app:multi', { bytes: index, type: 'application/vnd.oci.image.index.v1+json' });
    const res = await pull({ store, cfg, reference: ref('app:multi'), platform: 'linux/arm64' });
    expect(res).toMatchObject({
      digest: sha256(index),
      manifestDigest: arm.manifestDigest,
      platform: 'linux/arm64',
    });
    await expect(
      pull({ store, cfg, reference: ref('app:multi'), platform: 'linux/s390x' }),
    ).rejects.toMatchObject({ code: 'IMAGE_PLATFORM_NOT_FOUND' });
  });
});

describe('bad bytes', () => {
  it('a blob with the wrong bytes: IMAGE_DIGEST_MISMATCH', async () => {
    const bad = img.layers[1];
    reg.blobs.set(bad.digest, Buffer.alloc(bad.size, 1));
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'IMAGE_DIGEST_MISMATCH',
    });
    await expectUntouched(bad.digest);
  });

  it('a truncated blob (connection closed early): IMAGE_BLOB_TRUNCATED', async () => {
    const bad = img.layers[1];
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.endsWith(bad.digest)) return false;
      res.writeHead(200, { 'content-length': bad.size });
      res.write(bad.bytes.subarray(0, 1000));
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'IMAGE_BLOB_TRUNCATED',
    });
    await expectUntouched(bad.digest);
  });

  it('a short blob without Content-Length: IMAGE_BLOB_TRUNCATED', async () => {
    const bad = img.layers[1];
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.endsWith(bad.digest)) return false;
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.end(bad.bytes.subarray(0, 1000));
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'IMAGE_BLOB_TRUNCATED',
    });
    await expectUntouched(bad.digest);
  });

  it('a blob announced larger than the manifest says: IMAGE_SIZE_MISMATCH before reading it', async () => {
    const bad = img.layers[1];
    reg.blobs.set(bad.digest, Buffer.concat([bad.bytes, Buffer.alloc(10)]));
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'IMAGE_SIZE_MISMATCH',
    });
    await expectUntouched(bad.digest);
  });

  it('a manifest that does not match the digest it was requested by', async () => {
    reg.manifests.set(`app:${img.manifestDigest}`, {
      bytes: Buffer.from(img.manifestBytes.toString().replace('"schemaVersion":2', '"schemaVersion":2 ')),
      type: img.manifest.mediaType!,
    });
    await expect(
      pull({ store, cfg, reference: `${reg.host}/app@${img.manifestDigest}` }),
    ).rejects.toMatchObject({ code: 'IMAGE_DIGEST_MISMATCH' });
    await expectUntouched();
  });

  it('a Docker-Content-Digest header that disagrees with the bytes', async () => {
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.endsWith('/manifests/1')) return false;
      res
        .writeHead(200, { 'content-type': img.manifest.mediaType!, 'docker-content-digest': sha256('lie') })
        .end(img.manifestBytes);
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'IMAGE_DIGEST_MISMATCH',
    });
    await expectUntouched();
  });

  it.each([
    ['with Content-Length', true],
    ['streamed', false],
  ])('an oversized manifest (%s): IMAGE_BLOB_TOO_LARGE', async (_n, withLength) => {
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.includes('/manifests/')) return false;
      res.writeHead(200, {
        'content-type': 'application/vnd.oci.image.manifest.v1+json',
        ...(withLength ? { 'content-length': big.length } : {}),
      });
      res.end(big);
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'IMAGE_BLOB_TOO_LARGE',
    });
    await expectUntouched();
  });

  it.each([
    [
      'malformed JSON',
      '{"schemaVersion": 2, "config": ',
      'application/vnd.oci.image.manifest.v1+json',
      'IMAGE_INVALID_MANIFEST',
    ],
    [
      'an unknown media type',
      '{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}',
      'application/vnd.example.thing+json',
      'IMAGE_UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'schema 1',
      '{"schemaVersion":1,"name":"app","tag":"1","fsLayers":[]}',
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
      'IMAGE_SCHEMA1_UNSUPPORTED',
    ],
  ])('%s', async (_n, body, type, expected) => {
    reg.manifests.set('app:1', { bytes: Buffer.from(body), type });
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({ code: expected });
    await expectUntouched();
  });

  it('limits are checked before any layer is fetched', async () => {
    await expect(
      pull({ store, cfg: { ...cfg, limits: { ...cfg.limits, maxLayers: 1 } }, reference: ref() }),
    ).rejects.toMatchObject({ code: 'IMAGE_LIMIT_EXCEEDED' });
    expect(blobGets()).toBe(0);
    await expectUntouched();
  });
});

describe('a registry that hangs', () => {
  it('no response headers: REGISTRY_TIMEOUT', async () => {
    reg.intercept = (_req, _res, url) => url.pathname.includes('/manifests/');
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({ code: 'REGISTRY_TIMEOUT' });
    await expectUntouched();
  });
  it('a body that stops: REGISTRY_TIMEOUT, no partial blob', async () => {
    const bad = img.layers[1];
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.endsWith(bad.digest)) return false;
      res.writeHead(200, { 'content-length': bad.size });
      res.write(bad.bytes.subarray(0, 100));
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({ code: 'REGISTRY_TIMEOUT' });
    await expectUntouched(bad.digest);
  });
});

describe('authentication', () => {
  const USER = 'alice';
  const PASS = 's3cret';
  const basicOk = (h?: string) => h === 'Basic ' + Buffer.from(`${USER}:${PASS}`).toString('base64');

  function bearer(opts: { loop?: boolean } = {}) {
    let issued = 0;
    reg.intercept = (req, res, url) => {
      if (url.pathname === '/token') {
        if (!basicOk(req.headers.authorization)) return (void res.writeHead(401).end(), true);
        issued++;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ token: `tok-${url.searchParams.getAll('scope').join(' ')}`, expires_in: 300 }),
          );
        return true;
      }
      const good = !opts.loop && req.headers.authorization === 'Bearer tok-repository:app:pull';
      if (good) return false;
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${reg.host}/token",service="fake",scope="repository:app:pull"`,
        })
        .end();
      return true;
    };
    return () => issued;
  }

  it('bearer: token from the realm with the stored credentials, for the repository scope, cached', async () => {
    const issued = bearer();
    await storeCredentials(cfg.authFile, reg.host, { username: USER, password: PASS });
    const res = await pull({ store, cfg, reference: ref() });
    expect(res.id).toBe(img.configDigest);
    expect(issued()).toBe(1);
    await pull({ store: new ImageStore(path.join(dir, 'store2')), cfg, reference: ref() });
    expect(issued()).toBe(1);
  });

  it('bearer without credentials: REGISTRY_UNAUTHORIZED', async () => {
    bearer();
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_UNAUTHORIZED',
    });
  });

  it('a registry that rejects the tokens it issues: REGISTRY_AUTH_LOOP, bounded', async () => {
    const issued = bearer({ loop: true });
    await storeCredentials(cfg.authFile, reg.host, { username: USER, password: PASS });
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_AUTH_LOOP',
    });
    expect(issued()).toBeLessThanOrEqual(4);
  });

  it('insufficient_scope for a token just issued: UNAUTHORIZED anonymous, DENIED with credentials, no loop', async () => {
    let issued = 0;
    reg.intercept = (req, res, url) => {
      if (url.pathname === '/token') {
        if (req.headers.authorization && !basicOk(req.headers.authorization))
          return (void res.writeHead(401).end(), true);
        issued++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"no-access"}');
        return true;
      }
      const scope = url.pathname === '/v2/' ? '' : ',scope="repository:app:pull"';
      const error = req.headers.authorization ? ',error="insufficient_scope"' : '';
      if (url.pathname === '/v2/' && req.headers.authorization) return false;
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${reg.host}/token",service="fake"${scope}${error}`,
        })
        .end();
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_UNAUTHORIZED',
      message: expect.stringMatching(/requires authentication/),
    });
    expect(issued).toBe(1);
    await storeCredentials(cfg.authFile, reg.host, { username: USER, password: PASS });
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_DENIED',
      message: expect.stringContaining('repository:app:pull'),
    });
    expect(issued).toBe(2);
    // A token from the cache gets one fresh retry before the same conclusion.
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({ code: 'REGISTRY_DENIED' });
    expect(issued).toBe(3);
  });

  it('basic: stored credentials; wrong ones are REGISTRY_UNAUTHORIZED; docker config.json is read', async () => {
    reg.intercept = (req, res) => {
      if (basicOk(req.headers.authorization)) return false;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' }).end();
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_UNAUTHORIZED',
    });
    await storeCredentials(cfg.authFile, reg.host, { username: USER, password: 'wrong' });
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_UNAUTHORIZED',
    });
    await fsp.rm(cfg.authFile);
    await fsp.mkdir(path.dirname(cfg.dockerConfig), { recursive: true });
    await fsp.writeFile(
      cfg.dockerConfig,
      JSON.stringify({
        auths: { [`http://${reg.host}/v1/`]: { auth: Buffer.from(`${USER}:${PASS}`).toString('base64') } },
      }),
    );
    expect((await pull({ store, cfg, reference: ref() })).id).toBe(img.configDigest);
  });

  it('403: REGISTRY_DENIED', async () => {
    reg.intercept = (_req, res, url) =>
      url.pathname.includes('/manifests/') ? (res.writeHead(403).end(), true) : false;
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({ code: 'REGISTRY_DENIED' });
  });
});

describe('redirects', () => {
  it('follows a blob redirect to another host without the credentials', async () => {
    await storeCredentials(cfg.authFile, reg.host, { username: 'u', password: 'p' });
    reg.intercept = (req, res, url) => {
      if (!req.headers.authorization)
        return (void res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end(), true);
      if (!url.pathname.includes('/blobs/')) return false;
      res.writeHead(307, { location: `http://${other.host}/storage/${url.pathname.split('/').pop()}` }).end();
      return true;
    };
    other.intercept = (_req, res, url) => {
      const blob = reg.blobs.get(url.pathname.split('/').pop()!);
      if (!blob) return (void res.writeHead(404).end(), true);
      res.writeHead(200, { 'content-length': blob.length }).end(blob);
      return true;
    };
    const res = await pull({ store, cfg, reference: ref() });
    expect(res.id).toBe(img.configDigest);
    expect(other.log.length).toBe(3);
    expect(other.log.every((l) => l.auth === undefined)).toBe(true);
  });

  it('a redirect loop: REGISTRY_REDIRECT_REFUSED', async () => {
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.includes('/manifests/')) return false;
      res.writeHead(302, { location: url.pathname + 'x' }).end();
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_REDIRECT_REFUSED',
    });
  });

  it('a redirect to plain HTTP on a host that is not allowed it: REGISTRY_REDIRECT_REFUSED', async () => {
    reg.intercept = (_req, res, url) => {
      if (!url.pathname.includes('/blobs/')) return false;
      res.writeHead(307, { location: `http://blobs.example.invalid/${url.pathname}` }).end();
      return true;
    };
    await expect(pull({ store, cfg, reference: ref() })).rejects.toMatchObject({
      code: 'REGISTRY_REDIRECT_REFUSED',
    });
    await expectUntouched();
  });
});

describe('short names', () => {
  it('need a default registry; with one, they pull from it', async () => {
    await expect(pull({ store, cfg, reference: 'app:1' })).rejects.toMatchObject({
      code: 'REGISTRY_NO_DEFAULT',
    });
    const res = await pull({ store, cfg: { ...cfg, defaultRegistry: reg.host }, reference: 'app:1' });
    expect(res.name).toBe(`${reg.host}/app:1`);
  });
});
