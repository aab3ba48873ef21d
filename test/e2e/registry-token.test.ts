/**
 * A token-authenticated registry, end to end, as a non-root user: Debian's docker-registry
 * (distribution 2.8) with `auth: token`, and a token server of this test (registry-helpers.ts)
 * that checks basic credentials and issues RS256 JWTs signed by a certificate in the registry's
 * `rootcertbundle`. moat logs in, pushes, pulls by tag and digest, runs; the token server's
 * request log shows which scopes were asked for and how often.
 */
import { chmodSync, mkdtempSync, promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  mainWorld,
  needTools,
  skopeoAsync,
  startRegistry,
  startTokenServer,
  world,
  writeOciLayout,
  type Registry,
  type TokenServer,
} from './registry-helpers.js';
import { HELPER } from '../unit/registry/cred-helper-script.js';

needTools('docker-registry', 'skopeo');

const IMAGE = 'moat/busybox';
const ALICE = { user: 'alice', pass: 'wonder-land' };

async function login(w: ReturnType<typeof world>, host: string, user = ALICE.user, pass = ALICE.pass) {
  return w.moat(['login', '-u', user, '--password-stdin', host], { input: `${pass}\n` });
}

describe('registry: token auth (docker-registry + a JWT token server)', () => {
  let tok: TokenServer;
  let reg: Registry;
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(inject('moatEnv').base, 'token-'));
    tok = await startTokenServer(dir, {
      alice: { password: ALICE.pass, refreshToken: 'alice-refresh-token' },
      bob: { password: 'builder', allow: () => ['pull'] },
    });
    reg = await startRegistry({ token: tok });
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    await tok?.stop();
  });

  /** Token requests made while `fn` runs. */
  async function during<T>(fn: () => Promise<T>): Promise<{ value: T; requests: TokenServer['requests'] }> {
    const start = tok.requests.length;
    const value = await fn();
    return { value, requests: tok.requests.slice(start) };
  }

  it('login, push (pull,push scope), pull by tag and by digest in a fresh store, run', async () => {
    const src = mainWorld('tok-src');
    const ref = `${reg.host}/team/busybox:1`;
    const li = await during(() => login(src, reg.host));
    expect(li.value.code, li.value.stderr).toBe(0);
    expect(li.value.stdout).toContain('Login Succeeded');
    expect(li.requests.length).toBeGreaterThan(0);
    expect(li.requests.every((r) => r.user === 'alice' && r.status === 200)).toBe(true);
    // Login asks for a token without any scope, as docker does.
    expect(li.requests.flatMap((r) => r.scopes)).toEqual([]);

    const p = await during(() => src.moat(['push', IMAGE, ref]));
    expect(p.value.code, p.value.stderr).toBe(0);
    const digest = p.value.stdout.trim().split('@')[1];
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    const pushScopes = p.requests.flatMap((r) => r.scopes);
    expect(pushScopes).toContain('repository:team/busybox:pull,push');
    expect(p.requests.every((r) => r.user === 'alice')).toBe(true);
    // One token for the whole push (every blob HEAD/POST/PUT and the manifest).
    expect(p.requests.length).toBe(1);

    // skopeo, through the same token service, sees what moat pushed.
    const s = await skopeoAsync([
      'inspect',
      '--tls-verify=false',
      '--creds',
      'alice:wonder-land',
      `docker://${ref}`,
    ]);
    expect(s.code, s.stderr).toBe(0);
    expect((JSON.parse(s.stdout) as { Digest: string }).Digest).toBe(digest);

    const dst = world('tok-dst');
    dst.env.XDG_CONFIG_HOME = src.env.XDG_CONFIG_HOME;
    const byTag = await during(() => dst.moat(['pull', ref]));
    expect(byTag.value.code, byTag.value.stderr).toBe(0);
    expect(byTag.requests.flatMap((r) => r.scopes)).toEqual(['repository:team/busybox:pull']);
    const byDigest = await dst.moat(['pull', `${reg.host}/team/busybox@${digest}`]);
    expect(byDigest.code, byDigest.stderr).toBe(0);
    expect(byDigest.stderr).toContain(digest);
    const r = await dst.moat(['run', '--rm', ref, 'echo', 'token-ok']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('token-ok\n');
    const fresh = world('tok-digest-only');
    fresh.env.XDG_CONFIG_HOME = src.env.XDG_CONFIG_HOME;
    const run = await fresh.moat(['run', '--rm', `${reg.host}/team/busybox@${digest}`, 'echo', 'by-digest']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('by-digest\n');
  });

  it('a wrong password fails with REGISTRY_UNAUTHORIZED and stores nothing', async () => {
    const w = world('tok-wrong');
    const bad = await during(() => login(w, reg.host, 'alice', 'not-it'));
    expect(bad.value.code).toBe(1); // the user's to fix: exit 1, not 125
    expect(bad.value.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
    expect(bad.value.stderr).toMatch(/rejected the credentials/);
    expect(bad.requests.map((r) => r.status)).toEqual([401]);
    expect(() => readFileSync(path.join(w.configDir, 'auth.json'))).toThrow();
    const unknown = await login(w, reg.host, 'mallory', 'x');
    expect(unknown.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
  });

  it('anonymous pull is refused (REGISTRY_UNAUTHORIZED), without looping on the token service', async () => {
    const src = mainWorld('tok-anon-src');
    expect((await login(src, reg.host)).code).toBe(0);
    expect((await src.moat(['push', IMAGE, `${reg.host}/private/busybox:1`])).code).toBe(0);
    const w = world('tok-anon');
    const res = await during(() => w.moat(['pull', `${reg.host}/private/busybox:1`]));
    expect(res.value.code).toBe(1);
    expect(res.value.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
    expect(res.value.stderr).toMatch(/requires authentication/);
    expect(res.value.stderr).toContain(`moat login ${reg.host}`);
    expect(res.requests.length).toBeGreaterThan(0);
    expect(res.requests.length).toBeLessThanOrEqual(2);
    expect(res.requests.every((r) => r.user === undefined && r.granted.length === 0)).toBe(true);
    // A push without credentials, from a store that holds the image (so it reaches the registry).
    const pusher = mainWorld('tok-anon-push');
    const push = await during(() => pusher.moat(['push', IMAGE, `${reg.host}/private/busybox:2`]));
    expect(push.value.code).toBe(1);
    expect(push.value.stderr).toContain('[REGISTRY_UNAUTHORIZED]');
    expect(push.requests.length).toBeGreaterThan(0);
    expect(push.requests.length).toBeLessThanOrEqual(2);
    expect(push.requests.every((r) => r.user === undefined && r.granted.length === 0)).toBe(true);
    expect(push.requests.flatMap((r) => r.scopes)).toContain('repository:private/busybox:pull,push');
  });

  it('a user granted pull only cannot push: REGISTRY_DENIED', async () => {
    const w = mainWorld('tok-bob');
    expect((await login(w, reg.host, 'bob', 'builder')).code).toBe(0);
    const res = await during(() => w.moat(['push', IMAGE, `${reg.host}/bob/busybox:1`]));
    expect(res.value.code).toBe(1);
    expect(res.value.stderr).toContain('[REGISTRY_DENIED]');
    expect(res.requests.length).toBeLessThanOrEqual(2);
    expect(res.requests[0].granted).toEqual([{ type: 'repository', name: 'bob/busybox', actions: ['pull'] }]);
  });

  it('tokens are cached: a pull of a 4-blob image asks the token service once, not per blob', async () => {
    const dir = path.join(inject('moatEnv').base, 'oci-token-layers');
    const rootfs = readFileSync(path.join(inject('moatEnv').base, 'rootfs.tar'));
    const small = (n: number) => {
      const content = Buffer.from(`layer ${n}\n`);
      const h = Buffer.alloc(512);
      h.write(`layer${n}.txt`, 0);
      h.write('0000644\0', 100);
      h.write('0000000\0', 108);
      h.write('0000000\0', 116);
      h.write(content.length.toString(8).padStart(11, '0') + '\0', 124);
      h.write('00000000000\0', 136);
      h.write('        ', 148);
      h.write('0', 156);
      h.write('ustar\u000000', 257);
      let sum = 0;
      for (const b of h) sum += b;
      h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
      const body = Buffer.alloc(512);
      content.copy(body);
      return Buffer.concat([h, body, Buffer.alloc(1024)]);
    };
    await writeOciLayout(dir, [rootfs, small(1), small(2)], {
      Env: ['PATH=/bin'],
      Cmd: ['sh', '-c', 'cat /layer1.txt /layer2.txt'],
    });
    const ref = `${reg.host}/layers/three:1`;
    const c = await skopeoAsync([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      'alice:wonder-land',
      `oci:${dir}:latest`,
      `docker://${ref}`,
    ]);
    expect(c.code, c.stderr).toBe(0);
    const w = world('tok-cache');
    expect((await login(w, reg.host)).code).toBe(0);
    const res = await during(() => w.moat(['pull', ref]));
    expect(res.value.code, res.value.stderr).toBe(0);
    expect(res.value.stderr.match(/: done /g)?.length).toBe(3);
    // config + 3 layers fetched with one token (the bound allows one re-issue).
    expect(res.requests.length).toBeGreaterThanOrEqual(1);
    expect(res.requests.length).toBeLessThanOrEqual(2);
    const run = await w.moat(['run', '--rm', ref]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('layer 1\nlayer 2\n');
  });

  it('a cross-repository mount asks for pull on the source repository', async () => {
    const w = mainWorld('tok-mount');
    expect((await login(w, reg.host)).code).toBe(0);
    const a = `${reg.host}/mount-src/busybox:1`;
    expect((await w.moat(['push', IMAGE, a])).code).toBe(0);
    expect((await w.moat(['tag', IMAGE, a])).code).toBe(0);
    try {
      const b = `${reg.host}/mount-dst/busybox:1`;
      const m = await during(() => w.moat(['push', IMAGE, b]));
      expect(m.value.code, m.value.stderr).toBe(0);
      expect(m.value.stderr).toMatch(/mounted from another repository/);
      const scopes = m.requests.flatMap((r) => r.scopes);
      expect(scopes).toContain('repository:mount-dst/busybox:pull,push');
      expect(scopes).toContain('repository:mount-src/busybox:pull');
      expect(
        m.requests.some((r) =>
          r.granted.some((g) => g.name === 'mount-src/busybox' && g.actions.join() === 'pull'),
        ),
      ).toBe(true);
      // One token for the push scope, one for push + the mount source (cached for every blob).
      expect(m.requests.length).toBeLessThanOrEqual(2);
    } finally {
      await w.moat(['rmi', a]);
    }
  });

  it('credential helpers: login stores through credsStore, pull reads it, an identity token is exchanged, logout erases', async () => {
    const base = inject('moatEnv').base;
    const bin = mkdtempSync(path.join(base, 'helper-bin-'));
    writeFileSync(path.join(bin, 'docker-credential-moattest'), HELPER);
    chmodSync(path.join(bin, 'docker-credential-moattest'), 0o755);
    const withHelper = (w: ReturnType<typeof world>) => {
      const store = mkdtempSync(path.join(base, 'helper-store-'));
      Object.assign(w.env, { PATH: `${bin}:${w.env.PATH}`, MOAT_TEST_HELPER_DIR: store });
      return store;
    };
    const w = mainWorld('tok-helper');
    const store = withHelper(w);
    const authFile = path.join(w.configDir, 'auth.json');
    await fsp.writeFile(authFile, JSON.stringify({ credsStore: 'moattest' }));
    const li = await login(w, reg.host);
    expect(li.code, li.stderr).toBe(0);
    const text = await fsp.readFile(authFile, 'utf8');
    expect(text).not.toContain(ALICE.pass);
    expect(JSON.parse(text)).toEqual({ credsStore: 'moattest', auths: { [reg.host]: {} } });
    const p = await during(() => w.moat(['push', IMAGE, `${reg.host}/helper/busybox:1`]));
    expect(p.value.code, p.value.stderr).toBe(0);
    expect(p.requests.map((r) => r.user)).toEqual(['alice']);

    // Docker's config.json naming a helper for this registry that holds an identity token.
    const d = world('tok-helper-idt');
    const store2 = withHelper(d);
    await fsp.mkdir(d.env.DOCKER_CONFIG!, { recursive: true });
    await fsp.writeFile(
      path.join(d.env.DOCKER_CONFIG!, 'config.json'),
      JSON.stringify({ credHelpers: { [reg.host]: 'moattest' } }),
    );
    await fsp.writeFile(
      path.join(store2, `store-${reg.host.replace(/[/:]/g, '_')}`),
      JSON.stringify({ ServerURL: reg.host, Username: '<token>', Secret: 'alice-refresh-token' }),
    );
    const pulled = await during(() => d.moat(['pull', `${reg.host}/helper/busybox:1`]));
    expect(pulled.value.code, pulled.value.stderr).toBe(0);
    expect(pulled.requests.map((r) => [r.method, r.user])).toEqual([['POST', 'alice']]);

    const out = await w.moat(['logout', reg.host]);
    expect(out.code, out.stderr).toBe(0);
    expect(await fsp.readFile(path.join(store, 'calls'), 'utf8')).toContain(`erase ${reg.host}`);
    const anon = mainWorld('tok-helper-after');
    Object.assign(anon.env, {
      XDG_CONFIG_HOME: w.env.XDG_CONFIG_HOME,
      PATH: w.env.PATH,
      MOAT_TEST_HELPER_DIR: store,
    });
    const after = await anon.moat(['push', IMAGE, `${reg.host}/helper/busybox:2`]);
    expect(after.stderr).toContain('[REGISTRY_UNAUTHORIZED]');

    // A helper that is not installed is an error with its own code, not anonymous access.
    const m = world('tok-helper-missing');
    await fsp.writeFile(path.join(m.configDir, 'auth.json'), JSON.stringify({ credsStore: 'not-installed' }));
    const missing = await m.moat(['pull', `${reg.host}/helper/busybox:1`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('[REGISTRY_CREDENTIAL_HELPER_MISSING]');
    expect(missing.stderr).toContain('docker-credential-not-installed');
  });
});
