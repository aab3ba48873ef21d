/**
 * Issue 15: moat restart and docker restart against the service: the same container (ID, name,
 * log) stopped with its stop signal (SIGKILL after -t) and started again with a new init; a
 * stopped one is just started; the start is decided by the policy as container.start.
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
const state = async (n: string) =>
  JSON.parse((await moat(['inspect', n])).stdout)[0] as {
    Id: string;
    State: { Pid: number; Status: string; StartedAt: string };
  };

beforeAll(async () => {
  w = mainWorld('restart-command');
  svc = await startService(w);
});
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  if (svc) await stopService(svc);
});

describe('moat restart', () => {
  it('the same container, stopped by its signal and started again: new init, log kept', async () => {
    const n = name('rst');
    // prints a line each start, and says when it is asked to stop
    const script = 'echo started; trap "echo term; exit 0" TERM; while :; do sleep 0.1; done';
    expect((await moat(['run', '-d', '--name', n, IMAGE, 'sh', '-c', script])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const before = await state(n);
    const r = await moat(['restart', n]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${n}\n`);
    const after = await state(n);
    expect(after.Id).toBe(before.Id);
    expect(after.State.Status).toBe('running');
    expect(after.State.Pid).not.toBe(before.State.Pid);
    expect(after.State.StartedAt > before.State.StartedAt).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect((await moat(['logs', n])).stdout).toBe('started\nterm\nstarted\n');
  });

  it('-t 0 kills at once; a stopped container is started; --rm ones and unknown ones are refused', async () => {
    const [a, b, c] = [name('rst-a'), name('rst-b'), name('rst-c')];
    expect((await moat(['run', '-d', '--name', a, IMAGE, 'sh', '-c', 'trap "" TERM; sleep 300'])).code).toBe(
      0,
    );
    const t0 = Date.now();
    expect((await moat(['restart', '-t', '0', a])).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(8000);
    expect((await state(a)).State.Status).toBe('running');
    expect((await moat(['create', '--name', b, IMAGE, 'sleep', '300'])).code).toBe(0);
    expect((await moat(['container', 'restart', b])).code).toBe(0);
    expect((await state(b)).State.Status).toBe('running');
    expect((await moat(['run', '-d', '--rm', '--name', c, IMAGE, 'sleep', '300'])).code).toBe(0);
    const rm = await moat(['restart', c, 'no-such-container-here']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toMatch(/cannot restart .*--rm.*\[RUNTIME_INVALID_STATE\]/);
    expect(rm.stderr).toMatch(/\[RUNTIME_CONTAINER_NOT_FOUND\]/);
    expect((await state(c)).State.Status).toBe('running');
  });
});

describe('docker restart', () => {
  it('through the service', async () => {
    const n = name('drst');
    expect(docker(svc, w, ['run', '-d', '--name', n, IMAGE, 'sleep', '300']).code).toBe(0);
    const pid = (await state(n)).State.Pid;
    const r = docker(svc, w, ['restart', '-t', '1', n]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${n}\n`);
    const after = await state(n);
    expect(after.State.Status).toBe('running');
    expect(after.State.Pid).not.toBe(pid);
  });

  it('the start is decided as container.start: a policy refusing it leaves the container stopped, and says so', async () => {
    const n = name('drst-pol');
    expect((await moat(['run', '-d', '--name', n, IMAGE, 'sleep', '300'])).code).toBe(0);
    const dir = path.join(w.env.HOME!, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "no starts today" if input.action == "container.start"
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'restart-policy.sock');
    try {
      const r = docker(s, w, ['restart', '-t', '0', n]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/was stopped; its start failed: container.start denied by .*no starts today/);
      expect((await state(n)).State.Status).toBe('exited');
    } finally {
      await stopService(s);
    }
  });
});
