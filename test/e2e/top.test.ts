/**
 * Issue 15: moat top and docker top against `moat system service`: a running container's
 * processes from /proc (host PIDs, users as the container names them), ps's -ef columns by
 * default, other ps options in moat's subset, the rest refused by name; decided as container.top.
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
const name = uniq('top');
const stopped = uniq('top-stopped');

beforeAll(async () => {
  w = mainWorld('top');
  svc = await startService(w);
  const r = await moat([
    'run',
    '-d',
    '--name',
    name,
    // su becomes nobody (the container has no capability unless added)
    '--cap-add',
    'SETUID',
    '--cap-add',
    'SETGID',
    IMAGE,
    'sh',
    '-c',
    'sleep 301 & su nobody -s /bin/sh -c "sleep 302" & wait',
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect((await moat(['create', '--name', stopped, IMAGE, 'true'])).code).toBe(0);
  // the two sleeps are running once top shows them
  for (let i = 0; i < 50; i++) {
    if (/sleep 302/.test((await moat(['top', name])).stdout)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  await moat(['rm', '-f', name, stopped]);
  if (svc) await stopService(svc);
});

describe('moat top', () => {
  it('ps -ef columns: the shell and both sleeps, host PIDs, users as the container names them', async () => {
    const r = await moat(['top', name]);
    expect(r.code, r.stderr).toBe(0);
    const [head, ...rows] = r.stdout.trimEnd().split('\n');
    expect(head.split(/\s+/)).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    const cmd = (l: string) =>
      l
        .split(/\s{3,}/)
        .slice(7)
        .join('   ');
    const byCmd = new Map(rows.map((l) => [cmd(l), l.split(/\s+/)]));
    expect([...byCmd.keys()]).toEqual(expect.arrayContaining(['sleep 301', 'sleep 302']));
    expect(byCmd.get('sleep 301')![0]).toBe('root');
    expect(byCmd.get('sleep 302')![0]).toBe('nobody');
    const init = Number(JSON.parse((await moat(['inspect', name])).stdout)[0].State.Pid);
    const pids = rows.map((l) => Number(l.split(/\s+/)[1]));
    expect(pids).toContain(init); // the host's PID of the container's init
    expect(byCmd.get('sleep 301')![2]).toBe(String(init)); // its parent
    expect(byCmd.get('sleep 301')![5]).toBe('?');
    expect(byCmd.get('sleep 301')![6]).toMatch(/^\d\d:\d\d:\d\d$/);
  });

  it('ps options: -o with renamed columns, aux; the rest refused by name', async () => {
    const o = await moat(['top', name, '-o', 'pid,user=WHO,comm']);
    expect(o.code, o.stderr).toBe(0);
    expect(o.stdout.split('\n')[0].split(/\s+/)).toEqual(['PID', 'WHO', 'COMMAND']);
    expect(o.stdout).toMatch(/nobody\s+sleep/);
    const aux = await moat(['top', name, 'aux']);
    expect(aux.code, aux.stderr).toBe(0);
    expect(aux.stdout.split('\n')[0].split(/\s+/)).toEqual([
      'USER',
      'PID',
      '%CPU',
      '%MEM',
      'VSZ',
      'RSS',
      'TTY',
      'STAT',
      'START',
      'TIME',
      'COMMAND',
    ]);
    const bad = await moat(['top', name, '--forest']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ps option "--forest" is not offered.*\[RUNTIME_INVALID_OPTION\]/);
  });

  it('a container that is not running, or not there', async () => {
    const r = await moat(['top', stopped]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is not running \[RUNTIME_INVALID_STATE\]/);
    const none = await moat(['top', 'no-such-container-here']);
    expect(none.stderr).toMatch(/\[RUNTIME_CONTAINER_NOT_FOUND\]/);
    // also as docker's own command name
    expect((await moat(['container', 'top', name])).code).toBe(0);
  });
});

describe('docker top', () => {
  it('the same processes through the service, in docker’s table', () => {
    const r = docker(svc, w, ['top', name]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0].split(/\s+/)).toEqual([
      'UID',
      'PID',
      'PPID',
      'C',
      'STIME',
      'TTY',
      'TIME',
      'CMD',
    ]);
    expect(r.stdout).toMatch(/^nobody\s+\d+\s+\d+.*sleep 302$/m);
    const o = docker(svc, w, ['top', name, '-eo', 'pid,args']);
    expect(o.code, o.stderr).toBe(0);
    expect(o.stdout).toMatch(/^\d+\s+sleep 301$/m);
    const bad = docker(svc, w, ['top', name, '-H']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ps option "-H" is not offered/);
  });

  it('is decided by the policy as container.top', async () => {
    const dir = path.join(w.env.HOME!, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "no top here" if input.action == "container.top"
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'top-policy.sock');
    try {
      const r = docker(s, w, ['top', name]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/container.top denied by .*no top here/);
    } finally {
      await stopService(s);
    }
  });
});
