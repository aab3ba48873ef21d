import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  credentialsIn,
  normalizeAuthKey,
  readAuthFile,
  removeCredentials,
  storeCredentials,
  withCredentials,
} from '../../../src/image/registry/auth-file.js';
import {
  coversScope,
  mergeScopes,
  parseChallenges,
  repositoryScope,
} from '../../../src/image/registry/challenge.js';
import { withDefaults } from '../../../src/image/registry/config.js';
import {
  isLoopback,
  manifestReference,
  resolveTarget,
  transportFor,
} from '../../../src/image/registry/endpoint.js';
import { choosePlatform, judgeManifest } from '../../../src/image/registry/manifest.js';
import { TransferView } from '../../../src/image/registry/progress.js';
import { checkLimits } from '../../../src/image/registry/pull.js';
import { sha256 } from '../image/helpers.js';
import { smallImage } from './fake-registry.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('WWW-Authenticate challenges', () => {
  it('parses bearer with quoted params containing commas', () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
    );
    expect(c).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example/token',
        service: 'registry.example',
        scope: 'repository:a/b:pull,push',
      },
    });
  });
  it('parses several challenges, basic, escapes and case', () => {
    const cs = parseChallenges([
      'Basic realm="Registry \\"R\\""',
      'BEARER Realm=https://x/t, error="insufficient_scope"',
    ]);
    expect(cs.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(cs[0].params.realm).toBe('Registry "R"');
    expect(cs[1].params).toEqual({ realm: 'https://x/t', error: 'insufficient_scope' });
  });
  it('survives garbage', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges(undefined)).toEqual([]);
    expect(() => parseChallenges('=== ,,, "')).not.toThrow();
  });
  it('builds and merges scopes', () => {
    expect(repositoryScope('a/b', ['pull', 'push'])).toBe('repository:a/b:pull,push');
    expect(mergeScopes('repository:a:pull', 'repository:a:push repository:b:pull', undefined)).toBe(
      'repository:a:pull,push repository:b:pull',
    );
    expect(repositoryScope('a/b', [])).toBe('');
    expect(mergeScopes('', 'repository:a:', undefined)).toBe('');
    expect(coversScope('repository:a:pull,push repository:b:pull', 'repository:a:push')).toBe(true);
    expect(coversScope('repository:a:pull', 'repository:a:pull,push')).toBe(false);
    expect(coversScope('repository:a:pull', 'repository:b:pull')).toBe(false);
    expect(coversScope('repository:a:pull', '')).toBe(true);
  });
});

describe('reference → registry', () => {
  const cfg = { defaultRegistry: undefined };
  it('takes the host from the reference', () => {
    expect(resolveTarget('127.0.0.1:5000/team/app:1', cfg)).toMatchObject({
      registry: '127.0.0.1:5000',
      endpoint: '127.0.0.1:5000',
      repository: 'team/app',
      tag: '1',
      storeName: '127.0.0.1:5000/team/app:1',
    });
    expect(resolveTarget('reg.example/app', cfg)).toMatchObject({
      tag: 'latest',
      storeName: 'reg.example/app:latest',
    });
  });
  it('keeps a digest and asks the registry for it', () => {
    const d = 'sha256:' + 'a'.repeat(64);
    const t = resolveTarget(`reg.example/app@${d}`, cfg);
    expect(t.digest).toBe(d);
    expect(t.storeName).toBeUndefined();
    expect(manifestReference(t)).toBe(d);
    expect(manifestReference(resolveTarget(`reg.example/app:v1@${d}`, cfg))).toBe(d);
  });
  it('refuses short names without a default registry', () => {
    expect(code(() => resolveTarget('alpine', cfg))).toBe('REGISTRY_NO_DEFAULT');
  });
  it('qualifies short names with the default registry (Docker Hub rules for docker.io)', () => {
    expect(resolveTarget('alpine', { defaultRegistry: 'docker.io' })).toMatchObject({
      registry: 'docker.io',
      endpoint: 'registry-1.docker.io',
      repository: 'library/alpine',
      storeName: 'docker.io/library/alpine:latest',
    });
    expect(resolveTarget('team/app:2', { defaultRegistry: 'reg.corp:8443' })).toMatchObject({
      registry: 'reg.corp:8443',
      repository: 'team/app',
      storeName: 'reg.corp:8443/team/app:2',
    });
  });
});

describe('transport rule', () => {
  const cfg = withDefaults(
    { insecure: ['build:5000'], registries: { 'other:1': { insecure: true } } },
    { HOME: '/nonexistent' },
  );
  it('verifies HTTPS by default', () =>
    expect(transportFor('reg.example', cfg)).toEqual({ verify: true, allowHttp: false }));
  it('lets loopback fall back to HTTP but still verifies TLS', () => {
    for (const h of ['127.0.0.1:5000', 'localhost:5000', '[::1]:5000', '127.1.2.3'])
      expect(transportFor(h, cfg)).toEqual({ verify: true, allowHttp: true });
    expect(isLoopback('128.0.0.1:5000')).toBe(false);
    expect(transportFor('127.0.0.1:5000', { ...cfg, allowLoopbackHttp: false })).toEqual({
      verify: true,
      allowHttp: false,
    });
  });
  it('insecure registries and --tls-verify=false skip verification and allow HTTP', () => {
    expect(transportFor('build:5000', cfg)).toEqual({ verify: false, allowHttp: true });
    expect(transportFor('other:1', cfg)).toEqual({ verify: false, allowHttp: true });
    expect(transportFor('reg.example', cfg, false)).toEqual({ verify: false, allowHttp: true });
  });
  it('--tls-verify=true wins even for loopback and insecure', () => {
    expect(transportFor('127.0.0.1:5000', cfg, true)).toEqual({ verify: true, allowHttp: false });
    expect(transportFor('build:5000', cfg, true)).toEqual({ verify: true, allowHttp: false });
  });
});

describe('auth files', () => {
  it('normalizes keys, Docker Hub aliases included', () => {
    expect(normalizeAuthKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeAuthKey('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeAuthKey('https://Reg.Example:5000/v2/')).toBe('reg.example:5000');
  });
  it('reads docker config.json entries (auth, username/password)', () => {
    const file = {
      auths: {
        'https://index.docker.io/v1/': { auth: Buffer.from('u:p:w').toString('base64') },
        'r:1': { username: 'a', password: 'b' },
      },
    };
    expect(credentialsIn(file, 'docker.io')).toEqual({ username: 'u', password: 'p:w' });
    expect(credentialsIn(file, 'r:1')).toEqual({ username: 'a', password: 'b' });
    expect(credentialsIn(file, 'nope')).toBeUndefined();
  });
  it('replaces every alias and keeps other keys', () => {
    const { file, changed } = withCredentials(
      { auths: { 'https://r:1/': { auth: 'eA==' }, other: { auth: 'eQ==' } }, credsStore: 'x' },
      'r:1',
      { username: 'n', password: 'p' },
    );
    expect(changed).toBe(true);
    expect(Object.keys(file.auths!)).toEqual(['other', 'r:1']);
    expect(file.credsStore).toBe('x');
  });
  it('writes 0600 atomically and removes', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-auth-'));
    const f = path.join(dir, 'sub', 'auth.json');
    await storeCredentials(f, 'r:1', { username: 'n', password: 'p' });
    expect((await fsp.stat(f)).mode & 0o777).toBe(0o600);
    expect(credentialsIn(await readAuthFile(f), 'r:1')).toEqual({ username: 'n', password: 'p' });
    expect(await removeCredentials(f, 'r:1')).toBe(true);
    expect(await removeCredentials(f, 'r:1')).toBe(false);
    await fsp.writeFile(f, '{"auths": 3}');
    await expect(readAuthFile(f)).rejects.toMatchObject({ code: 'REGISTRY_CONFIG_INVALID' });
    await fsp.rm(dir, { recursive: true });
  });
});

describe('manifests and platforms', () => {
  const linux = (architecture: string, variant?: string) => ({
    os: 'linux',
    architecture,
    ...(variant ? { variant } : {}),
  });
  const entry = (p: ReturnType<typeof linux>, n: number) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: 'sha256:' + String(n).repeat(64),
    size: 10,
    platform: p,
  });
  const index = {
    schemaVersion: 2 as const,
    manifests: [
      entry(linux('arm', 'v6'), 1),
      entry(linux('arm', 'v7'), 2),
      entry(linux('amd64'), 3),
      entry(linux('arm64', 'v8'), 4),
    ],
  };
  it('chooses the exact platform, the variant first', () => {
    expect(choosePlatform(index, linux('amd64')).digest).toBe(index.manifests[2].digest);
    expect(choosePlatform(index, linux('arm', 'v7')).digest).toBe(index.manifests[1].digest);
    expect(choosePlatform(index, linux('arm64')).digest).toBe(index.manifests[3].digest);
    expect(code(() => choosePlatform(index, linux('s390x')))).toBe('IMAGE_PLATFORM_NOT_FOUND');
  });
  it('verifies bytes against the requested digest and the announced one', async () => {
    const img = await smallImage();
    const ok = judgeManifest(img.manifestBytes, { requested: img.manifestDigest, what: 'm' });
    expect(ok.kind).toBe('manifest');
    expect(code(() => judgeManifest(img.manifestBytes, { requested: sha256('other'), what: 'm' }))).toBe(
      'IMAGE_DIGEST_MISMATCH',
    );
    expect(code(() => judgeManifest(img.manifestBytes, { headerDigest: sha256('other'), what: 'm' }))).toBe(
      'IMAGE_DIGEST_MISMATCH',
    );
  });
  it('refuses schema 1, malformed JSON and unknown media types with stable codes', () => {
    expect(code(() => judgeManifest(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), { what: 'm' }))).toBe(
      'IMAGE_SCHEMA1_UNSUPPORTED',
    );
    expect(
      code(() =>
        judgeManifest(Buffer.from('{}'), {
          contentType: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
          what: 'm',
        }),
      ),
    ).toBe('IMAGE_SCHEMA1_UNSUPPORTED');
    expect(code(() => judgeManifest(Buffer.from('{"schemaVersion":2,'), { what: 'm' }))).toBe(
      'IMAGE_INVALID_MANIFEST',
    );
    expect(
      code(() =>
        judgeManifest(Buffer.from('{"schemaVersion":2,"mediaType":"application/x-nope"}'), { what: 'm' }),
      ),
    ).toBe('IMAGE_UNSUPPORTED_MEDIA_TYPE');
  });
  it('classifies an index without a mediaType by its Content-Type or shape', () => {
    const bytes = Buffer.from(JSON.stringify(index));
    expect(judgeManifest(bytes, { what: 'i' }).kind).toBe('index');
    expect(
      judgeManifest(bytes, {
        contentType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        what: 'i',
      }).mediaType,
    ).toBe('application/vnd.docker.distribution.manifest.list.v2+json');
  });
  it('checks layer count and sizes against limits', async () => {
    const img = await smallImage();
    const limits = { maxLayers: 128, maxLayerBytes: 1e9, maxImageBytes: 1e10 };
    expect(() => checkLimits(img.manifest, { limits }, 'x')).not.toThrow();
    expect(code(() => checkLimits(img.manifest, { limits: { ...limits, maxLayers: 1 } }, 'x'))).toBe(
      'IMAGE_LIMIT_EXCEEDED',
    );
    expect(code(() => checkLimits(img.manifest, { limits: { ...limits, maxLayerBytes: 100 } }, 'x'))).toBe(
      'IMAGE_LIMIT_EXCEEDED',
    );
    expect(code(() => checkLimits(img.manifest, { limits: { ...limits, maxImageBytes: 100 } }, 'x'))).toBe(
      'IMAGE_LIMIT_EXCEEDED',
    );
  });
});

describe('transfer display', () => {
  it('prints one plain line per state change and a frame per blob', () => {
    let now = 0;
    const v = new TransferView(() => now);
    const d = 'sha256:' + 'ab'.repeat(32);
    expect(v.apply({ kind: 'resolved', message: 'pulling x' })).toBe('pulling x');
    expect(v.apply({ kind: 'blob', digest: d, state: 'waiting', total: 2_000_000 })).toBeUndefined();
    expect(v.apply({ kind: 'blob', digest: d, state: 'downloading', current: 0, total: 2_000_000 })).toMatch(
      /^abababababab: downloading/,
    );
    now = 1000;
    expect(v.apply({ kind: 'blob', digest: d, state: 'downloading', current: 1_000_000 })).toBeUndefined();
    expect(v.frame()).toEqual(['pulling x', 'abababababab: downloading 1.0MB/2.0MB 1.0MB/s']);
    now = 2000;
    expect(v.apply({ kind: 'blob', digest: d, state: 'done', current: 2_000_000 })).toBe(
      'abababababab: done 2.0MB in 2.0s (1.0MB/s)',
    );
  });
});
