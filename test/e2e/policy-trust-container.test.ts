/**
 * Issue 10, routes that act on an existing container: start and exec are judged on the
 * container's record and spec and on the process about to run, with the rules run is judged
 * on, so nothing refused at run can be had by creating under one policy and starting under
 * another, or by `exec -u 0` — through the CLI, moat's /v1 API and the docker CLI (whose exec
 * is decided at exec create, as Docker's authorization plugins decide it).
 */
import { mkdirSync, renameSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moat, uniq } from './moat.js';
import type { World } from './registry-helpers.js';
import { docker, http, IMG, trustWorld, withData, withService } from './policy-trust-helpers.js';

let w: World & { id: string; digest: string };
let strict: NodeJS.ProcessEnv;
const made: string[] = [];

const ROOT_DENIED = /running as root inside the container requires an exception/;

beforeAll(async () => {
  w = await trustWorld('trust-ctr');
  strict = withData(w, { moat: { require_non_root: true } });
});

afterAll(async () => {
  for (const n of made) await w.moat(['rm', '-f', n]);
});

/** A container made (and maybe run) under `env`, removed after the file. */
async function container(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const name = uniq('c');
  const r = await moat([...args.slice(0, 1), '--name', name, ...args.slice(1)], { env });
  expect(r.code, r.stderr).toBe(0);
  made.push(name);
  return name;
}

describe('exec is judged on the process it starts', () => {
  it('exec -u 0 (or root) into a non-root container is refused when the policy requires non-root: CLI', async () => {
    const name = await container(strict, ['run', '-d', '--user', '1000', IMG, 'sleep', '300']);
    for (const u of ['0', 'root', '0:0']) {
      const r = await moat(['exec', '-u', u, name, 'id', '-u'], { env: strict });
      expect(r.code, `-u ${u}: ${r.stdout} ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/container\.exec denied .*running as root inside the container/);
      expect(r.stdout).toBe('');
    }
    // Its own user, or another non-root one: allowed.
    const own = await moat(['exec', name, 'id', '-u'], { env: strict });
    expect(own.code, own.stderr).toBe(0);
    expect(own.stdout).toBe('1000\n');
    const other = await moat(['exec', '-u', '1001', name, 'id', '-u'], { env: strict });
    expect(other.stdout).toBe('1001\n');
    // Excepted the way run is excepted (by the image's digest): allowed.
    const excepted = withData(w, { moat: { require_non_root: true, exceptions: { root: [w.digest] } } });
    const root = await moat(['exec', '-u', '0', name, 'id', '-u'], { env: excepted });
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).toBe('0\n');
    // Without require_non_root, as before.
    expect((await w.moat(['exec', '-u', '0', name, 'id', '-u'])).stdout).toBe('0\n');
  });

  it('exec -u 0 is refused before anything runs: /v1', async () => {
    const name = await container(strict, ['run', '-d', '--user', '1000', IMG, 'sleep', '300']);
    await withService(w, strict, async (s) => {
      const exec = (user: string) =>
        http(s, 'POST', `/v1/containers/${name}/exec`, JSON.stringify({ cmd: ['id'], user }));
      for (const u of ['0', 'root']) {
        const r = await exec(u);
        expect(r.status, r.body).toBe(403);
        expect(JSON.parse(r.body)).toMatchObject({
          code: 'POLICY_DENIED',
          message: expect.stringMatching(ROOT_DENIED),
        });
      }
      // A non-root user passes the policy (/v1 has no streams for exec: the handler says so).
      const ok = await exec('1000');
      expect(ok.status, ok.body).not.toBe(403);
    });
  });

  it('docker exec -u 0 is refused at exec create; other users run, with their status', async () => {
    const name = await container(strict, ['run', '-d', '--user', '1000', IMG, 'sleep', '300']);
    await withService(w, strict, async (s) => {
      for (const u of ['0', 'root']) {
        const d = docker(s, w, ['exec', '-u', u, name, 'id', '-u']);
        expect(d.code, `-u ${u}: ${d.stdout}`).not.toBe(0);
        expect(d.stderr).toMatch(ROOT_DENIED);
        expect(d.stdout).toBe('');
      }
      const own = docker(s, w, ['exec', name, 'id', '-u']);
      expect(own.code, own.stderr).toBe(0);
      expect(own.stdout).toBe('1000\n');
      const other = docker(s, w, [
        'exec',
        '-u',
        '1001',
        '-w',
        '/tmp',
        '-e',
        'A=b',
        name,
        'sh',
        '-c',
        'id -u; pwd; echo $A >&2; exit 7',
      ]);
      expect(other.code).toBe(7);
      expect(other.stdout).toBe('1001\n/tmp\n');
      expect(other.stderr).toBe('b\n');
      expect(docker(s, w, ['exec', '-d', name, 'true']).code).toBe(0);
    });
    const excepted = withData(w, { moat: { require_non_root: true, exceptions: { root: [w.digest] } } });
    await withService(w, excepted, async (s) => {
      const d = docker(s, w, ['exec', '-u', '0', name, 'id', '-u']);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stdout).toBe('0\n');
    });
  });
});

describe('start is judged on what the container has, under the policy of now', () => {
  it('created as root where allowed, started where non-root is required: refused (CLI, /v1, docker)', async () => {
    const name = await container(w.env, ['create', '--user', '0', IMG, 'true']);
    const r = await moat(['start', name], { env: strict });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/container\.start denied .*running as root inside the container/);
    await withService(w, strict, async (s) => {
      const api = await http(s, 'POST', `/v1/containers/${name}/start`, '{}');
      expect(api.status, api.body).toBe(403);
      expect(JSON.parse(api.body)).toMatchObject({
        code: 'POLICY_DENIED',
        message: expect.stringMatching(ROOT_DENIED),
      });
      const d = docker(s, w, ['start', name]);
      expect(d.code).not.toBe(0);
      expect(d.stderr).toMatch(ROOT_DENIED);
    });
    const st = await w.moat(['inspect', name]);
    expect((JSON.parse(st.stdout) as { status: string }[])[0].status).toBe('created');
    // Under the policy it was made under, it starts.
    expect((await w.moat(['start', name])).code).toBe(0);
  });

  it('a capability excepted at create is judged again at start', async () => {
    const caps = withData(w, { moat: { exceptions: { capabilities: [w.digest] } } });
    const name = await container(caps, ['create', '--cap-add', 'SYS_ADMIN', IMG, 'true']);
    const r = await w.moat(['start', name]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/container\.start denied .*capability SYS_ADMIN is not allowed/);
    await withService(w, {}, async (s) => {
      expect(docker(s, w, ['start', name]).stderr).toMatch(/capability SYS_ADMIN is not allowed/);
      expect((await http(s, 'POST', `/v1/containers/${name}/start`, '{}')).status).toBe(403);
    });
    expect((await moat(['start', name], { env: caps })).code).toBe(0);
  });

  it('a mount source swapped for a symlink to /proc after create is refused at start', async () => {
    const dir = path.join(w.env.HOME!, uniq('src'));
    mkdirSync(dir);
    const name = await container(w.env, ['create', '-v', `${dir}:/x:ro`, IMG, 'ls', '/x']);
    renameSync(dir, `${dir}.old`);
    symlinkSync('/proc', dir);
    const r = await w.moat(['start', name]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`mounting host path ${dir} \\(/proc\\) is not allowed`));
    await withService(w, {}, async (s) => {
      expect(docker(s, w, ['start', name]).stderr).toMatch(/\(\/proc\) is not allowed/);
      expect((await http(s, 'POST', `/v1/containers/${name}/start`, '{}')).status).toBe(403);
    });
  });

  it('a container the policy would no longer start can still be inspected, stopped and removed', async () => {
    const name = await container(w.env, ['run', '-d', '--user', '0', IMG, 'sleep', '300']);
    for (const args of [
      ['inspect', name],
      ['logs', name],
      ['stop', '-t', '1', name],
      ['rm', name],
    ]) {
      const r = await moat(args, { env: strict });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
    }
  });
});
