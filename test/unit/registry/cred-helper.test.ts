/**
 * Docker credential helpers: a small shell-script `docker-credential-moattest` (file-backed, with
 * failure modes) on PATH; lookups, login storage and logout through it; errors with stable codes;
 * an identity token exchanged with a token service.
 */
import { chmodSync, promises as fsp, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  findCredentials,
  readAuthFile,
  removeAllCredentials,
  removeCredentials,
  storeCredentials,
} from '../../../src/image/registry/auth-file.js';
import { clearTokenCache } from '../../../src/image/registry/client.js';
import { withDefaults } from '../../../src/image/registry/config.js';
import { helperGet, helperServerUrl } from '../../../src/image/registry/cred-helper.js';
import { pull } from '../../../src/image/registry/pull.js';
import { closeAgents } from '../../../src/image/registry/tls.js';
import { ImageStore } from '../../../src/image/store.js';
import { HELPER } from './cred-helper-script.js';
import { smallImage, startFakeRegistry, type FakeRegistry } from './fake-registry.js';

let dir: string;
let helperDir: string;
let authFile: string;
let dockerConfig: string;
const saved = { PATH: process.env.PATH, dir: process.env.MOAT_TEST_HELPER_DIR };

beforeAll(async () => {
  const bin = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-helper-bin-'));
  writeFileSync(path.join(bin, 'docker-credential-moattest'), HELPER);
  chmodSync(path.join(bin, 'docker-credential-moattest'), 0o755);
  process.env.PATH = `${bin}:${process.env.PATH}`;
});
afterAll(() => {
  process.env.PATH = saved.PATH;
  process.env.MOAT_TEST_HELPER_DIR = saved.dir;
});
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'moat-helper-'));
  helperDir = path.join(dir, 'helper');
  await fsp.mkdir(helperDir);
  process.env.MOAT_TEST_HELPER_DIR = helperDir;
  delete process.env.MOAT_TEST_HELPER_MODE;
  authFile = path.join(dir, 'auth.json');
  dockerConfig = path.join(dir, 'docker', 'config.json');
  await fsp.mkdir(path.dirname(dockerConfig));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const put = (server: string, Username: string, Secret: string) =>
  fsp.writeFile(
    path.join(helperDir, `store-${server.replace(/[/:]/g, '_')}`),
    JSON.stringify({ ServerURL: server, Username, Secret }),
  );
const calls = async () =>
  (await fsp.readFile(path.join(helperDir, 'calls'), 'utf8').catch(() => '')).split('\n').filter(Boolean);
const json = (f: string, v: unknown) => fsp.writeFile(f, JSON.stringify(v));

describe('lookups', () => {
  it('credHelpers for the registry: `get` with the server URL on stdin', async () => {
    await json(authFile, { credHelpers: { 'reg.example:5000': 'moattest' } });
    await put('reg.example:5000', 'alice', 's3cret');
    expect(await findCredentials([authFile, dockerConfig], 'reg.example:5000')).toEqual({
      username: 'alice',
      password: 's3cret',
    });
    expect(await calls()).toEqual(['get reg.example:5000']);
    // Another registry: no helper named, no entry.
    expect(await findCredentials([authFile, dockerConfig], 'other.example')).toBeUndefined();
    expect(await calls()).toHaveLength(1);
  });

  it('credHelpers wins over credsStore; a helper wins over the file’s own auths entry', async () => {
    await json(dockerConfig, {
      credsStore: 'nonexistent-store',
      credHelpers: { 'https://reg.example/': 'moattest' },
      auths: { 'reg.example': { auth: Buffer.from('old:plain').toString('base64') } },
    });
    await put('reg.example', 'bob', 'from-helper');
    expect(await findCredentials([authFile, dockerConfig], 'reg.example')).toMatchObject({
      username: 'bob',
      password: 'from-helper',
    });
    await expect(findCredentials([authFile, dockerConfig], 'else.example')).rejects.toMatchObject({
      code: 'REGISTRY_CREDENTIAL_HELPER_MISSING',
      message: expect.stringContaining('docker-credential-nonexistent-store'),
    });
  });

  it('"credentials not found" means none: the next file is read, then anonymous', async () => {
    await json(authFile, { credsStore: 'moattest' });
    expect(await findCredentials([authFile, dockerConfig], 'reg.example')).toBeUndefined();
    await json(dockerConfig, { auths: { 'reg.example': { auth: Buffer.from('d:pw').toString('base64') } } });
    expect(await findCredentials([authFile, dockerConfig], 'reg.example')).toEqual({
      username: 'd',
      password: 'pw',
    });
    // An empty secret is nothing stored, too.
    await put('reg.example', 'x', '');
    expect(await helperGet('moattest', 'reg.example')).toBeUndefined();
  });

  it('Username <token> is an identity token; Docker Hub is asked as https://index.docker.io/v1/', async () => {
    await json(authFile, { credsStore: 'moattest' });
    expect(helperServerUrl('docker.io')).toBe('https://index.docker.io/v1/');
    await put('https://index.docker.io/v1/', '<token>', 'refresh-me');
    expect(await findCredentials([authFile], 'docker.io')).toEqual({
      username: '<token>',
      password: '',
      identityToken: 'refresh-me',
    });
    expect(await calls()).toEqual(['get https://index.docker.io/v1/']);
  });

  it('an identitytoken in an auths entry is used as such', async () => {
    await json(authFile, {
      auths: { 'reg.example': { auth: Buffer.from('carol:').toString('base64'), identitytoken: 'idt' } },
    });
    expect(await findCredentials([authFile], 'reg.example')).toEqual({
      username: 'carol',
      password: '',
      identityToken: 'idt',
    });
  });
});

describe('errors have stable codes', () => {
  beforeEach(() => json(authFile, { credsStore: 'moattest' }));

  it('a failing helper: REGISTRY_CREDENTIAL_HELPER_FAILED with its message and status', async () => {
    process.env.MOAT_TEST_HELPER_MODE = 'fail';
    const e = await findCredentials([authFile], 'reg.example').catch((x: unknown) => x);
    expect(e).toMatchObject({
      code: 'REGISTRY_CREDENTIAL_HELPER_FAILED',
      message: expect.stringMatching(
        /docker-credential-moattest get exited with status 3: the keychain is locked/,
      ),
      details: { reason: 'exit', status: 3, action: 'get' },
    });
  });

  it('output that is not the JSON: REGISTRY_CREDENTIAL_HELPER_FAILED', async () => {
    process.env.MOAT_TEST_HELPER_MODE = 'badjson';
    await expect(findCredentials([authFile], 'reg.example')).rejects.toMatchObject({
      code: 'REGISTRY_CREDENTIAL_HELPER_FAILED',
      details: { reason: 'output' },
    });
    await fsp.rm(path.join(helperDir, 'calls'));
    delete process.env.MOAT_TEST_HELPER_MODE;
    await fsp.writeFile(path.join(helperDir, 'store-reg.example'), '{"Username": 1}');
    await expect(findCredentials([authFile], 'reg.example')).rejects.toMatchObject({
      code: 'REGISTRY_CREDENTIAL_HELPER_FAILED',
      details: { reason: 'output' },
    });
  });

  it('a helper that hangs is killed: REGISTRY_CREDENTIAL_HELPER_FAILED (timeout)', async () => {
    process.env.MOAT_TEST_HELPER_MODE = 'hang';
    const t = Date.now();
    await expect(findCredentials([authFile], 'reg.example', { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'REGISTRY_CREDENTIAL_HELPER_FAILED',
      details: { reason: 'timeout' },
    });
    expect(Date.now() - t).toBeLessThan(4000);
  });

  it('a helper name that is not a name: REGISTRY_CONFIG_INVALID; malformed credHelpers too', async () => {
    await json(authFile, { credsStore: '../../bin/sh' });
    await expect(findCredentials([authFile], 'reg.example')).rejects.toMatchObject({
      code: 'REGISTRY_CONFIG_INVALID',
    });
    await json(authFile, { credHelpers: { 'reg.example': 7 } });
    await expect(readAuthFile(authFile)).rejects.toMatchObject({ code: 'REGISTRY_CONFIG_INVALID' });
  });
});

describe('login and logout through the helper', () => {
  it('store keeps the secret out of the file (an empty marker entry), erase on logout', async () => {
    await json(authFile, {
      credsStore: 'moattest',
      auths: { 'reg.example': { auth: Buffer.from('old:plain').toString('base64') } },
      other: 'kept',
    });
    expect(await storeCredentials(authFile, 'reg.example', { username: 'alice', password: 'pw' })).toEqual({
      helper: 'moattest',
    });
    const text = await fsp.readFile(authFile, 'utf8');
    expect(text).not.toContain('pw');
    expect(JSON.parse(text)).toEqual({ credsStore: 'moattest', auths: { 'reg.example': {} }, other: 'kept' });
    expect((await fsp.stat(authFile)).mode & 0o777).toBe(0o600);
    expect((await calls())[0]).toBe('store {"ServerURL":"reg.example","Username":"alice","Secret":"pw"}');
    expect(await findCredentials([authFile], 'reg.example')).toEqual({ username: 'alice', password: 'pw' });

    expect(await removeCredentials(authFile, 'reg.example')).toBe(true);
    expect(await calls()).toContain('erase reg.example');
    expect(await findCredentials([authFile], 'reg.example')).toBeUndefined();
    expect(JSON.parse(await fsp.readFile(authFile, 'utf8')).auths).toEqual({});
    expect(await removeCredentials(authFile, 'reg.example')).toBe(false);
  });

  it('logout --all erases what the helper holds for each entry', async () => {
    await json(authFile, { credHelpers: { 'a.example': 'moattest' } });
    await storeCredentials(authFile, 'a.example', { username: 'u', password: 'p' });
    await storeCredentials(authFile, 'b.example', { username: 'u2', password: 'p2' });
    expect(await removeAllCredentials(authFile)).toEqual(['a.example', 'b.example']);
    expect(await calls()).toContain('erase a.example');
    expect(await findCredentials([authFile], 'a.example')).toBeUndefined();
    expect(await findCredentials([authFile], 'b.example')).toBeUndefined();
  });

  it('a helper failing to store is an error, and the file is left as it was', async () => {
    await json(authFile, { credsStore: 'moattest' });
    process.env.MOAT_TEST_HELPER_MODE = 'fail';
    await expect(
      storeCredentials(authFile, 'reg.example', { username: 'alice', password: 'pw' }),
    ).rejects.toMatchObject({ code: 'REGISTRY_CREDENTIAL_HELPER_FAILED', details: { action: 'store' } });
    expect(JSON.parse(await fsp.readFile(authFile, 'utf8'))).toEqual({ credsStore: 'moattest' });
  });
});

describe('pull with a helper’s identity token', () => {
  let reg: FakeRegistry;
  afterAll(async () => {
    await closeAgents();
    await reg?.close();
  });

  it('exchanges it at the token service (OAuth2 refresh_token grant), never sends it to the registry', async () => {
    reg = await startFakeRegistry();
    reg.addImage('app', '1', await smallImage());
    clearTokenCache();
    const forms: URLSearchParams[] = [];
    reg.intercept = async (req, res, url) => {
      if (url.pathname === '/token') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        forms.push(form);
        if (req.method !== 'POST' || form.get('refresh_token') !== 'refresh-me')
          return (void res.writeHead(401).end(), true);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"granted"}');
        return true;
      }
      if (req.headers.authorization === 'Bearer granted') return false;
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://${reg.host}/token",service="fake",scope="repository:app:pull"`,
        })
        .end();
      return true;
    };
    const cfg = withDefaults({}, { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg') });
    await fsp.mkdir(path.dirname(cfg.authFile), { recursive: true });
    await json(cfg.authFile, { credHelpers: { [reg.host]: 'moattest' } });
    await put(reg.host, '<token>', 'refresh-me');
    const res = await pull({
      store: new ImageStore(path.join(dir, 'store')),
      cfg,
      reference: `${reg.host}/app:1`,
    });
    expect(res.fetched).toBe(3);
    expect(forms).toHaveLength(1);
    expect(Object.fromEntries(forms[0])).toEqual({
      grant_type: 'refresh_token',
      client_id: 'moat',
      service: 'fake',
      scope: 'repository:app:pull',
      refresh_token: 'refresh-me',
    });
    expect(reg.log.some((l) => l.auth?.includes('refresh-me'))).toBe(false);
  });
});
