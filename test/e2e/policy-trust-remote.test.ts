/**
 * Issue 10, remote subjects (mutual TLS): a listed remote user gets what the default policy grants,
 * not the service owner's account — no host path to read (policy eval data and input, import,
 * load) or write (save), no seccomp file, no registry credentials, and bind mounts only under
 * data.moat.remote_mount_dirs, judged by the canonical path. Through moat's /v1 API and the docker
 * CLI over TCP; the owner, local, keeps them all.
 */
import { defaultRunOptions } from '../../src/runtime/options.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makePki } from '../helpers/pki.js';
import { bin, IMAGE, moat, uniq } from './moat.js';
import { mainWorld, type World } from './registry-helpers.js';

let w: World;
let base = '';
let port = 0;
let proc: ChildProcess | undefined;
let clientDir = '';
let client: { ca: string; cert: string; key: string };
let shared = '';
let secretDir = '';
const SECRET = 's3cret-of-the-owner';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as net.AddressInfo;
      s.close(() => resolve(p));
    });
  });

beforeAll(async () => {
  w = mainWorld('trust-remote');
  base = realpathSync(w.env.HOME!);
  const pki = makePki();
  const tls = path.join(base, 'tls');
  clientDir = path.join(tls, 'client');
  mkdirSync(clientDir, { recursive: true });
  writeFileSync(path.join(tls, 'server.pem'), pki.server.cert);
  writeFileSync(path.join(tls, 'server-key.pem'), pki.server.key, { mode: 0o600 });
  writeFileSync(path.join(tls, 'ca.pem'), pki.caPem);
  const alice = pki.client('alice');
  client = { ca: pki.caPem, cert: alice.cert, key: alice.key };
  writeFileSync(path.join(clientDir, 'ca.pem'), pki.caPem);
  writeFileSync(path.join(clientDir, 'cert.pem'), alice.cert);
  writeFileSync(path.join(clientDir, 'key.pem'), alice.key, { mode: 0o600 });
  secretDir = path.join(base, 'dot-ssh');
  mkdirSync(secretDir);
  writeFileSync(path.join(secretDir, 'secret.json'), JSON.stringify({ token: SECRET }));
  shared = path.join(base, 'shared');
  mkdirSync(path.join(shared, 'work'), { recursive: true });
  symlinkSync(secretDir, path.join(shared, 'escape'));
  const data = path.join(base, 'remote.json');
  writeFileSync(data, JSON.stringify({ moat: { remote_users: ['alice'], remote_mount_dirs: [shared] } }));
  port = await freePort();
  let log = '';
  proc = spawn(
    process.execPath,
    [
      bin(),
      'system',
      'service',
      '--tcp',
      `127.0.0.1:${port}`,
      '--tls-cert',
      path.join(tls, 'server.pem'),
      '--tls-key',
      path.join(tls, 'server-key.pem'),
      '--tls-ca',
      path.join(tls, 'ca.pem'),
    ],
    {
      env: { ...w.env, MOAT_POLICY: `${path.join(inject('moatEnv').root, 'policies')}:${data}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  for (let i = 0; i < 200 && !/serving the API/.test(log); i++) await new Promise((r) => setTimeout(r, 50));
  if (!/serving the API/.test(log)) throw new Error(`the TCP service did not start: ${log}`);
});

afterAll(async () => {
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc!.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
});

/** A /v1 request as alice, over mutual TLS: a JSON body, or an uploaded tar (a Buffer). */
function v1(method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/v1${p}`,
        ...client,
        headers: { 'content-type': Buffer.isBuffer(body) ? 'application/x-tar' : 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : Buffer.isBuffer(body) ? body : JSON.stringify(body));
  });
}

function dockerTcp(args: string[]) {
  const r = spawnSync('docker', args, {
    env: {
      ...w.env,
      DOCKER_HOST: `tcp://127.0.0.1:${port}`,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: clientDir,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const runOptions = (o: Record<string, unknown>) => ({ ...defaultRunOptions(IMAGE), ...o });

describe('a remote subject names no host path', () => {
  it("policy eval: the owner's files are not read (data and input paths)", async () => {
    const secret = path.join(secretDir, 'secret.json');
    for (const body of [
      { data: [secret], query: 'data', format: 'json', v0Compatible: false },
      { data: [], input: secret, query: 'input', format: 'json', v0Compatible: false },
    ]) {
      const r = await v1('POST', '/policy/eval', body);
      expect(r.status, r.body).toBe(403);
      expect(r.body).not.toContain(SECRET);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'POLICY_DENIED' });
      expect(r.body).toMatch(/policy.eval is for local subjects only/);
      expect(r.body).toMatch(/remote subject alice may not read host path/);
    }
    // The owner, local, may.
    const local = await moat(['policy', 'eval', '-d', secret, 'data'], { env: w.env });
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toContain(SECRET);
  });

  it('save writes no file of the owner; import and load read none', async () => {
    const victim = path.join(base, uniq('bashrc'));
    const save = await v1('POST', '/images/save', { images: [IMAGE], file: victim });
    expect(save.status, save.body).toBe(403);
    expect(save.body).toMatch(new RegExp(`remote subject alice may not write to host path ${victim}`));
    expect(existsSync(victim)).toBe(false);
    const tar = path.join(inject('moatEnv').base, 'rootfs.tar');
    const imp = await v1('POST', '/images/import', { file: tar, name: uniq('remote-imp') });
    expect(imp.status, imp.body).toBe(403);
    expect(imp.body).toMatch(/remote subject alice may not read host path/);
    const load = await v1('POST', '/images/load', { file: tar });
    expect(load.status, load.body).toBe(403);
    const sec = await v1('POST', '/containers/create', {
      options: runOptions({ seccompProfile: path.join(secretDir, 'secret.json') }),
    });
    expect(sec.status, sec.body).toBe(403);
    expect(sec.body).toMatch(/remote subject alice may not read host path/);
  });

  it('sends archives in the request body instead: import and load', async () => {
    const name = `localhost/${uniq('uploaded')}:1`;
    const imp = await v1(
      'POST',
      `/images/import?name=${encodeURIComponent(name)}`,
      readFileSync(path.join(inject('moatEnv').base, 'rootfs.tar')),
    );
    expect(imp.status, imp.body).toBe(200);
    const saved = path.join(base, uniq('saved.tar'));
    expect((await moat(['save', '-o', saved, name], { env: w.env })).code).toBe(0);
    expect((await moat(['rmi', name], { env: w.env })).code).toBe(0);
    const load = await v1('POST', '/images/load', readFileSync(saved));
    expect(load.status, load.body).toBe(200);
    expect(load.body).toContain(name);
    expect((await moat(['rmi', name], { env: w.env })).code).toBe(0);
  });

  it("push, login and logout would use the owner's registry credentials", async () => {
    const push = await v1('POST', `/images/${encodeURIComponent(IMAGE)}/push`, {
      destination: '127.0.0.1:1/x/y:1',
    });
    expect(push.status, push.body).toBe(403);
    expect(push.body).toMatch(/image.push uses the owner's registry credentials/);
    const login = await v1('POST', '/registries/login', {
      registry: '127.0.0.1:1',
      username: 'a',
      password: 'b',
    });
    expect(login.status, login.body).toBe(403);
  });
});

describe('a remote subject bind-mounts only under data.moat.remote_mount_dirs', () => {
  it('docker -v: outside is refused (also through a symlink or ..), inside runs', () => {
    for (const src of [secretDir, path.join(shared, 'escape'), `${shared}/../dot-ssh`]) {
      const r = dockerTcp(['run', '--rm', '-v', `${src}:/x:ro`, IMAGE, 'cat', '/x/secret.json']);
      expect(r.code, src).not.toBe(0);
      expect(r.stdout).not.toContain(SECRET);
      expect(r.stderr, src).toMatch(new RegExp(`remote subject alice may not mount host path ${src}`));
    }
    // Whether a path exists is not told before the decision either.
    const missing = dockerTcp(['run', '--rm', '-v', `${base}/no-such-dir:/x`, IMAGE, 'true']);
    expect(missing.stderr).toMatch(/remote subject alice may not mount host path/);
    expect(missing.stderr).not.toMatch(/does not exist/);
    const ok = dockerTcp([
      'run',
      '--rm',
      '-v',
      `${shared}/work:/x`,
      IMAGE,
      'sh',
      '-c',
      'echo hi > /x/out; cat /x/out',
    ]);
    expect(ok.stdout, ok.stderr).toBe('hi\n');
  });

  it('/v1 create: the same', async () => {
    const r = await v1('POST', '/containers/create', {
      options: runOptions({ volumes: [{ host: secretDir, container: '/x', readonly: true }] }),
    });
    expect(r.status, r.body).toBe(403);
    expect(r.body).toMatch(/remote subject alice may not mount host path/);
  });
});
