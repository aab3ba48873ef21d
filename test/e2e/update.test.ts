/**
 * Issue 15: moat update and docker update against the service. A running container's delegated
 * cgroups get the new limits at once (read back from the cgroup files; a lowered process limit
 * stops new processes), a stopped one starts with them, a limit on a controller a running
 * container has no cgroup for waits for its next start (a warning says so), create's checks
 * apply, and the policy decides container.update with the new limits as facts.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
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
const MiB = 1 << 20;

interface Inspected {
  Id: string;
  cgroups: Record<string, string>;
  limits: Record<string, number>;
  HostConfig: { Memory: number; PidsLimit: number; NanoCpus: number };
}
const inspect = async (n: string) => JSON.parse((await moat(['inspect', n])).stdout)[0] as Inspected;
/** A file of the container's cgroup that carries its limits. */
const cgroupFile = (c: Inspected, ctl: string, file: string) =>
  readFileSync(path.join(c.cgroups[ctl], c.Id, file), 'utf8').trim();

beforeAll(async () => {
  w = mainWorld('update');
  svc = await startService(w);
});
afterAll(async () => {
  if (names.length) await moat(['rm', '-f', ...names]);
  if (svc) await stopService(svc);
});

describe('moat update', () => {
  it('a running container: memory and pids written into its cgroups; the record and inspect follow', async () => {
    const n = name('upd-run');
    expect((await moat(['run', '-d', '--name', n, '--memory', '64m', IMAGE, 'sleep', '300'])).code).toBe(0);
    const r = await moat(['update', '--memory', '96m', '--pids-limit', '20', n]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${n}\n`);
    expect(r.stderr).toBe('');
    const c = await inspect(n);
    expect(cgroupFile(c, 'memory', 'memory.limit_in_bytes')).toBe(String(96 * MiB));
    expect(cgroupFile(c, 'pids', 'pids.max')).toBe('20');
    expect([c.HostConfig.Memory, c.HostConfig.PidsLimit]).toEqual([96 * MiB, 20]);
    // lowered again, below what it had
    expect((await moat(['update', '-m', '32m', n])).code).toBe(0);
    expect(cgroupFile(await inspect(n), 'memory', 'memory.limit_in_bytes')).toBe(String(32 * MiB));
  });

  it('a lowered process limit holds at once', async () => {
    const n = name('upd-pids');
    // forks five sleeps two seconds from now
    const script = 'sleep 2; for i in 1 2 3 4 5; do sleep 60 & done; echo forked; sleep 300';
    expect((await moat(['run', '-d', '--name', n, IMAGE, 'sh', '-c', script])).code).toBe(0);
    expect((await moat(['update', '--pids-limit', '3', n])).code).toBe(0);
    expect(cgroupFile(await inspect(n), 'pids', 'pids.max')).toBe('3');
    await new Promise((r) => setTimeout(r, 3500));
    const log = await moat(['logs', n]);
    expect(log.stdout + log.stderr).toMatch(/can't fork/);
  });

  it('no cpu cgroup while it runs: recorded, with a warning; applied from its next start', async () => {
    const n = name('upd-cpu');
    expect((await moat(['run', '-d', '--name', n, IMAGE, 'sleep', '300'])).code).toBe(0);
    const r = await moat(['update', '--cpus', '0.5', n]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      `moat: warning: --cpus applies from the next start: ${n} runs without a cpu cgroup\n`,
    );
    expect((await moat(['restart', '-t', '0', n])).code).toBe(0);
    expect(cgroupFile(await inspect(n), 'cpu', 'cpu.cfs_quota_us')).toBe('50000');
  });

  it('a stopped container starts with its new limits', async () => {
    const n = name('upd-stopped');
    expect((await moat(['create', '--name', n, IMAGE, 'sleep', '300'])).code).toBe(0);
    expect((await moat(['update', '--memory', '48m', n])).code).toBe(0);
    expect((await moat(['start', n])).code).toBe(0);
    expect(cgroupFile(await inspect(n), 'memory', 'memory.limit_in_bytes')).toBe(String(48 * MiB));
  });

  it('create’s checks and the host’s cgroups: refused, nothing changed', async () => {
    const n = name('upd-bad');
    expect((await moat(['run', '-d', '--name', n, '--memory', '64m', IMAGE, 'sleep', '300'])).code).toBe(0);
    const low = await moat(['update', '--memory', '1k', n]);
    expect(low.code).toBe(2);
    expect(low.stderr).toMatch(/below the minimum .*\[RUNTIME_INVALID_OPTION\]/);
    const none = await moat(['update', n]);
    expect(none.stderr).toMatch(/nothing to update/);
    const cpuset = await moat(['update', '--cpuset-cpus', '0', n]);
    expect(cpuset.stderr).toMatch(/cannot enforce --cpuset-cpus.* \[RUNTIME_LIMIT_UNSUPPORTED\]/);
    expect(cgroupFile(await inspect(n), 'memory', 'memory.limit_in_bytes')).toBe(String(64 * MiB));
  });
});

describe('docker update', () => {
  it('--memory through the service: the cgroup and docker inspect', async () => {
    const n = name('dupd');
    expect(docker(svc, w, ['run', '-d', '--name', n, '--memory', '64m', IMAGE, 'sleep', '300']).code).toBe(0);
    const r = docker(svc, w, ['update', '--memory', '80m', n]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${n}\n`);
    expect(cgroupFile(await inspect(n), 'memory', 'memory.limit_in_bytes')).toBe(String(80 * MiB));
    expect(docker(svc, w, ['inspect', '-f', '{{.HostConfig.Memory}}', n]).stdout).toBe(`${80 * MiB}\n`);
    const refused = docker(svc, w, ['update', '--cpu-shares', '512', n]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--cpu-shares is not supported by moat/);
  });

  it('is decided by the policy as container.update, with the limits it would set', async () => {
    const n = name('dupd-pol');
    expect((await moat(['run', '-d', '--name', n, '--memory', '64m', IMAGE, 'sleep', '300'])).code).toBe(0);
    const dir = path.join(w.env.HOME!, uniq('policy'));
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'authz.rego'),
      `package moat.authz
import rego.v1
deny contains "at most 100 MiB" if {
  input.action == "container.update"
  input.facts.limits.memory > 104857600
}
decision := {"allow": count(deny) == 0, "deny": deny}
`,
    );
    const s = await startService(w, { MOAT_POLICY: dir }, 'update-policy.sock');
    try {
      const r = docker(s, w, ['update', '--memory', '200m', n]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/container.update denied by .*at most 100 MiB/);
      expect(docker(s, w, ['update', '--memory', '100m', n]).code).toBe(0);
    } finally {
      await stopService(s);
    }
  });
});
