/** Resource limits through the cgroup subtree delegated to the test user, and rlimits. */
import { describe, expect, inject, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { bin, env, IMAGE, moat, uniq } from './moat.js';

async function info(): Promise<{ cgroups: { delegated: Record<string, string> } }> {
  const r = await moat(['info', '--format', 'json']);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { cgroups: { delegated: Record<string, string> } };
}

/**
 * The bomb runs in a child shell (a shell that cannot fork gives up); the outer shell then counts
 * processes with a glob, which needs no fork. The children sleep long: with short sleeps a slow
 * (loaded) machine forks slower than they exit and never reaches the limit.
 */
const FORK_BOMB =
  'sh -c "while :; do sleep 600 & done" 2>/dev/null; echo inner=$?; set -- /proc/[0-9]*; echo procs=$#';

describe('resource limits', () => {
  it('the test host delegates memory, pids and cpu (CI sets this up)', async () => {
    const i = await info();
    // (and the freezer where pause is set up: pause.test.ts)
    expect(
      Object.keys(i.cgroups.delegated)
        .filter((c) => c !== 'freezer')
        .sort(),
    ).toEqual(['cpu', 'memory', 'pids']);
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
    const r = await moat(['run', '--rm', '--pids-limit', '20', IMAGE, 'sh', '-c', FORK_BOMB]);
    expect(r.stdout).toMatch(/inner=[1-9]/);
    const procs = Number(/procs=(\d+)/.exec(r.stdout)?.[1]);
    expect(procs).toBeGreaterThan(10);
    expect(procs).toBeLessThanOrEqual(20);
  });

  it('without --pids-limit a fork bomb is stopped by the default limit (pids cgroup)', async () => {
    const name = uniq('bomb');
    const r = await moat(['run', '--name', name, IMAGE, 'sh', '-c', FORK_BOMB]);
    expect(r.stdout).toMatch(/inner=[1-9]/);
    const procs = Number(/procs=(\d+)/.exec(r.stdout)?.[1]);
    expect(procs).toBeGreaterThan(1000);
    expect(procs).toBeLessThanOrEqual(2048);
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as {
      limits: { pids?: number };
      effectiveLimits: { pids: unknown };
    }[];
    expect(insp[0].limits.pids).toBe(2048);
    expect(insp[0].effectiveLimits.pids).toEqual({ value: 2048, via: 'cgroup' });
    await moat(['rm', name]);
  });

  it('without a delegated pids cgroup the default is RLIMIT_NPROC, and it stops a fork bomb', async () => {
    const i = JSON.parse((await moatWithoutDelegation(['info', '--format', 'json'])).stdout) as {
      defaultLimits: { pids: { value: number; via: string } };
    };
    expect(i.defaultLimits.pids).toMatchObject({ via: 'rlimit' });
    const limit = i.defaultLimits.pids.value;
    expect(limit).toBeGreaterThan(0);
    expect(limit).toBeLessThanOrEqual(2048);
    const r = await moatWithoutDelegation(['run', '--rm', IMAGE, 'sh', '-c', `ulimit -u; ${FORK_BOMB}`]);
    expect(r.stdout.split('\n')[0]).toBe(String(limit));
    expect(r.stdout).toMatch(/inner=[1-9]/);
    expect(Number(/procs=(\d+)/.exec(r.stdout)?.[1])).toBeLessThanOrEqual(limit);
  });

  it('--pids-limit -1 lifts the default; moat info shows the default', async () => {
    const i = JSON.parse((await moat(['info', '--format', 'json'])).stdout) as {
      defaultLimits: { pids: { value: number; via: string }; tmpfsSize: string };
    };
    expect(i.defaultLimits.pids).toEqual({ value: 2048, via: 'cgroup', requested: false });
    expect(i.defaultLimits.tmpfsSize).toBe('64m');
    const name = uniq('nolimit');
    expect((await moat(['create', '--name', name, '--pids-limit', '-1', IMAGE, 'true'])).code).toBe(0);
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as {
      limits: { pids?: number };
      effectiveLimits: { pids: unknown };
      spec: { process: { rlimits: { type: string }[] } };
    }[];
    expect(insp[0].limits.pids).toBeUndefined();
    expect(insp[0].effectiveLimits.pids).toEqual({ via: 'none' });
    expect(insp[0].spec.process.rlimits.map((l) => l.type)).not.toContain('RLIMIT_NPROC');
    await moat(['rm', name]);
  });

  it('a --tmpfs without size= gets the default size', async () => {
    const r = await moat([
      'run',
      '--rm',
      '--tmpfs',
      '/scratch',
      '--tmpfs',
      '/big:size=128m',
      IMAGE,
      'sh',
      '-c',
      'df -k /scratch /big | tail -n 2',
    ]);
    expect(r.code).toBe(0);
    const sizes = r.stdout
      .trim()
      .split('\n')
      .map((l) => Number(l.trim().split(/\s+/)[1]));
    expect(sizes).toEqual([64 * 1024, 128 * 1024]);
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

/** A memory cgroup file of container `id` (cgroup v1 layout, as the test host delegates). */
async function memcg(id: string): Promise<string> {
  const base = (await info()).cgroups.delegated.memory;
  return path.join(base, `moat-${id.slice(0, 16)}`);
}

/** Create a container, then give its record a memory limit too small to start with. */
async function tooLittleMemory(name: string): Promise<string> {
  const c = await moat(['create', '--name', name, '--memory', '6m', IMAGE, 'echo', 'never']);
  expect(c.code, c.stderr).toBe(0);
  const id = c.stdout.trim();
  // What a record written before moat refused such limits holds (or one edited by hand).
  const file = path.join(inject('moatEnv').XDG_DATA_HOME, 'moat/containers', id, 'container.json');
  const rec = JSON.parse(readFileSync(file, 'utf8')) as {
    limits: { memory: number };
    options: { memory: number };
  };
  rec.limits.memory = 1024 * 1024;
  rec.options.memory = 1024 * 1024;
  writeFileSync(file, JSON.stringify(rec));
  return id;
}

/** PIDs of processes whose command line names the container (its directory or ID). */
function processesOf(id: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').includes(id)) out.push(Number(n));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('memory limits too small to start', () => {
  it('--memory below 6 MiB is refused before anything is created (CLI)', async () => {
    for (const m of ['1', '2m', '5m']) {
      const r = await moat(['run', '--rm', '--memory', m, IMAGE, 'true'], { timeoutMs: 20_000 });
      expect(r.code, `--memory ${m}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/below the minimum of 6 MiB.*\[RUNTIME_INVALID_OPTION\]/);
      expect(r.stderr).toMatch(/hint:/);
    }
    const ok = await moat(['run', '--rm', '--memory', '6m', IMAGE, 'true'], { timeoutMs: 30_000 });
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a container whose init cannot fit its limit fails with 137 instead of hanging', async () => {
    const name = uniq('lowmem');
    const id = await tooLittleMemory(name);
    const t0 = Date.now();
    const r = await moat(['start', name], { timeoutMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.code, r.stderr).toBe(137);
    expect(r.stderr).toMatch(/out of memory before its command started/);
    const insp = JSON.parse((await moat(['inspect', name])).stdout) as {
      exitCode: number;
      oomKilled: boolean;
    }[];
    expect(insp[0]).toMatchObject({ exitCode: 137, oomKilled: true });
    expect(existsSync(await memcg(id))).toBe(false);
    expect(processesOf(id)).toEqual([]);
    expect((await moat(['rm', name])).code).toBe(0);
  });

  it('rm -f of a start hung at its limit whose monitor is gone leaves no process and no cgroup', async () => {
    const name = uniq('hung');
    const id = await tooLittleMemory(name);
    const dir = path.join(inject('moatEnv').XDG_DATA_HOME, 'moat/containers', id);
    const start = spawn(process.execPath, [bin(), 'start', name], { env: env(), stdio: 'ignore' });
    const started = new Promise((r) => start.once('close', r));
    // The launcher (or runc) names the container's bundle; its parent is the monitor: kill it,
    // as a crash would, while the start is under way.
    let monitor: number | undefined;
    for (let i = 0; i < 1000 && monitor === undefined; i++) {
      for (const pid of processesOf(`${dir}/bundle`)) {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (readFileSync(`/proc/${ppid}/cmdline`, 'utf8').includes('monitor-main')) monitor = ppid;
      }
      if (monitor === undefined) await new Promise((r) => setTimeout(r, 5));
    }
    expect(monitor).toBeDefined();
    try {
      process.kill(monitor!, 'SIGKILL');
    } catch {
      /* it ended the start itself first */
    }
    await Promise.race([started, new Promise((r) => setTimeout(r, 20_000))]);
    start.kill('SIGKILL');
    const rm = await moat(['rm', '-f', name], { timeoutMs: 30_000 });
    expect(rm.code, rm.stderr).toBe(0);
    expect(processesOf(id)).toEqual([]);
    expect(existsSync(await memcg(id))).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
