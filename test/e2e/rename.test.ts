/**
 * Issue 15: moat rename and docker rename against the service: a running container renamed keeps
 * running (and answers to its new name only), names stay unique and valid, decided as
 * container.rename.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, startService, stopService, type Service } from './api-helpers.js';
import { IMAGE, moat, uniq } from './moat.js';
import { have, mainWorld, type World } from './registry-helpers.js';

if (!have('docker')) throw new Error('the docker CLI is needed for the API tests (client only)');

let w: World;
let svc: Service;
const names: string[] = [];
const name = (p: string) => {
  const n = uniq(p);
  names.push(n);
  return n;
};

beforeAll(async () => {
  w = mainWorld('rename');
  svc = await startService(w);
});
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  if (svc) await stopService(svc);
});

describe('moat rename', () => {
  it('a running container: same ID, still running, found by its new name only', async () => {
    const [a, b] = [name('ren-a'), name('ren-b')];
    const id = (await moat(['run', '-d', '--name', a, IMAGE, 'sleep', '300'])).stdout.trim();
    const r = await moat(['rename', a, b]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const c = JSON.parse((await moat(['inspect', b])).stdout)[0];
    expect([c.Id, c.Name, c.State.Status]).toEqual([id, `/${b}`, 'running']);
    expect((await moat(['inspect', a])).stderr).toMatch(/\[RUNTIME_CONTAINER_NOT_FOUND\]/);
    expect((await moat(['exec', b, 'true'])).code).toBe(0);
    // its old name is free again
    expect((await moat(['create', '--name', a, IMAGE, 'true'])).code).toBe(0);
  });

  it('refuses a taken name, an invalid one; by ID too', async () => {
    const [a, b] = [name('ren-c'), name('ren-d')];
    for (const n of [a, b]) expect((await moat(['create', '--name', n, IMAGE, 'true'])).code).toBe(0);
    const taken = await moat(['rename', a, b]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/is already in use .*\[RUNTIME_NAME_IN_USE\]/);
    const bad = await moat(['rename', a, 'no/slashes']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid container name "no\/slashes" \[RUNTIME_INVALID_OPTION\]/);
    const id = JSON.parse((await moat(['inspect', a])).stdout)[0].Id as string;
    const c = name('ren-e');
    expect((await moat(['rename', id.slice(0, 12), c])).code).toBe(0);
    expect((await moat(['container', 'rename', c, a])).code).toBe(0);
  });
});

describe('docker rename', () => {
  it('through the service, and moat sees the new name', async () => {
    const [a, b] = [name('dren-a'), name('dren-b')];
    expect(docker(svc, w, ['run', '-d', '--name', a, IMAGE, 'sleep', '300']).code).toBe(0);
    const r = docker(svc, w, ['rename', a, b]);
    expect(r.code, r.stderr).toBe(0);
    expect(docker(svc, w, ['ps', '--filter', `name=${b}`, '--format', '{{.Names}} {{.State}}']).stdout).toBe(
      `${b} running\n`,
    );
    expect((await moat(['ps', '--format', '{{.Names}}'])).stdout).toContain(b);
    const taken = docker(svc, w, ['rename', b, names[0]]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already in use/);
  });

  it('is decided by the policy as container.rename, with the new name in the body', async () => {
    const a = name('dren-c');
    expect((await moat(['create', '--name', a, IMAGE, 'true'])).code).toBe(0);
    const dir = path.join(w.env.HOME!, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "no prod names" if {
  input.action == "container.rename"
  startswith(input.body.name, "prod-")
}
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'rename-policy.sock');
    try {
      const r = docker(s, w, ['rename', a, 'prod-x']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/container.rename denied by .*no prod names/);
      const b = name('dren-d');
      expect(docker(s, w, ['rename', a, b]).code).toBe(0);
    } finally {
      await stopService(s);
    }
  });
});
