/**
 * One validation for every way in: the CLI's flags and the Docker API's create body become the
 * same run options, and `/v1`'s JSON (run options as they are) meets the same checks — the tmpfs
 * allow-list and the ulimit names included, which the API used to skip. The cgroup files the new
 * limits write on v1 and v2, and `--mount` as the CLI spells it.
 */
import { describe, expect, it } from 'vitest';
import { runOptionsFromDocker } from '../../../src/api/docker/index.js';
import { toRunOptions } from '../../../src/cli/run-options.js';
import type { MoatError } from '../../../src/errors.js';
import { cgroupWrites, checkLimits, cpuList } from '../../../src/runtime/cgroups.js';
import { mountToRunOptions, parseMount } from '../../../src/runtime/mount-option.js';
import { checkRunOptions, defaultRunOptions, type RunOptions } from '../../../src/runtime/options.js';

const flags = (f: Partial<Parameters<typeof toRunOptions>[2]> = {}) => ({
  env: [],
  volume: [],
  tmpfs: [],
  capAdd: [],
  ulimit: [],
  securityOpt: [],
  label: [],
  ...f,
});

function error(fn: () => unknown): MoatError {
  try {
    fn();
  } catch (e) {
    return e as MoatError;
  }
  throw new Error('did not throw');
}

const MiB = 1024 * 1024;

describe('the CLI and the Docker API give the same run options', () => {
  it('for every option they share', () => {
    const cli = toRunOptions(
      'img',
      [],
      flags({
        memory: '64m',
        mount: [
          'type=bind,source=/srv/data,target=/data,readonly',
          'type=tmpfs,destination=/scratch,tmpfs-size=1m,tmpfs-mode=1777',
        ],
        tmpfs: ['/run:exec,size=2m'],
        memorySwap: '128m',
        cpuQuota: '50000',
        cpuPeriod: '100000',
        cpusetCpus: '0-1',
        shmSize: '128m',
        groupAdd: ['3000', 'extra'],
        sysctl: ['net.ipv4.ping_group_range=0 1000', 'kernel.shmmax=65536'],
        oomScoreAdj: '500',
        ulimit: ['core=1000:1000'],
      }),
    );
    const api = runOptionsFromDocker(
      {
        Image: 'img',
        HostConfig: {
          Memory: 64 * MiB,
          Mounts: [
            { Type: 'bind', Source: '/srv/data', Target: '/data', ReadOnly: true },
            { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: MiB, Mode: 0o1777 } },
          ],
          Tmpfs: { '/run': 'exec,size=2m' },
          MemorySwap: 128 * MiB,
          CpuQuota: 50000,
          CpuPeriod: 100000,
          CpusetCpus: '0-1',
          ShmSize: 128 * MiB,
          GroupAdd: ['3000', 'extra'],
          Sysctls: { 'net.ipv4.ping_group_range': '0 1000', 'kernel.shmmax': '65536' },
          OomScoreAdj: 500,
          Ulimits: [{ Name: 'core', Soft: 1000, Hard: 1000 }],
        },
      },
      null,
    );
    const pick = (o: RunOptions) => ({
      memory: o.memory,
      memorySwap: o.memorySwap,
      volumes: o.volumes,
      tmpfs: [...o.tmpfs].sort((a, b) => a.path.localeCompare(b.path)),
      cpuQuota: o.cpuQuota,
      cpuPeriod: o.cpuPeriod,
      cpusetCpus: o.cpusetCpus,
      shmSize: o.shmSize,
      groupAdd: o.groupAdd,
      sysctls: o.sysctls,
      oomScoreAdj: o.oomScoreAdj,
      ulimits: o.ulimits,
    });
    expect(pick(cli)).toEqual(pick(api));
    expect(pick(cli)).toMatchObject({
      volumes: [{ host: '/srv/data', container: '/data', readonly: true }],
      tmpfs: [
        { path: '/run', options: ['exec', 'size=2m'] },
        { path: '/scratch', options: [`size=${MiB}`, 'mode=1777'] },
      ],
    });
    expect(() => checkRunOptions(cli)).not.toThrow();
  });

  it('and refuse the same things with the same message', () => {
    const same: [Partial<Parameters<typeof toRunOptions>[2]>, Record<string, unknown>, RegExp][] = [
      [{ tmpfs: ['/x:suid'] }, { Tmpfs: { '/x': 'suid' } }, /^tmpfs option "suid" in "\/x:suid" is refused/],
      [
        { ulimit: ['nofile=20:10'] },
        { Ulimits: [{ Name: 'nofile', Soft: 20, Hard: 10 }] },
        /soft must be ≤ hard/,
      ],
      [
        { sysctl: ['kernel.core_pattern=|/x'] },
        { Sysctls: { 'kernel.core_pattern': '|/x' } },
        /not namespaced/,
      ],
      [{ oomScoreAdj: '-500' }, { OomScoreAdj: -500 }, /can only raise/],
      [{ memorySwap: '1g' }, { MemorySwap: 1024 * MiB }, /^--memory-swap needs --memory/],
      [{ cpus: '1', cpuQuota: '50000' }, { NanoCpus: 1e9, CpuQuota: 50000 }, /^conflicting options/],
      [
        { mount: ['type=volume,source=/etc,target=/data'] },
        { Mounts: [{ Type: 'volume', Source: '/etc', Target: '/data' }] },
        /^invalid volume name "\/etc"/,
      ],
      [
        { mount: ['type=volume,source=data,target=/data,volume-driver=nfs'] },
        {
          Mounts: [
            {
              Type: 'volume',
              Source: 'data',
              Target: '/data',
              VolumeOptions: { DriverConfig: { Name: 'nfs' } },
            },
          ],
        },
        /^--mount volume-driver=nfs is not supported by moat/,
      ],
    ];
    for (const [f, h, msg] of same) {
      const viaCli = error(() => checkRunOptions(toRunOptions('img', [], flags(f))));
      const viaApi = error(() =>
        checkRunOptions(runOptionsFromDocker({ Image: 'img', HostConfig: h }, null)),
      );
      expect(viaCli.message, JSON.stringify(f)).toMatch(msg);
      expect(viaApi.message).toBe(viaCli.message);
      expect(viaApi.code).toBe('RUNTIME_INVALID_OPTION');
    }
  });
});

describe('checkRunOptions: /v1 run options meet the same checks', () => {
  const v1 = (o: Partial<RunOptions>) => ({ ...defaultRunOptions('img'), ...o });
  it('the tmpfs allow-list: exec allowed, suid and dev refused, unknown options refused', () => {
    expect(() =>
      checkRunOptions(v1({ tmpfs: [{ path: '/x', options: ['exec', 'size=1m'] }] })),
    ).not.toThrow();
    for (const bad of ['suid', 'dev', 'bogus', '__proto__=1', 'size=1m;x']) {
      const e = error(() => checkRunOptions(v1({ tmpfs: [{ path: '/x', options: [bad] }] })));
      expect(e.code).toBe('RUNTIME_INVALID_OPTION');
      expect(e.message).toMatch(/tmpfs/);
    }
  });

  it('ulimit names from the list only, soft ≤ hard', () => {
    for (const name of ['__proto__', 'constructor', 'NOFILE', 'toString']) {
      const e = error(() => checkRunOptions(v1({ ulimits: [{ name, soft: 1, hard: 1 }] })));
      expect(e.message).toBe(`invalid ulimit name "${name}"`);
      expect(e.hint).toMatch(/one of core, cpu/);
    }
    expect(() => checkRunOptions(v1({ ulimits: [{ name: 'core', soft: 0, hard: 10 }] }))).not.toThrow();
  });

  it('namespaced sysctls only', () => {
    for (const k of [
      'net.core.somaxconn',
      'net.ipv4.ping_group_range',
      'kernel.shm_rmid_forced',
      'kernel.msgmax',
      'kernel.sem',
      'fs.mqueue.queues_max',
    ])
      expect(() => checkRunOptions(v1({ sysctls: { [k]: '1' } })), k).not.toThrow();
    for (const k of [
      'kernel.core_pattern',
      'vm.overcommit_memory',
      'kernel.domainname',
      'fs.file-max',
      'net',
      'net..x',
      'net./x',
      '__proto__',
    ])
      expect(() => checkRunOptions(v1({ sysctls: { [k]: '1' } })), k).toThrow();
    expect(() => checkRunOptions(v1({ sysctls: { 'net.ipv4.ping_group_range': '0 1\n2' } }))).toThrow(
      /invalid value/,
    );
  });

  it('ranges, conflicts, formats; the first problem is the message, all are in the details', () => {
    const e = error(() => checkRunOptions(v1({ cpuPeriod: 1, shmSize: 0, groupAdd: ['a b'] })));
    expect(e.message).toMatch(/^invalid --shm-size 0/);
    expect((e.details as { problems: string[] }).problems).toHaveLength(3);
    expect(() => checkRunOptions(v1({ memory: 64 * MiB, memorySwap: -1, oomScoreAdj: 1000 }))).not.toThrow();
    expect(() => checkRunOptions(v1({ cpusetCpus: '0,2-3' }))).not.toThrow();
    expect(() => checkRunOptions(v1({ cpusetCpus: '0-' }))).toThrow(/--cpuset-cpus/);
  });
});

describe('--mount as the CLI spells it', () => {
  it('bind and tmpfs, docker’s key names', () => {
    expect(mountToRunOptions(parseMount('type=bind,src=/a,dst=/b,ro=true'))).toEqual({
      volume: { host: '/a', container: '/b', readonly: true },
    });
    expect(mountToRunOptions(parseMount('type=bind,source=/a,target=/b,bind-propagation=rprivate'))).toEqual({
      volume: { host: '/a', container: '/b', readonly: false },
    });
    expect(mountToRunOptions(parseMount('type=tmpfs,target=/t,tmpfs-mode=700,readonly'))).toEqual({
      tmpfs: { path: '/t', options: ['mode=700', 'ro'] },
    });
  });

  it('refuses what it cannot do as asked', () => {
    for (const [s, msg] of [
      ['type=bind,source=rel,target=/b', /must be an absolute host path/],
      ['type=bind,source=/a', /target is required/],
      ['type=bind,source=/a,target=/b,bind-propagation=shared', /bind-propagation=shared is not supported/],
      ['type=bind,source=/a,target=/b,bind-nonrecursive', /bind-nonrecursive is not supported/],
      ['type=bind,source=/a,target=/b,tmpfs-size=1m', /tmpfs-\* do not apply to type=bind/],
      ['type=tmpfs,source=/a,target=/b', /type=tmpfs takes no source/],
      ['type=tmpfs,target=/b,volume-nocopy', /volume-\* do not apply/],
      ['type=bind,source=/a,target=/b,volume-nocopy', /volume-\* do not apply/],
      ['type=volume,source=v1,target=/b,bind-propagation=private', /bind-\* do not apply/],
      ['type=bind,source=/a,target=/b,bind-selinux=z', /SELinux/],
      ['type=image,source=x,target=/b', /type=image is not supported/],
      ['type=bind,source=/a,target=/b,bogus=1', /unknown key "bogus"/],
      ['source=/a,target=/b', /type is required/],
    ] as const) {
      const e = error(() => mountToRunOptions(parseMount(s)));
      expect(e.code, s).toBe('RUNTIME_INVALID_OPTION');
      expect(e.message, s).toMatch(msg);
    }
  });
});

describe("the Docker API's Mounts", () => {
  const create = (m: Record<string, unknown>) => () =>
    runOptionsFromDocker({ Image: 'img', HostConfig: { Mounts: [m] } }, null);
  it('refuses fields it does not know and values of the wrong type, never drops them', () => {
    const bind = { Type: 'bind', Source: '/a', Target: '/b' };
    expect(error(create({ ...bind, Labels: { a: 'b' } })).message).toMatch(
      /^--mount with Labels is not supported/,
    );
    expect(error(create({ ...bind, BindOptions: { Frob: true } })).message).toMatch(/BindOptions\.Frob/);
    expect(error(create({ ...bind, BindOptions: { NonRecursive: 'yes' } })).message).toMatch(
      /bind-nonrecursive/,
    );
    expect(error(create({ ...bind, VolumeOptions: { NoCopy: true } })).message).toMatch(
      /VolumeOptions do not apply/,
    );
    expect(error(create({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: '1m' } })).message).toMatch(
      /tmpfs-size 1m must be positive/,
    );
    expect(
      runOptionsFromDocker(
        { Image: 'img', HostConfig: { Mounts: [{ ...bind, BindOptions: { ReadOnlyNonRecursive: true } }] } },
        null,
      ).volumes,
    ).toEqual([{ host: '/a', container: '/b', readonly: false }]);
  });
});

describe('cgroup writes of the new limits', () => {
  it('v2: swap beyond memory, quota over period', () => {
    expect(cgroupWrites({ memory: 64, memorySwap: 96 }, 'v2')).toContainEqual({
      controller: 'memory',
      file: 'memory.swap.max',
      value: '32',
    });
    expect(cgroupWrites({ memory: 64, memorySwap: -1 }, 'v2')).toContainEqual({
      controller: 'memory',
      file: 'memory.swap.max',
      value: 'max',
    });
    expect(cgroupWrites({ cpuQuota: 25000, cpuPeriod: 50000 }, 'v2')).toEqual([
      { controller: 'cpu', file: 'cpu.max', value: '25000 50000' },
    ]);
    expect(cgroupWrites({ cpuPeriod: 50000 }, 'v2')).toEqual([
      { controller: 'cpu', file: 'cpu.max', value: 'max 50000' },
    ]);
  });

  it('a limit on a controller that is not delegated is refused, naming the flag', () => {
    const facts = { version: 'hybrid' as const, delegated: { cpu: '/c' }, missing: { cpuset: 'no cpuset' } };
    const e = error(() => checkLimits({ cpuQuota: 50000, cpusetCpus: '0' }, facts));
    expect(e.code).toBe('RUNTIME_LIMIT_UNSUPPORTED');
    expect(e.message).toBe('cannot enforce --cpuset-cpus: no cpuset');
    expect(e.hint).toMatch(/\(for cpuset\)/);
    expect(() => checkLimits({ cpuQuota: 50000 }, facts)).not.toThrow();
  });

  it('reads a cpuset list back as the kernel writes it', () => {
    expect(cpuList('0,1,2,5')).toEqual(cpuList('0-2,5'));
  });
});
