import { describe, expect, it } from 'vitest';
import {
  generateSpec,
  resolveUser,
  MASKED_PATHS,
  READONLY_PATHS,
  type SpecInput,
} from '../../../src/runtime/spec/index.js';
import { defaultRunOptions, type RunOptions } from '../../../src/runtime/options.js';
import { computeIdMaps } from '../../../src/userns/idmap.js';
import { SUBORDINATE_MAPS } from '../fixtures/id-maps.js';
import { MoatError } from '../../../src/errors.js';

const sub = SUBORDINATE_MAPS;
const single = computeIdMaps({ uid: 1000, gid: 1000, subuids: [], subgids: [] });
if ('error' in sub || 'error' in single) throw new Error('maps');

const seccomp = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }],
};

function input(over: Partial<RunOptions> = {}, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'a'.repeat(64),
    opts: { ...defaultRunOptions('busybox'), ...over },
    image: { Cmd: ['/bin/sh'], Env: ['PATH=/bin', 'FOO=image'] },
    idmaps: sub as Exclude<typeof sub, { error: string }>,
    host: {
      arch: 'x64',
      rlimits: { RLIMIT_NOFILE: { soft: 1024, hard: 4096 }, RLIMIT_CORE: { soft: 0, hard: 'unlimited' } },
      initPath: '/usr/bin/tini-static',
    },
    paths: { rootfs: '/r/rootfs', hosts: '/r/hosts', hostname: '/r/hostname' },
    seccomp,
    passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
    group: 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n',
    ...extra,
  };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as MoatError).code;
  }
  return undefined;
}

describe('generateSpec: hardened defaults', () => {
  const { spec, warnings } = generateSpec(input());
  it('drops every capability and sets no_new_privs', () => {
    for (const set of Object.values(spec.process.capabilities)) expect(set).toEqual([]);
    expect(spec.process.noNewPrivileges).toBe(true);
  });
  it('makes the root read-only with tmpfs on /tmp and /run', () => {
    expect(spec.root).toEqual({ path: '/r/rootfs', readonly: true });
    const dests = spec.mounts.filter((m) => m.type === 'tmpfs').map((m) => m.destination);
    expect(dests).toEqual(expect.arrayContaining(['/dev', '/dev/shm', '/tmp', '/run']));
  });
  it('creates pid, net, ipc, uts, mount and cgroup namespaces (user comes from the launcher)', () => {
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual([
      'cgroup',
      'ipc',
      'mount',
      'network',
      'pid',
      'uts',
    ]);
  });
  it('lets any user bind ports below 1024 in its own network namespace, as Docker does', () => {
    expect(spec.linux.sysctl).toEqual({ 'net.ipv4.ip_unprivileged_port_start': '0' });
    expect(generateSpec(input({ capAdd: ['NET_BIND_SERVICE'] })).spec.linux.sysctl).toEqual(
      spec.linux.sysctl,
    );
  });
  it("masks Docker's /proc and /sys paths", () => {
    for (const p of [
      '/proc/kcore',
      '/proc/keys',
      '/proc/timer_list',
      '/sys/firmware',
      '/proc/sched_debug',
      '/proc/acpi',
      '/proc/scsi',
    ])
      expect(spec.linux.maskedPaths).toContain(p);
    expect(spec.linux.readonlyPaths).toEqual(
      expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs']),
    );
    expect(MASKED_PATHS.length).toBeGreaterThan(10);
    expect(READONLY_PATHS.length).toBe(5);
  });
  it('carries the seccomp filter it was given', () => {
    expect(spec.linux.seccomp).toEqual(seccomp);
  });
  it('disables core dumps and mounts sysfs and cgroup read-only', () => {
    expect(spec.process.rlimits).toContainEqual({ type: 'RLIMIT_CORE', soft: 0, hard: 0 });
    expect(spec.mounts.find((m) => m.destination === '/sys')!.options).toContain('ro');
    expect(spec.mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options).toContain('ro');
  });
  it('uses the image command and merges env, with HOSTNAME and HOME', () => {
    expect(spec.process.args).toEqual(['/bin/sh']);
    expect(spec.process.env).toEqual(
      expect.arrayContaining(['PATH=/bin', 'FOO=image', `HOSTNAME=${'a'.repeat(12)}`, 'HOME=/root']),
    );
    expect(spec.hostname).toBe('a'.repeat(12));
    // This host has no moat-init (input() above): the one warning is that Landlock is not applied.
    expect(warnings).toEqual([expect.stringMatching(/^Landlock is not applied: moat's init/)]);
  });
  it('gives devpts gid=5 only when group 5 is mapped', () => {
    expect(spec.mounts.find((m) => m.destination === '/dev/pts')!.options).toContain('gid=5');
    const s2 = generateSpec(input({}, { idmaps: single as Exclude<typeof single, { error: string }> })).spec;
    expect(s2.mounts.find((m) => m.destination === '/dev/pts')!.options).not.toContain('gid=5');
  });
  it('is a pure function: same input, same output', () => {
    expect(generateSpec(input())).toEqual(generateSpec(input()));
  });
});

describe('generateSpec: options', () => {
  it('--cap-add grants exactly the named capabilities (not inheritable or ambient)', () => {
    const { spec } = generateSpec(input({ capAdd: ['CAP_NET_RAW', 'CAP_CHOWN'] }));
    expect(spec.process.capabilities.bounding).toEqual(['CAP_CHOWN', 'CAP_NET_RAW']);
    expect(spec.process.capabilities.effective).toEqual(['CAP_CHOWN', 'CAP_NET_RAW']);
    expect(spec.process.capabilities.ambient).toEqual([]);
  });
  it('--read-write makes the root writable and drops the scratch tmpfs', () => {
    const { spec } = generateSpec(input({ readWrite: true }));
    expect(spec.root.readonly).toBe(false);
    expect(spec.mounts.some((m) => m.destination === '/tmp')).toBe(false);
  });
  it('-v and --tmpfs become bind and tmpfs mounts', () => {
    const { spec } = generateSpec(
      input({
        volumes: [{ host: '/h', container: '/data', readonly: true }],
        tmpfs: [{ path: '/cache', options: ['size=1m'] }],
      }),
    );
    expect(spec.mounts).toContainEqual({
      destination: '/data',
      type: 'bind',
      source: '/h',
      options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'ro'],
    });
    expect(spec.mounts).toContainEqual({
      destination: '/cache',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'size=1m'],
    });
  });
  it('a --tmpfs without size= gets the default size; the process limit default becomes RLIMIT_NPROC', () => {
    const { spec } = generateSpec(
      input({ tmpfs: [{ path: '/cache', options: ['mode=700'] }] }, { defaultNproc: 2048 }),
    );
    expect(spec.mounts.find((m) => m.destination === '/cache')?.options).toEqual([
      'nosuid',
      'nodev',
      'mode=700',
      'size=64m',
    ]);
    expect(spec.process.rlimits).toContainEqual({ type: 'RLIMIT_NPROC', soft: 2048, hard: 2048 });
    const own = generateSpec(
      input({ ulimits: [{ name: 'nproc', soft: 10, hard: 20 }] }, { defaultNproc: 2048 }),
    ).spec.process.rlimits.filter((r) => r.type === 'RLIMIT_NPROC');
    expect(own).toEqual([{ type: 'RLIMIT_NPROC', soft: 10, hard: 20 }]);
  });
  it('--init runs tini as PID 1 from a read-only bind', () => {
    const { spec } = generateSpec(input({ init: true, cmd: ['sleep', '1'] }));
    expect(spec.process.args).toEqual(['/dev/init', '--', 'sleep', '1']);
    expect(spec.mounts.find((m) => m.destination === '/dev/init')).toMatchObject({
      source: '/usr/bin/tini-static',
      type: 'bind',
    });
  });
  it('--entrypoint replaces the entrypoint and drops the image Cmd', () => {
    expect(generateSpec(input({ entrypoint: ['/bin/echo'] })).spec.process.args).toEqual(['/bin/echo']);
    expect(generateSpec(input({ entrypoint: ['/bin/echo'], cmd: ['hi'] })).spec.process.args).toEqual([
      '/bin/echo',
      'hi',
    ]);
  });
  it('-u resolves names and primary groups from the image, with supplementary groups', () => {
    const { spec } = generateSpec(input({ user: 'app' }));
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [2000] });
    expect(spec.process.env).toContain('HOME=/home/app');
    expect(generateSpec(input({ user: '1000:5' })).spec.process.user).toEqual({
      uid: 1000,
      gid: 5,
      additionalGids: [2000],
    });
    expect(generateSpec(input({ user: '4242' })).spec.process.user).toEqual({ uid: 4242, gid: 0 });
  });
  it('-e overrides image env; --ulimit sets rlimits', () => {
    const { spec } = generateSpec(
      input({ env: ['FOO=cli'], ulimits: [{ name: 'nofile', soft: 100, hard: 200 }] }),
    );
    expect(spec.process.env).toContain('FOO=cli');
    expect(spec.process.env).not.toContain('FOO=image');
    expect(spec.process.rlimits).toContainEqual({ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 });
  });
});

describe('generateSpec: checks', () => {
  it('refuses a uid outside the mapping (single-ID mapping has only root)', () => {
    expect(
      code(() =>
        generateSpec(
          input({ user: '1000' }, { idmaps: single as Exclude<typeof single, { error: string }> }),
        ),
      ),
    ).toBe('RUNTIME_INVALID_OPTION');
    expect(code(() => generateSpec(input({ user: '70000' })))).toBe('RUNTIME_INVALID_OPTION');
  });
  it('warns about single-ID mapping', () => {
    expect(
      generateSpec(
        input({}, { idmaps: single as Exclude<typeof single, { error: string }> }),
      ).warnings.join(),
    ).toMatch(/single-ID/);
  });
  it('refuses an rlimit above the host hard limit', () => {
    expect(code(() => generateSpec(input({ ulimits: [{ name: 'nofile', soft: 10, hard: 999999 }] })))).toBe(
      'RUNTIME_INVALID_OPTION',
    );
  });
  it('refuses no command, relative workdir, mounts over /proc, and --init without tini', () => {
    expect(code(() => generateSpec({ ...input(), image: {} }))).toBe('RUNTIME_INVALID_OPTION');
    expect(code(() => generateSpec(input({ workdir: 'rel' })))).toBe('RUNTIME_INVALID_OPTION');
    expect(
      code(() => generateSpec(input({ volumes: [{ host: '/h', container: '/proc/sys', readonly: false }] }))),
    ).toBe('RUNTIME_INVALID_OPTION');
    expect(code(() => generateSpec(input({ init: true }, { host: { arch: 'x64', rlimits: {} } })))).toBe(
      'RUNTIME_INVALID_OPTION',
    );
  });
  it("refuses --cpus beyond the host's CPUs (a host fact passed in)", () => {
    const host = { arch: 'x64', rlimits: {}, cpus: 2 };
    expect(() => generateSpec(input({ cpus: 5 }, { host }))).toThrow(
      /--cpus 5: the range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/,
    );
    expect(generateSpec(input({ cpus: 1.5 }, { host })).spec.process.args).toEqual(['/bin/sh']);
  });
  it('refuses unknown user names', () => {
    expect(code(() => resolveUser('nosuch', 'root:x:0:0::/root:/bin/sh\n'))).toBe('RUNTIME_INVALID_OPTION');
  });
});
