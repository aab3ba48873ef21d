/** Resource limits through the cgroup subtree delegated to the test user, and rlimits. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { bin, env, IMAGE, moat, uniq } from './moat.js';

async function info(): Promise<{ cgroups: { delegated: Record<string, string> } }> {
  const r = await moat(['info', '--format', 'json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { cgroups: { delegated: Record<string, string> } };
}

describe('resource limits', () => {
  it('the test host delegates memory, pids and cpu (CI sets this up)', async () => {
    const i = await info();
    expect(Object.keys(i.cgroups.delegated).sort()).toEqual(['cpu', 'memory', 'pids']);
  });

  it('--memory 32m: a memory-hungry process is OOM-killed', async () => {
    const name = uniq('oom');
    // Each loop doubles a shell variable: 64 MiB is reached in a few seconds.
    const r = await moat([
      'run',
      '--name',
      name,
      '--memory',
      '32m',
      IMAGE,
      'sh',
      '-c',
      'x=xxxxxxxxxxxxxxxx; while :; do x="$x$x"; done',
    ]);
    expect(r.code).toBe(137);
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as {
      oomKilled: boolean;
      exitCode: number;
    }[];
    expect(insp[0]).toMatchObject({ oomKilled: true, exitCode: 137 });
    await moat(['rm', name]);
  });

  it('--memory is visible to the container as its cgroup limit', async () => {
    const r = await moat([
      'run',
      '--rm',
      '--memory',
      '48m',
      IMAGE,
      'sh',
      '-c',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(String(48 * 1024 * 1024));
  });

  it('--pids-limit stops a fork bomb', async () => {
    // The bomb runs in a child shell (a shell that cannot fork gives up); the outer shell then
    // counts processes with a glob, which needs no fork.
    const r = await moat([
      'run',
      '--rm',
      '--pids-limit',
      '20',
      IMAGE,
      'sh',
      '-c',
      'sh -c "while :; do sleep 5 & done" 2>/dev/null; echo inner=$?; set -- /proc/[0-9]*; echo procs=$#',
    ]);
    expect(r.stdout).toMatch(/inner=[1-9]/);
    const procs = Number(/procs=(\d+)/.exec(r.stdout)?.[1]);
    expect(procs).toBeGreaterThan(10);
    expect(procs).toBeLessThanOrEqual(20);
  });

  it('--cpus sets a CFS quota', async () => {
    const r = await moat([
      'run',
      '--rm',
      '--cpus',
      '0.5',
      IMAGE,
      'sh',
      '-c',
      'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['50000', '100000']);
  });

  it('--ulimit sets rlimits; one above the host hard limit is refused', async () => {
    const r = await moat([
      'run',
      '--rm',
      '--ulimit',
      'nofile=64:128',
      IMAGE,
      'sh',
      '-c',
      'ulimit -n; ulimit -Hn',
    ]);
    expect(r.stdout.trim().split('\n')).toEqual(['64', '128']);
    const bad = await moat(['run', '--rm', '--ulimit', 'nofile=64:999999999', IMAGE, 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/hard limit/);
  });

  it('refuses a limit the host cannot enforce instead of dropping it', async () => {
    const e = await moatWithoutDelegation(['run', '--rm', '--memory', '32m', IMAGE, 'true']);
    expect(e.code).toBe(125);
    expect(e.stderr).toMatch(/RUNTIME_LIMIT_UNSUPPORTED/);
    expect(e.stderr).toMatch(/hint:/);
  });
});

function moatWithoutDelegation(args: string[]) {
  // Point moat at a cgroup parent nobody delegated: the limit must be refused, not dropped.
  const r = spawnSync(process.execPath, [bin(), ...args], {
    env: { ...env(), MOAT_CGROUP_PARENT: 'not-delegated-to-anyone' },
    encoding: 'utf8',
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}
