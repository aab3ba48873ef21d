/**
 * Issue 10, image identity: exceptions match digests, never a name a user can create with
 * `moat tag`; blocklists match every name the image has, its ID and its digest — for run, create
 * and start, through the CLI, moat's /v1 API and the docker CLI.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { moat, uniq } from './moat.js';
import type { World } from './registry-helpers.js';
import { docker, http, IMG, trustWorld, v1Create, withData, withService } from './policy-trust-helpers.js';

let w: World & { id: string; digest: string };

beforeAll(async () => {
  w = await trustWorld('trust-img');
});

const run = (env: NodeJS.ProcessEnv, args: string[]) => moat(args, { env });

describe('exceptions name digests, never names', () => {
  it('an image tagged into an excepted name gets no exception; its digest does: CLI, /v1, docker', async () => {
    expect((await w.moat(['tag', IMG, 'localhost/ops/tool:1'])).code).toBe(0);
    const byName = withData(w, { moat: { exceptions: { capabilities: ['localhost/ops/*'] } } });
    const cli = await run(byName, ['run', '--rm', '--cap-add', 'SYS_ADMIN', 'localhost/ops/tool:1', 'true']);
    expect(cli.code, cli.stderr).toBe(3);
    expect(cli.stderr).toMatch(/capability SYS_ADMIN is not allowed \[POLICY_DENIED\]/);
    await withService(w, byName, async (s) => {
      const d = docker(s, w, ['run', '--rm', '--cap-add', 'SYS_ADMIN', 'localhost/ops/tool:1', 'true']);
      expect(d.code).not.toBe(0);
      expect(d.stderr).toMatch(/capability SYS_ADMIN is not allowed/);
      const api = await v1Create(s, { image: 'localhost/ops/tool:1', capAdd: ['SYS_ADMIN'] });
      expect(api.status).toBe(403);
      expect(api.body.code).toBe('POLICY_DENIED');
    });

    const byDigest = withData(w, { moat: { exceptions: { capabilities: [w.digest] } } });
    const ok = await run(byDigest, ['run', '--rm', '--cap-add', 'SYS_ADMIN', 'localhost/ops/tool:1', 'true']);
    expect(ok.code, ok.stderr).toBe(0);
    await withService(w, byDigest, async (s) => {
      const d = docker(s, w, ['run', '--rm', '--cap-add', 'SYS_ADMIN', IMG, 'true']);
      expect(d.code, d.stderr).toBe(0);
      const api = await v1Create(s, { image: w.id, capAdd: ['SYS_ADMIN'] });
      expect(api.status, JSON.stringify(api.body)).toBe(200);
      const rm = await http(s, 'DELETE', `/v1/containers/${api.body.id}`);
      expect(`${rm.status} ${rm.body}`).toMatch(/^200 /);
    });
  });
});

describe('blocklists match every name, the ID and the digest', () => {
  it('a blocked image does not run or start under another tag, its ID or an ID prefix: CLI, /v1, docker', async () => {
    const name = uniq('made-before');
    const created = await w.moat(['create', '--name', name, IMG, 'true']);
    expect(created.code, created.stderr).toBe(0);
    expect((await w.moat(['tag', IMG, 'localhost/blocked/app:1'])).code).toBe(0);
    const env = withData(w, { moat: { blocked_images: ['localhost/blocked/*'] } });
    for (const ref of [IMG, w.id, w.id.slice(7, 19), `sha256:${w.id.slice(7, 19)}`]) {
      const r = await run(env, ['run', '--rm', ref, 'true']);
      expect(r.code, `${ref}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/is not allowed \(blocked: localhost\/blocked\/\*\)/);
    }
    const start = await run(env, ['start', name]);
    expect(start.code, start.stderr).toBe(3);
    expect(start.stderr).toMatch(/container.start denied .*blocked: localhost\/blocked/);
    await withService(w, env, async (s) => {
      for (const ref of [IMG, w.id]) {
        const d = docker(s, w, ['run', '--rm', ref, 'true']);
        expect(d.code).not.toBe(0);
        expect(d.stderr).toMatch(/blocked: localhost\/blocked/);
      }
      const ds = docker(s, w, ['start', name]);
      expect(ds.code).not.toBe(0);
      expect(ds.stderr).toMatch(/blocked: localhost\/blocked/);
      const api = await v1Create(s, { image: w.id });
      expect(api.status).toBe(403);
      const st = await http(s, 'POST', `/v1/containers/${name}/start`, '{}');
      expect(st.status).toBe(403);
      expect(JSON.parse(st.body).code).toBe('POLICY_DENIED');
    });

    // Untagged, the name no longer names it: a block by digest or ID holds whatever its names.
    expect((await w.moat(['rmi', 'localhost/blocked/app:1'])).code).toBe(0);
    for (const blocked of [w.digest, w.id]) {
      const byDigest = withData(w, { moat: { blocked_images: [blocked] } });
      const r = await run(byDigest, ['run', '--rm', IMG, 'true']);
      expect(r.code, r.stderr).toBe(3);
      expect((await run(byDigest, ['start', name])).code).toBe(3);
      await withService(w, byDigest, async (s) => {
        expect(docker(s, w, ['run', '--rm', IMG, 'true']).stderr).toMatch(
          /is not allowed \(blocked: sha256:/,
        );
        expect((await v1Create(s, { image: IMG })).status).toBe(403);
      });
    }
    // Another image is not blocked by that digest.
    const other = withData(w, { moat: { blocked_images: [`sha256:${'0'.repeat(64)}`] } });
    expect((await run(other, ['start', name])).code).toBe(0);
    expect((await w.moat(['rm', '-f', name])).code).toBe(0);
  });

  it('a pull of a blocked name is refused before any network', async () => {
    const env = withData(w, { moat: { blocked_images: ['127.0.0.1:1/evil/*'] } });
    const r = await run(env, ['pull', '127.0.0.1:1/evil/x:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /image 127.0.0.1:1\/evil\/x:1 is not allowed \(blocked: 127.0.0.1:1\/evil\/\*\)/,
    );
  });
});
