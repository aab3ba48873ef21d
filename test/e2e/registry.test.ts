/**
 * Registries, end to end, as a non-root user: Debian's docker-registry on 127.0.0.1 (plain,
 * htpasswd basic auth, TLS from a test CA), skopeo as the third-party client, real runc.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  mainWorld,
  needTools,
  skopeo,
  startRegistry,
  world,
  writeOciLayout,
  type Registry,
} from './registry-helpers.js';

needTools('docker-registry', 'skopeo', 'htpasswd');

const IMAGE = 'moat/busybox';

async function imageFacts(
  w: ReturnType<typeof world>,
  ref: string,
): Promise<{ Id: string; manifestDigest: string; layers: { digest: string }[] }> {
  const r = await w.moat(['image', 'inspect', ref]);
  expect(r.code, r.stderr).toBe(0);
  const [rec] = JSON.parse(r.stdout) as {
    id: string;
    manifestDigest: string;
    layers: { digest: string }[];
  }[];
  return { Id: rec.id, manifestDigest: rec.manifestDigest, layers: rec.layers };
}

describe('registry: plain HTTP on loopback', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => reg?.stop());

  it('moat push → skopeo inspect reports the same digests; pull and run in a fresh store', async () => {
    const src = mainWorld();
    const ref = `${reg.host}/moat/busybox:1`;
    const facts = await imageFacts(src, IMAGE);
    const p = await src.moat(['push', IMAGE, ref]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout.trim()).toBe(`${ref}@${facts.manifestDigest}`);
    const s = skopeo(['inspect', '--tls-verify=false', `docker://${ref}`]);
    expect(s.code, s.stderr).toBe(0);
    const inspected = JSON.parse(s.stdout) as { Digest: string; Layers: string[] };
    expect(inspected.Digest).toBe(facts.manifestDigest);
    expect(inspected.Layers).toEqual(facts.layers.map((l) => l.digest));
    const cfg = JSON.parse(
      skopeo(['inspect', '--raw', '--config', '--tls-verify=false', `docker://${ref}`]).stdout || 'null',
    );
    expect(cfg).not.toBeNull();

    const dst = world('fresh');
    const r = await dst.moat(['run', '--rm', ref, 'echo', 'pulled-and-ran']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('pulled-and-ran\n');
    expect((await imageFacts(dst, ref)).manifestDigest).toBe(facts.manifestDigest);
    const again = await dst.moat(['pull', ref]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already present/);
    const fsck = await dst.moat(['image', 'fsck']);
    expect(fsck.code, fsck.stdout).toBe(0);
    expect(fsck.stdout).toMatch(/clean/);
  });

  it('chunked upload, then a cross-repository mount', async () => {
    const src = mainWorld();
    const a = `${reg.host}/chunked/busybox:1`;
    const p = await src.moat(['push', '--chunk-size', '65536', IMAGE, a]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).not.toMatch(/mounted/);
    const tagged = await src.moat(['tag', IMAGE, a]);
    expect(tagged.code).toBe(0);
    const b = `${reg.host}/mounted/busybox:1`;
    const m = await src.moat(['push', IMAGE, b]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stderr).toMatch(/mounted from another repository/);
    expect(JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${b}`]).stdout).Digest).toBe(
      (await imageFacts(src, IMAGE)).manifestDigest,
    );
  });

  it.each([
    ['OCI', []],
    ['Docker schema 2', ['--format', 'v2s2']],
  ])('an image pushed by skopeo (%s) is pulled and run by moat', async (_n, fmt) => {
    const dir = path.join(inject('moatEnv').base, `oci-${fmt.length}`);
    const rootfs = readFileSync(path.join(inject('moatEnv').base, 'rootfs.tar'));
    await writeOciLayout(dir, [rootfs], { Env: ['PATH=/bin'], Cmd: ['sh', '-c', 'echo from-skopeo'] }, 'v1');
    const ref = `${reg.host}/skopeo/img${fmt.length}:v1`;
    const c = skopeo(['copy', ...fmt, '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${ref}`]);
    expect(c.code, c.stderr).toBe(0);
    const digest = (
      JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${ref}`]).stdout) as { Digest: string }
    ).Digest;
    const w = world('skopeo');
    const pulled = await w.moat(['pull', ref]);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stderr).toContain(digest);
    const r = await w.moat(['run', '--rm', ref]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('from-skopeo\n');
  });

  it('--format json: one object on stdout for push and pull (layers fetched, then present); errors as JSON', async () => {
    const src = mainWorld();
    const ref = `${reg.host}/json/busybox:1`;
    const facts = await imageFacts(src, IMAGE);
    const p = await src.moat(['push', '--format', 'json', IMAGE, ref]);
    expect(p.code, p.stderr).toBe(0);
    const pushed = JSON.parse(p.stdout) as Record<string, unknown> & {
      layers: { digest: string; size: number; state: string }[];
      config: { digest: string; state: string };
    };
    expect(pushed).toMatchObject({
      reference: ref,
      digest: facts.manifestDigest,
      mediaType: expect.stringMatching(/manifest/),
      platform: expect.stringMatching(/^linux\//),
      config: { digest: facts.Id, state: expect.stringMatching(/^(uploaded|present|mounted)$/) },
    });
    expect(pushed.layers.map((l) => l.digest)).toEqual(facts.layers.map((l) => l.digest));
    expect(typeof pushed.bytesTransferred).toBe('number');
    expect(typeof pushed.durationMs).toBe('number');

    const w = world('json');
    const first = await w.moat(['pull', '--format', 'json', ref]);
    expect(first.code, first.stderr).toBe(0);
    const pulled = JSON.parse(first.stdout) as {
      layers: { digest: string; size: number; state: string }[];
      config: { state: string };
      bytesTransferred: number;
    } & Record<string, unknown>;
    expect(pulled).toMatchObject({
      reference: ref,
      name: ref,
      digest: facts.manifestDigest,
      manifestDigest: facts.manifestDigest,
      id: facts.Id,
      mediaType: pushed.mediaType,
      platform: pushed.platform,
      config: { digest: facts.Id, state: 'fetched' },
    });
    expect(pulled.layers.map((l) => [l.digest, l.state])).toEqual(
      facts.layers.map((l) => [l.digest, 'fetched']),
    );
    expect(pulled.bytesTransferred).toBe(
      pulled.layers.reduce((n, l) => n + l.size, 0) + (pulled.config as unknown as { size: number }).size,
    );
    const again = await w.moat(['pull', '--format', 'json', ref]);
    const second = JSON.parse(again.stdout) as typeof pulled;
    expect(second.layers.map((l) => [l.digest, l.state])).toEqual(
      facts.layers.map((l) => [l.digest, 'present']),
    );
    expect(second.bytesTransferred).toBe(0);

    const missing = await w.moat(['pull', '--format', 'json', `${reg.host}/json/nothing:1`]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'REGISTRY_MANIFEST_NOT_FOUND' } });
    const denied = await w.moat(['push', '--format', 'json', 'no-such-image', ref]);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ error: { code: 'IMAGE_NOT_FOUND' } });
  });

  it('errors keep stable codes: unknown tag, short name without default registry, --tls-verify=true on HTTP', async () => {
    const w = world('errors');
    const m = await w.moat(['pull', `${reg.host}/nope/nope:1`]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain('[REGISTRY_MANIFEST_NOT_FOUND]');
    const s = await w.moat(['pull', 'busybox']);
    expect(s.stderr).toContain('[REGISTRY_NO_DEFAULT]');
    const t = await w.moat(['pull', '--tls-verify=true', `${reg.host}/moat/busybox:1`]);
    expect(t.code).toBe(125);
    expect(t.stderr).toContain('[REGISTRY_TLS_FAILED]');
    // A missing local image that names no registry is still IMAGE_NOT_FOUND for run.
    const r = await w.moat(['run', '--rm', 'nothing-here', 'true']);
    expect(r.stderr).toContain('[IMAGE_NOT_FOUND]');
  });

  it('short names use the configured default registry', async () => {
    const w = world('default');
    await fsp.writeFile(
      path.join(w.configDir, 'registries.json'),
      JSON.stringify({ defaultRegistry: reg.host }),
    );
    const r = await w.moat(['run', '--rm', 'moat/busybox:1', 'echo', 'short']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('short\n');
  });

  it('save writes OCI and docker archives that skopeo reads with the same manifest digest', async () => {
    const src = mainWorld();
    const facts = await imageFacts(src, IMAGE);
    const oci = path.join(inject('moatEnv').base, 'saved-oci.tar');
    const dock = path.join(inject('moatEnv').base, 'saved-docker.tar');
    expect((await src.moat(['save', '-o', oci, IMAGE])).code).toBe(0);
    expect((await src.moat(['save', '--format', 'docker-archive', '-o', dock, IMAGE])).code).toBe(0);
    expect(JSON.parse(skopeo(['inspect', `oci-archive:${oci}`]).stdout).Digest).toBe(facts.manifestDigest);
    expect(skopeo(['inspect', `docker-archive:${dock}`]).code).toBe(0);
    const w = world('load');
    const l = await w.moat(['load', '-i', dock]);
    expect(l.code, l.stderr).toBe(0);
    expect((await imageFacts(w, IMAGE)).Id).toBe(facts.Id);
  });
});

describe('registry: htpasswd basic auth', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: { user: 'alice', pass: 'wonder-land' } });
  });
  afterAll(async () => reg?.stop());

  it('needs login; wrong passwords are refused; credentials are stored 0600 and removed by logout', async () => {
    const w = mainWorld();
    const cfgBase = world('auth');
    Object.assign(w.env, {
      XDG_CONFIG_HOME: cfgBase.env.XDG_CONFIG_HOME,
      HOME: cfgBase.env.HOME,
      DOCKER_CONFIG: cfgBase.env.DOCKER_CONFIG,
    });
    const ref = `${reg.host}/private/busybox:1`;
    const denied = await w.moat(['push', IMAGE, ref]);
    expect(denied.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
    const bad = await w.moat(['login', '-u', 'alice', '--password-stdin', reg.host], { input: 'nope\n' });
    expect(bad.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
    const ok = await w.moat(['login', '-u', 'alice', '--password-stdin', reg.host], {
      input: 'wonder-land\n',
    });
    expect(ok.code, ok.stderr).toBe(0);
    const authFile = path.join(w.env.XDG_CONFIG_HOME!, 'moat', 'auth.json');
    expect((await fsp.stat(authFile)).mode & 0o777).toBe(0o600);
    const pushed = await w.moat(['push', IMAGE, ref]);
    expect(pushed.code, pushed.stderr).toBe(0);
    const s = skopeo(['inspect', '--tls-verify=false', '--creds', 'alice:wonder-land', `docker://${ref}`]);
    expect(JSON.parse(s.stdout).Digest).toBe((await imageFacts(w, IMAGE)).manifestDigest);
    const fresh = world('auth-pull');
    Object.assign(fresh.env, { XDG_CONFIG_HOME: w.env.XDG_CONFIG_HOME });
    const pulled = await fresh.moat(['pull', ref]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const out = await w.moat(['logout', reg.host]);
    expect(out.code).toBe(0);
    const after = await world('auth-after').moat(['pull', ref]);
    expect(after.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
    // Docker's config.json is read too.
    const dw = world('docker-config');
    await fsp.mkdir(dw.env.DOCKER_CONFIG!, { recursive: true });
    await fsp.writeFile(
      path.join(dw.env.DOCKER_CONFIG!, 'config.json'),
      JSON.stringify({
        auths: { [reg.host]: { auth: Buffer.from('alice:wonder-land').toString('base64') } },
      }),
    );
    expect((await dw.moat(['pull', ref])).code).toBe(0);
  });
});

describe('registry: TLS with a private CA', () => {
  let reg: Registry;
  beforeAll(async () => {
    reg = await startRegistry({ tls: true });
  }, 120_000);
  afterAll(async () => reg?.stop());

  it('refuses an unknown CA, trusts certs.d/<host:port>/ca.crt, and --tls-verify=false skips verification', async () => {
    const src = mainWorld();
    const ref = `${reg.host}/tls/busybox:1`;
    const no = await src.moat(['push', IMAGE, ref]);
    expect(no.stderr).toContain('[REGISTRY_TLS_FAILED]');
    const certs = path.join(src.configDir, 'certs.d', reg.host);
    await fsp.mkdir(certs, { recursive: true });
    await fsp.writeFile(path.join(certs, 'ca.crt'), reg.caPem!);
    const yes = await src.moat(['push', IMAGE, ref]);
    expect(yes.code, yes.stderr).toBe(0);
    const certDir = path.join(inject('moatEnv').base, 'skopeo-certs');
    await fsp.mkdir(certDir, { recursive: true });
    await fsp.writeFile(path.join(certDir, 'ca.crt'), reg.caPem!);
    const s = skopeo(['inspect', '--cert-dir', certDir, `docker://${ref}`]);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).Digest).toBe((await imageFacts(src, IMAGE)).manifestDigest);
    const w = world('tls-insecure');
    const pulled = await w.moat(['pull', '--tls-verify=false', ref]);
    expect(pulled.code, pulled.stderr).toBe(0);
    const w2 = world('tls-ca');
    await fsp.mkdir(path.join(w2.configDir, 'certs.d', reg.host), { recursive: true });
    await fsp.writeFile(path.join(w2.configDir, 'certs.d', reg.host, 'ca.crt'), reg.caPem!);
    const r = await w2.moat(['run', '--rm', ref, 'echo', 'tls-ok']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('tls-ok\n');
  });
});
