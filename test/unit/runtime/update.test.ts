/** moat update: the limits planned (create's checks), the cgroup files written, the record. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { updateFromDocker } from '../../../src/api/docker/containers-update.js';
import type { CgroupFacts } from '../../../src/runtime/host.js';
import { defaultRunOptions } from '../../../src/runtime/options.js';
import { plannedUpdate, touched, updateContainer, updateWrites } from '../../../src/runtime/update.js';
import { fakeLifecycle } from './lifecycle-fake.js';

const MiB = 1 << 20;
const hybrid: CgroupFacts = {
  version: 'hybrid',
  delegated: { memory: '/m', pids: '/p', cpu: '/c' },
  missing: { cpuset: 'no cgroup v1 cpuset subtree is delegated to u' },
};
const host = { cgroup: hybrid, rlimits: {} };
const opts = (more = {}) => ({ options: { ...defaultRunOptions('moat/busybox'), ...more } });

describe('plannedUpdate', () => {
  it('the limits as they will be: changed ones replaced, the others kept', () => {
    const p = plannedUpdate(opts({ memory: 64 * MiB, cpus: 1 }), { memory: 128 * MiB }, host);
    expect(p.limits).toEqual({ memory: 128 * MiB, cpus: 1, pids: 2048 });
    expect(p.options.memory).toBe(128 * MiB);
    expect(plannedUpdate(opts(), { pidsLimit: 100 }, host).limits.pids).toBe(100);
    expect(plannedUpdate(opts(), { pidsLimit: -1 }, host).limits.pids).toBeUndefined();
    expect(plannedUpdate(opts({ cpuQuota: 50000 }), { cpuQuota: -1 }, host).options.cpuQuota).toBeUndefined();
  });

  it('create’s checks: minimum memory, swap below memory, --cpus with a quota; nothing at all', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code: string; message: string }).code + ': ' + (e as Error).message;
      }
      return 'ok';
    };
    expect(code(() => plannedUpdate(opts(), { memory: 1000 }, host))).toMatch(
      /^RUNTIME_INVALID_OPTION: .*below the minimum/,
    );
    expect(
      code(() =>
        plannedUpdate(opts({ memory: 64 * MiB, memorySwap: 128 * MiB }), { memory: 256 * MiB }, host),
      ),
    ).toMatch(/--memory-swap 134217728 is below --memory 268435456/);
    expect(code(() => plannedUpdate(opts({ cpus: 1 }), { cpuQuota: 50000 }, host))).toMatch(
      /--cpus and --cpu-quota cannot both be set/,
    );
    expect(code(() => plannedUpdate(opts(), { memorySwap: 128 * MiB }, host))).toMatch(
      /--memory-swap needs --memory/,
    );
    expect(code(() => plannedUpdate(opts(), {}, host))).toMatch(/nothing to update/);
  });

  it('a limit the host cannot enforce is refused as at create; unchanged ones are not judged', () => {
    expect(() => plannedUpdate(opts(), { cpusetCpus: '0' }, host)).toThrow(/cannot enforce --cpuset-cpus/);
    const noMem = {
      cgroup: { ...hybrid, delegated: { pids: '/p' }, missing: { memory: 'no memory' } },
      rlimits: {},
    };
    expect(() => plannedUpdate(opts(), { memory: 64 * MiB }, noMem)).toThrow(
      /cannot enforce --memory: no memory/,
    );
    // a memory limit recorded on a host that lost the controller does not block a pids update
    expect(plannedUpdate(opts({ memory: 64 * MiB }), { pidsLimit: 10 }, noMem).limits.pids).toBe(10);
  });

  it('touched: the controllers and the flags that asked', () => {
    expect(touched({ memory: 1, memorySwap: 2, cpus: 1, pidsLimit: 3 })).toEqual({
      memory: '--memory, --memory-swap',
      cpu: '--cpus',
      pids: '--pids-limit',
    });
  });
});

describe('updateWrites', () => {
  it('v1 memory: raising writes memsw first, lowering last; -1 unlimited swap', () => {
    const up = updateWrites({ memory: 64 * MiB }, { memory: 128 * MiB }, ['memory'], 'hybrid');
    expect(up.map((w) => `${w.file}=${w.value}`)).toEqual([
      `memory.memsw.limit_in_bytes=${128 * MiB}`,
      `memory.limit_in_bytes=${128 * MiB}`,
    ]);
    expect(up[0].optional).toBe(true); // no swap accounting: the memory limit alone
    const down = updateWrites({ memory: 128 * MiB }, { memory: 64 * MiB, memorySwap: -1 }, ['memory'], 'v1');
    expect(down.map((w) => `${w.file}=${w.value}`)).toEqual([
      `memory.limit_in_bytes=${64 * MiB}`,
      'memory.memsw.limit_in_bytes=-1',
    ]);
    expect(down[1].optional).toBe(false); // asked for: refused, not dropped, where it cannot be written
  });

  it('v2, pids (max for none), cpu and cpuset', () => {
    expect(
      updateWrites({}, { memory: 64 * MiB, memorySwap: 96 * MiB }, ['memory'], 'v2').map((w) => w.value),
    ).toEqual([String(64 * MiB), String(32 * MiB)]);
    expect(updateWrites({ pids: 10 }, {}, ['pids'], 'v1')).toEqual([
      { controller: 'pids', file: 'pids.max', value: 'max' },
    ]);
    expect(updateWrites({}, { cpus: 0.5 }, ['cpu'], 'v1').map((w) => `${w.file}=${w.value}`)).toEqual([
      'cpu.cfs_period_us=100000',
      'cpu.cfs_quota_us=50000',
    ]);
    expect(updateWrites({ cpuQuota: 5000 }, { cpuPeriod: 20000 }, ['cpu'], 'v1').map((w) => w.value)).toEqual(
      ['20000', '-1'],
    );
    expect(updateWrites({}, { cpus: 2 }, ['cpu'], 'v2')).toEqual([
      { controller: 'cpu', file: 'cpu.max', value: '200000 100000' },
    ]);
    expect(updateWrites({}, { memory: MiB * 8 }, ['pids'], 'v1')).toEqual([
      { controller: 'pids', file: 'pids.max', value: 'max' },
    ]);
  });
});

describe('updateContainer', () => {
  function cgroupDir(base: string, c: string, id: string, files: Record<string, string>): string {
    const top = path.join(base, 'cg', c, `moat-${id.slice(0, 16)}`);
    mkdirSync(path.join(top, id), { recursive: true });
    for (const [f, v] of Object.entries(files)) writeFileSync(path.join(top, id, f), v);
    return top;
  }

  it('a running container: its cgroups written, its record changed; a controller it lacks is for its next start', async () => {
    const { e, put, base } = fakeLifecycle(hybrid);
    e.deps.host.rlimits = {};
    const id = 'a'.repeat(64);
    const memory = cgroupDir(base, 'memory', id, {
      'memory.limit_in_bytes': String(64 * MiB),
      'memory.memsw.limit_in_bytes': String(64 * MiB),
    });
    const pids = cgroupDir(base, 'pids', id, { 'pids.max': '2048' });
    const rec = await put({
      id,
      options: opts({ memory: 64 * MiB }).options,
      limits: { memory: 64 * MiB, pids: 2048 },
      cgroups: { memory, pids },
    });
    const r = await updateContainer(e, rec.name, { memory: 128 * MiB, pidsLimit: 50, cpus: 0.5 });
    expect(readFileSync(path.join(memory, id, 'memory.limit_in_bytes'), 'utf8')).toBe(String(128 * MiB));
    expect(readFileSync(path.join(memory, id, 'memory.memsw.limit_in_bytes'), 'utf8')).toBe(
      String(128 * MiB),
    );
    expect(readFileSync(path.join(pids, id, 'pids.max'), 'utf8')).toBe('50');
    expect(r.warnings).toEqual([`--cpus applies from the next start: ${rec.name} runs without a cpu cgroup`]);
    const saved = await e.containers.load(id);
    expect(saved.limits).toEqual({ memory: 128 * MiB, pids: 50, cpus: 0.5 });
    expect([saved.options.memory, saved.options.pidsLimit, saved.options.cpus]).toEqual([128 * MiB, 50, 0.5]);
  });

  it('a stopped container: recorded only; a refused update changes nothing', async () => {
    const { e, put } = fakeLifecycle(hybrid);
    e.deps.host.rlimits = {};
    const rec = await put({ status: 'exited', exitCode: 0 });
    const r = await updateContainer(e, rec.name, { memory: 32 * MiB });
    expect(r.warnings).toEqual([]);
    expect((await e.containers.load(rec.id)).limits.memory).toBe(32 * MiB);
    await expect(updateContainer(e, rec.name, { cpusetCpus: '0' })).rejects.toMatchObject({
      code: 'RUNTIME_LIMIT_UNSUPPORTED',
    });
    expect((await e.containers.load(rec.id)).limits).toEqual(r.limits);
  });

  it('a write the kernel refuses: RUNTIME_CGROUP_FAILED, the old values put back, the record unchanged', async () => {
    const { e, put, base } = fakeLifecycle(hybrid);
    e.deps.host.rlimits = {};
    const id = 'b'.repeat(64);
    const pids = cgroupDir(base, 'pids', id, {});
    mkdirSync(path.join(pids, id, 'pids.max')); // a directory: the write fails
    const rec = await put({ id, limits: { pids: 2048 }, cgroups: { pids } });
    await expect(updateContainer(e, rec.name, { pidsLimit: 10 })).rejects.toMatchObject({
      code: 'RUNTIME_CGROUP_FAILED',
    });
    expect((await e.containers.load(id)).limits.pids).toBe(2048);
  });
});

describe('docker update’s body', () => {
  it('zeros are "unchanged"; NanoCpus, PidsLimit 0 or -1 (none)', () => {
    const zeros = {
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CpuPeriod: 0,
      CpuQuota: 0,
      CpusetCpus: '',
      MemorySwap: 0,
      PidsLimit: null,
      Devices: null,
      MemorySwappiness: null,
      OomKillDisable: null,
      RestartPolicy: { Name: '', MaximumRetryCount: 0 },
    };
    expect(updateFromDocker({ ...zeros, Memory: 64 * MiB })).toEqual({ memory: 64 * MiB });
    expect(updateFromDocker({ ...zeros, NanoCpus: 1.5e9, PidsLimit: 0, MemorySwap: -1 })).toEqual({
      cpus: 1.5,
      pidsLimit: -1,
      memorySwap: -1,
    });
    expect(updateFromDocker({ CpuQuota: -1, CpusetCpus: '0-1' })).toEqual({
      cpuQuota: -1,
      cpusetCpus: '0-1',
    });
  });

  it('refuses what moat does not change, by its flag', () => {
    expect(() => updateFromDocker({ CpuShares: 512 })).toThrow(/^--cpu-shares is not supported by moat/);
    expect(() => updateFromDocker({ RestartPolicy: { Name: 'always' } })).toThrow(
      /--restart is not supported by moat: .*set at create/,
    );
    expect(() => updateFromDocker({ BlkioWeight: 10 })).toThrow(/--blkio-weight/);
    expect(() => updateFromDocker({ Memory: 'x' })).toThrow(/Memory must be an integer/);
  });
});
