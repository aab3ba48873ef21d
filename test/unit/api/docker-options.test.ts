/**
 * Issue 11, "options: refused or applied, never silently dropped". Every field of Docker's create
 * body (the properties of ContainerConfig and HostConfig in moby's api/swagger.yaml, listed in
 * fixtures/docker-create-fields.json) has a row: set to a value other than Docker's default, on
 * top of what docker CLI 28 sends for `docker create moat/busybox true`, it is either applied —
 * visible in the OCI spec, the cgroup writes or the run summary the policy decides on — or
 * refused with a code and a message naming the flag. Planning is done as the engine does it,
 * purely: the route's schema, the shared option checks, the cgroup limits on this host's
 * delegation (hybrid v1: memory, pids, cpu; no cpuset), the spec.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runOptionsFromDocker } from '../../../src/api/docker/index.js';
import { runSummary } from '../../../src/api/policy-hook.js';
import { runBody } from '../../../src/api/schemas.js';
import { MoatError } from '../../../src/errors.js';
import { checkLimits, cgroupWrites, type CgroupWrite, type Limits } from '../../../src/runtime/cgroups.js';
import { defaultNproc, effectivePids, limitsFor } from '../../../src/runtime/default-limits.js';
import type { CgroupFacts } from '../../../src/runtime/host.js';
import type { OciSpec } from '../../../src/runtime/oci.js';
import { checkRunOptions, normalizeCap, type RunOptions } from '../../../src/runtime/options.js';
import { generateSpec } from '../../../src/runtime/spec/index.js';
import { computeIdMaps } from '../../../src/userns/idmap.js';
import { lazyValidator } from '../../../src/util/schema.js';

type Body = Record<string, unknown> & { HostConfig: Record<string, unknown> };
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const plain = () => fixture('docker-create-body.json') as Body;
const FIELDS = fixture('docker-create-fields.json') as { ContainerConfig: string[]; HostConfig: string[] };

const maps = computeIdMaps({
  uid: 1001,
  gid: 1001,
  subuids: [{ start: 100000, count: 65536 }],
  subgids: [{ start: 100000, count: 65536 }],
});
if ('error' in maps) throw new Error('maps');

/** This host: hybrid v1 with memory, pids and cpu delegated to the user, not cpuset. */
const HOST: CgroupFacts = {
  version: 'hybrid',
  delegated: {
    memory: '/sys/fs/cgroup/memory/u',
    pids: '/sys/fs/cgroup/pids/u',
    cpu: '/sys/fs/cgroup/cpu/u',
  },
  missing: { cpuset: 'no cgroup v1 cpuset subtree is delegated to u (looked for /sys/fs/cgroup/cpuset/u)' },
};
const WITH_CPUSET: CgroupFacts = {
  ...HOST,
  delegated: { ...HOST.delegated, cpuset: '/sys/fs/cgroup/cpuset/u' },
  missing: {},
};

const validate = lazyValidator('test:docker-options:runBody', runBody, {
  allErrors: true,
  useDefaults: true,
  coerceTypes: false,
});

interface Planned {
  o: RunOptions;
  spec: OciSpec;
  limits: Limits;
  writes: CgroupWrite[];
  run: Record<string, unknown>;
}
type Outcome = Planned | { code: string; message: string };

/** Docker's body as the engine plans it (engine.plan without its I/O), or the refusal. */
function plan(body: Body, cgroup = HOST): Outcome {
  try {
    const o = runOptionsFromDocker(body, null);
    const req = { options: o };
    if (!validate(req)) throw new MoatError('API_INVALID_REQUEST', JSON.stringify(validate.errors));
    checkRunOptions(o);
    const pids = effectivePids(o, cgroup, {});
    const limits = limitsFor(o, pids);
    checkLimits(limits, cgroup);
    const opts = { ...o, capAdd: o.capAdd.map(normalizeCap) };
    const { spec } = generateSpec({
      id: 'c'.repeat(64),
      opts,
      image: { Cmd: ['sh'] },
      idmaps: maps as Exclude<typeof maps, { error: string }>,
      host: { arch: 'x64', rlimits: {}, initPath: '/usr/bin/tini-static', cpus: 2 },
      paths: { rootfs: '/r/rootfs', hosts: '/r/hosts', hostname: '/r/hostname' },
      seccomp: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [] },
      defaultNproc: defaultNproc(pids),
      passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n',
      group: 'root:x:0:\napp:x:1000:\nextra:x:2000:\n',
    });
    return {
      o,
      spec,
      limits,
      writes: cgroupWrites(limits, cgroup.version),
      run: runSummary({ opts, spec, limits } as Parameters<typeof runSummary>[0]),
    };
  } catch (e) {
    if (!(e instanceof MoatError)) throw e;
    return { code: e.code, message: e.message };
  }
}

const mount = (p: Planned, dest: string) => p.spec.mounts.find((m) => m.destination === dest);
const write = (p: Planned, file: string) => p.writes.find((w) => w.file === file);
const MiB = 1024 * 1024;

type Expect =
  | { applied: (p: Planned) => void }
  | { refused: [code: string, message: RegExp] }
  /** Carries nothing moat could apply (the client's own business, or what moat does anyway). */
  | { noop: string };
interface Row {
  field: string;
  /** Config's field, or HostConfig's (the default). */
  config?: boolean;
  value: unknown;
  /** Other fields set with it. */
  with?: Record<string, unknown>;
  cgroup?: CgroupFacts;
  expect: Expect;
}

const refused = (message: RegExp, code = 'API_INVALID_REQUEST'): Expect => ({ refused: [code, message] });
const invalid = (message: RegExp): Expect => refused(message, 'RUNTIME_INVALID_OPTION');
const applied = (check: (p: Planned) => void): Expect => ({ applied: check });

const CONFIG: Row[] = [
  { field: 'Hostname', value: 'web', expect: applied((p) => expect(p.spec.hostname).toBe('web')) },
  { field: 'Domainname', value: 'example.com', expect: refused(/^--domainname is not supported by moat/) },
  {
    field: 'User',
    value: '1000:2000',
    expect: applied((p) => {
      expect(p.spec.process.user).toMatchObject({ uid: 1000, gid: 2000 });
      expect(p.run).toMatchObject({ uid: 1000, gid: 2000 });
    }),
  },
  { field: 'AttachStdin', value: true, expect: { noop: 'the client attaches (OpenStdin keeps it open)' } },
  { field: 'AttachStdout', value: false, expect: { noop: 'the client attaches' } },
  { field: 'AttachStderr', value: false, expect: { noop: 'the client attaches' } },
  {
    // -p sets it too; -P publishes them; landlock-bind=declared allows binding them.
    field: 'ExposedPorts',
    value: { '80/tcp': {} },
    expect: applied((p) => expect(p.o.expose).toEqual(['80/tcp'])),
  },
  {
    field: 'Tty',
    value: true,
    expect: applied((p) => {
      expect(p.o.tty).toBe(true);
      expect(p.spec.process.terminal).toBe(true);
    }),
  },
  { field: 'OpenStdin', value: true, expect: applied((p) => expect(p.o.interactive).toBe(true)) },
  {
    field: 'StdinOnce',
    value: true,
    expect: { noop: "the first attached client's end of stdin is the container's (without -t) anyway" },
  },
  { field: 'Env', value: ['A=1'], expect: applied((p) => expect(p.spec.process.env).toContain('A=1')) },
  {
    field: 'Cmd',
    value: ['echo', 'hi'],
    expect: applied((p) => expect(p.spec.process.args).toEqual(['echo', 'hi'])),
  },
  {
    field: 'Healthcheck',
    value: { Test: ['CMD', 'true'], Interval: 5e9, Retries: 2 },
    expect: applied((p) => expect(p.o.health).toEqual({ test: ['CMD', 'true'], interval: 5000, retries: 2 })),
  },
  {
    field: 'Healthcheck',
    value: { Test: ['NONE'] },
    expect: applied((p) => expect(p.o.health).toEqual({ test: ['NONE'] })),
  },
  {
    field: 'ArgsEscaped',
    value: true,
    expect: refused(/^ArgsEscaped is not supported by moat: a Windows option/),
  },
  {
    field: 'Image',
    value: 'moat/other',
    expect: applied((p) => expect(p.spec.annotations['io.moat.image']).toBe('moat/other')),
  },
  {
    field: 'Volumes',
    value: { '/data': {} },
    // docker's -v /data: an anonymous volume, named by planning.
    expect: applied((p) =>
      expect(p.o.volumes).toEqual([
        { host: '', container: '/data', readonly: false, volume: '', anonymous: true },
      ]),
    ),
  },
  { field: 'WorkingDir', value: '/srv', expect: applied((p) => expect(p.spec.process.cwd).toBe('/srv')) },
  {
    field: 'Entrypoint',
    value: ['/bin/echo'],
    expect: applied((p) => expect(p.spec.process.args).toEqual(['/bin/echo', 'true'])),
  },
  {
    field: 'NetworkDisabled',
    value: true,
    expect: applied((p) => {
      expect(p.spec.linux.namespaces).toContainEqual({ type: 'network' });
      expect(p.run.network_mode).toBe('none');
    }),
  },
  { field: 'OnBuild', value: ['RUN true'], expect: { noop: 'a build trigger' } },
  { field: 'Labels', value: { a: 'b' }, expect: applied((p) => expect(p.o.labels).toEqual({ a: 'b' })) },
  { field: 'StopSignal', value: 'SIGINT', expect: refused(/^--stop-signal is not supported/) },
  { field: 'StopSignal', value: 'SIGTERM', expect: { noop: 'what moat stop sends' } },
  { field: 'StopTimeout', value: 5, expect: refused(/^--stop-timeout is not supported/) },
  { field: 'Shell', value: ['/bin/bash', '-c'], expect: { noop: 'used by builds only, as under Docker' } },
  // Before API 1.44 the MAC address was Config's.
  { field: 'MacAddress', value: '02:42:ac:11:00:02', expect: refused(/^--mac-address is not supported/) },
].map((r) => ({ ...r, config: true }));

const HOSTCONFIG: Row[] = [
  { field: 'CpuShares', value: 512, expect: refused(/^--cpu-shares is not supported by moat: use --cpus/) },
  {
    field: 'Memory',
    value: 64 * MiB,
    expect: applied((p) => {
      expect(p.limits.memory).toBe(64 * MiB);
      expect(write(p, 'memory.limit_in_bytes')?.value).toBe(String(64 * MiB));
      // No swap beyond it unless --memory-swap says otherwise.
      expect(write(p, 'memory.memsw.limit_in_bytes')).toMatchObject({
        value: String(64 * MiB),
        optional: true,
      });
      expect(p.run.limits).toMatchObject({ memory: 64 * MiB });
    }),
  },
  { field: 'CgroupParent', value: 'mine', expect: refused(/^--cgroup-parent is not supported/) },
  { field: 'BlkioWeight', value: 500, expect: refused(/^--blkio-weight is not supported/) },
  {
    field: 'BlkioWeightDevice',
    value: [{ Path: '/dev/sda', Weight: 10 }],
    expect: refused(/^--blkio-weight-device is not supported/),
  },
  {
    field: 'BlkioDeviceReadBps',
    value: [{ Path: '/dev/sda', Rate: 1 }],
    expect: refused(/^--device-read-bps/),
  },
  {
    field: 'BlkioDeviceWriteBps',
    value: [{ Path: '/dev/sda', Rate: 1 }],
    expect: refused(/^--device-write-bps/),
  },
  {
    field: 'BlkioDeviceReadIOps',
    value: [{ Path: '/dev/sda', Rate: 1 }],
    expect: refused(/^--device-read-iops/),
  },
  {
    field: 'BlkioDeviceWriteIOps',
    value: [{ Path: '/dev/sda', Rate: 1 }],
    expect: refused(/^--device-write-iops/),
  },
  {
    field: 'CpuPeriod',
    value: 50_000,
    with: { CpuQuota: 25_000 },
    expect: applied((p) => {
      expect(p.writes.filter((w) => w.controller === 'cpu')).toEqual([
        { controller: 'cpu', file: 'cpu.cfs_period_us', value: '50000' },
        { controller: 'cpu', file: 'cpu.cfs_quota_us', value: '25000' },
      ]);
      expect(p.run.limits).toMatchObject({ cpuPeriod: 50_000, cpuQuota: 25_000 });
    }),
  },
  {
    field: 'CpuPeriod',
    value: 500,
    expect: invalid(/^invalid --cpu-period 500: the CFS period is from 1ms/),
  },
  {
    field: 'CpuQuota',
    value: 50_000,
    expect: applied((p) => {
      expect(write(p, 'cpu.cfs_period_us')?.value).toBe('100000');
      expect(write(p, 'cpu.cfs_quota_us')?.value).toBe('50000');
      expect(p.run.limits).toMatchObject({ cpuQuota: 50_000 });
    }),
  },
  {
    field: 'CpuQuota',
    value: 500,
    expect: invalid(/^invalid --cpu-quota 500: the CFS quota cannot be less than 1ms/),
  },
  {
    field: 'CpuQuota',
    value: 50_000,
    with: { NanoCpus: 500_000_000 },
    expect: invalid(/^conflicting options: --cpus and --cpu-quota cannot both be set/),
  },
  { field: 'CpuRealtimePeriod', value: 1000, expect: refused(/^--cpu-rt-period is not supported/) },
  { field: 'CpuRealtimeRuntime', value: 1000, expect: refused(/^--cpu-rt-runtime is not supported/) },
  {
    field: 'CpusetCpus',
    value: '0',
    expect: refused(
      /^cannot enforce --cpuset-cpus: no cgroup v1 cpuset subtree is delegated/,
      'RUNTIME_LIMIT_UNSUPPORTED',
    ),
  },
  {
    field: 'CpusetCpus',
    value: '0-1',
    cgroup: WITH_CPUSET,
    expect: applied((p) => {
      expect(write(p, 'cpuset.cpus')).toEqual({ controller: 'cpuset', file: 'cpuset.cpus', value: '0-1' });
      expect(p.run.limits).toMatchObject({ cpusetCpus: '0-1' });
    }),
  },
  { field: 'CpusetCpus', value: '1-0', cgroup: WITH_CPUSET, expect: invalid(/^invalid --cpuset-cpus "1-0"/) },
  { field: 'CpusetMems', value: '0', expect: refused(/^--cpuset-mems is not supported/) },
  { field: 'Devices', value: [{ PathOnHost: '/dev/kvm' }], expect: refused(/^--device is not supported/) },
  {
    field: 'DeviceCgroupRules',
    value: ['c 1:3 rwm'],
    expect: refused(/^--device-cgroup-rule is not supported/),
  },
  { field: 'DeviceRequests', value: [{ Count: -1 }], expect: refused(/^--gpus is not supported/) },
  { field: 'MemoryReservation', value: 32 * MiB, expect: refused(/^--memory-reservation is not supported/) },
  {
    field: 'MemorySwap',
    value: 128 * MiB,
    with: { Memory: 64 * MiB },
    expect: applied((p) => {
      // Not optional: a host without swap accounting refuses it at the start instead of dropping it.
      expect(write(p, 'memory.memsw.limit_in_bytes')).toEqual({
        controller: 'memory',
        file: 'memory.memsw.limit_in_bytes',
        value: String(128 * MiB),
        optional: false,
      });
      expect(p.run.limits).toMatchObject({ memory: 64 * MiB, memorySwap: 128 * MiB });
    }),
  },
  {
    field: 'MemorySwap',
    value: -1,
    with: { Memory: 64 * MiB },
    expect: applied((p) => {
      expect(write(p, 'memory.memsw.limit_in_bytes')).toBeUndefined();
      expect(p.run.limits).toMatchObject({ memorySwap: -1 });
    }),
  },
  { field: 'MemorySwap', value: 128 * MiB, expect: invalid(/^--memory-swap needs --memory/) },
  {
    field: 'MemorySwap',
    value: 32 * MiB,
    with: { Memory: 64 * MiB },
    expect: invalid(/^--memory-swap 33554432 is below --memory 67108864/),
  },
  { field: 'MemorySwappiness', value: 10, expect: refused(/^--memory-swappiness is not supported/) },
  {
    field: 'NanoCpus',
    value: 500_000_000,
    expect: applied((p) => {
      expect(write(p, 'cpu.cfs_quota_us')?.value).toBe('50000');
      expect(p.run.limits).toMatchObject({ cpus: 0.5 });
    }),
  },
  { field: 'OomKillDisable', value: true, expect: refused(/^--oom-kill-disable is not supported/) },
  { field: 'Init', value: true, expect: applied((p) => expect(p.spec.process.args[0]).toBe('/dev/init')) },
  {
    field: 'PidsLimit',
    value: 100,
    expect: applied((p) => {
      expect(write(p, 'pids.max')?.value).toBe('100');
      expect(p.run.limits).toMatchObject({ pids: 100 });
    }),
  },
  {
    field: 'Ulimits',
    value: [{ Name: 'core', Soft: 1000, Hard: 1000 }],
    expect: applied((p) => {
      expect(p.spec.process.rlimits).toContainEqual({ type: 'RLIMIT_CORE', soft: 1000, hard: 1000 });
      // Raising core is what the policy may judge.
      expect(p.run.ulimits).toEqual([{ name: 'core', soft: 1000, hard: 1000 }]);
    }),
  },
  {
    field: 'Ulimits',
    value: [{ Name: '__proto__', Soft: 1, Hard: 1 }],
    expect: invalid(/^invalid ulimit name "__proto__"/),
  },
  {
    field: 'Ulimits',
    value: [{ Name: 'nofile', Soft: 20, Hard: 10 }],
    expect: invalid(/soft must be ≤ hard/),
  },
  { field: 'CpuCount', value: 2, expect: refused(/^--cpu-count is not supported by moat: a Windows option/) },
  { field: 'CpuPercent', value: 50, expect: refused(/^--cpu-percent is not supported/) },
  { field: 'IOMaximumIOps', value: 100, expect: refused(/^--io-maxiops is not supported/) },
  { field: 'IOMaximumBandwidth', value: 100, expect: refused(/^--io-maxbandwidth is not supported/) },
  {
    field: 'Binds',
    value: ['/srv/data:/data:ro'],
    expect: applied((p) => {
      expect(mount(p, '/data')).toMatchObject({ type: 'bind', source: '/srv/data' });
      expect(mount(p, '/data')?.options).toContain('ro');
      expect(p.run.mounts).toEqual([
        { type: 'bind', source: '/srv/data', raw_source: '/srv/data', destination: '/data', readonly: true },
      ]);
    }),
  },
  { field: 'ContainerIDFile', value: '/tmp/cid', expect: { noop: 'written by the client' } },
  {
    field: 'LogConfig',
    value: { Type: 'json-file', Config: {} },
    expect: { noop: "Docker's default (--log-opt: logs)" },
  },
  { field: 'NetworkMode', value: 'host', expect: refused(/^--network=host is not supported/) },
  { field: 'NetworkMode', value: 'none', expect: { noop: 'each container has loopback only' } },
  {
    field: 'PortBindings',
    value: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '0.0.0.0', HostPort: '' }] },
    expect: applied((p) => {
      // docker run -p 8080:80 -p 0.0.0.0::53/udp: loopback unless an address is given.
      expect(p.o.ports).toEqual([
        { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
        { hostIp: '0.0.0.0', hostPort: 0, containerPort: 53, protocol: 'udp' },
      ]);
      expect(p.run.ports).toEqual([
        { host_ip: '127.0.0.1', host_port: 8080, container_port: 80, protocol: 'tcp' },
        { host_ip: '0.0.0.0', host_port: 0, container_port: 53, protocol: 'udp' },
      ]);
    }),
  },
  { field: 'NetworkMode', value: 'pasta', expect: applied((p) => expect(p.o.network).toBe('pasta')) },
  // A user-defined network (moat network create): whether it exists is checked at create.
  { field: 'NetworkMode', value: 'mynet', expect: applied((p) => expect(p.o.network).toBe('mynet')) },
  {
    field: 'NetworkMode',
    value: 'container:db',
    expect: applied((p) => expect(p.o.network).toBe('container:db')),
  },
  {
    field: 'RestartPolicy',
    value: { Name: 'on-failure', MaximumRetryCount: 3 },
    expect: applied((p) => expect(p.o.restart).toEqual({ name: 'on-failure', maxRetries: 3 })),
  },
  { field: 'AutoRemove', value: true, expect: applied((p) => expect(p.o.rm).toBe(true)) },
  { field: 'VolumeDriver', value: 'local', expect: { noop: "moat's volumes are local" } },
  { field: 'VolumeDriver', value: 'nfs', expect: refused(/^--volume-driver is not supported/) },
  {
    field: 'VolumesFrom',
    value: ['other:ro'],
    expect: applied((p) => expect(p.o.volumesFrom).toEqual(['other:ro'])),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'bind', Source: '/srv/data', Target: '/data', ReadOnly: true }],
    expect: applied((p) => {
      // The same bind as -v /srv/data:/data:ro, with the same facts for the policy.
      expect(mount(p, '/data')).toEqual({
        destination: '/data',
        type: 'bind',
        source: '/srv/data',
        options: ['rbind', 'rprivate', 'nosuid', 'nodev', 'ro'],
      });
      expect(p.run.mounts).toEqual([
        { type: 'bind', source: '/srv/data', raw_source: '/srv/data', destination: '/data', readonly: true },
      ]);
    }),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: MiB, Mode: 0o1777 } }],
    expect: applied((p) => {
      expect(mount(p, '/scratch')).toEqual({
        destination: '/scratch',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', `size=${MiB}`, 'mode=1777'],
      });
      expect(p.run.tmpfs).toEqual(['/scratch']);
    }),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'volume', Source: 'data', Target: '/data', VolumeOptions: { NoCopy: true } }],
    expect: applied((p) => {
      // A named volume: planning gives it its directory (volumes/plan.ts), never the request.
      expect(p.o.volumes).toEqual([
        { host: '', container: '/data', readonly: false, volume: 'data', nocopy: true },
      ]);
      expect(p.run.mounts).toEqual([
        expect.objectContaining({ type: 'volume', name: 'data', raw_source: 'data', destination: '/data' }),
      ]);
    }),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'volume', Source: '/etc', Target: '/data' }],
    expect: invalid(/^invalid volume name "\/etc"/),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'volume', Source: 'data', Target: '/data', VolumeOptions: { Subpath: 'x' } }],
    expect: refused(/^--mount with VolumeOptions.Subpath is not supported/),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'tmpfs', Target: '/x', TmpfsOptions: { Options: [['suid']] } }],
    expect: invalid(/^tmpfs option "suid" in "\/x:suid" is refused: moat mounts every tmpfs nosuid/),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'bind', Source: '/srv', Target: '/srv', BindOptions: { Propagation: 'rshared' } }],
    expect: invalid(/^--mount bind-propagation=rshared is not supported by moat/),
  },
  {
    field: 'Mounts',
    value: [{ Type: 'bind', Source: '/srv/data', Target: '/data' }],
    with: { Binds: ['/srv/other:/data'] },
    expect: invalid(/^duplicate mount point: \/data/),
  },
  { field: 'ConsoleSize', value: [24, 80], expect: { noop: "the client's terminal" } },
  { field: 'Annotations', value: { a: 'b' }, expect: refused(/^--annotation is not supported/) },
  {
    field: 'CapAdd',
    value: ['NET_RAW'],
    expect: applied((p) => {
      expect(p.spec.process.capabilities.bounding).toEqual(['CAP_NET_RAW']);
      expect(p.run.cap_add).toEqual(['NET_RAW']);
    }),
  },
  { field: 'CapDrop', value: ['ALL'], expect: { noop: 'every capability is dropped anyway' } },
  { field: 'CgroupnsMode', value: 'host', expect: refused(/^--cgroupns=host is not supported/) },
  { field: 'CgroupnsMode', value: 'private', expect: { noop: 'each container has its own' } },
  { field: 'Dns', value: ['192.0.2.53'], expect: applied((p) => expect(p.o.dns).toEqual(['192.0.2.53'])) },
  { field: 'DnsOptions', value: ['ndots:1'], expect: refused(/^--dns-option is not supported/) },
  { field: 'DnsSearch', value: ['example.com'], expect: refused(/^--dns-search is not supported/) },
  {
    field: 'ExtraHosts',
    value: ['db:10.0.0.2'],
    expect: applied((p) => expect(p.o.addHosts).toEqual(['db:10.0.0.2'])),
  },
  { field: 'ExtraHosts', value: ['db'], expect: invalid(/^--add-host db: expected NAME:IP/) },
  {
    field: 'GroupAdd',
    value: ['3000', 'extra'],
    expect: applied((p) => {
      expect(p.spec.process.user.additionalGids).toEqual([3000, 2000]);
      expect(p.run.group_add).toEqual(['3000', 'extra']);
    }),
  },
  {
    field: 'GroupAdd',
    value: ['nosuch'],
    expect: invalid(/--group-add nosuch: no such group in the image's \/etc\/group/),
  },
  { field: 'GroupAdd', value: ['70000'], expect: invalid(/--group-add 70000: group 70000 is not mapped/) },
  { field: 'IpcMode', value: 'host', expect: refused(/^--ipc=host is not supported/) },
  {
    field: 'IpcMode',
    value: 'container:db',
    expect: refused(/^--ipc=container:db is not supported by moat: containers do not share namespaces/),
  },
  { field: 'IpcMode', value: 'private', expect: { noop: 'each container has its own' } },
  { field: 'Cgroup', value: 'container:db', expect: refused(/^a shared cgroup is not supported/) },
  { field: 'Links', value: ['db:db'], expect: refused(/^--link is not supported/) },
  {
    field: 'OomScoreAdj',
    value: 500,
    expect: applied((p) => {
      expect(p.spec.process.oomScoreAdj).toBe(500);
      expect(p.run.oom_score_adj).toBe(500);
    }),
  },
  {
    field: 'OomScoreAdj',
    value: -500,
    expect: invalid(/^--oom-score-adj -500 is refused: a rootless container can only raise/),
  },
  { field: 'PidMode', value: 'host', expect: refused(/^--pid=host is not supported/) },
  {
    field: 'PidMode',
    value: 'container:db',
    expect: refused(/^--pid=container:db is not supported by moat: containers do not share namespaces/),
  },
  { field: 'Privileged', value: true, expect: refused(/^--privileged is not supported/) },
  { field: 'PublishAllPorts', value: true, expect: applied((p) => expect(p.o.publishAll).toBe(true)) },
  { field: 'ReadonlyRootfs', value: true, expect: applied((p) => expect(p.spec.root.readonly).toBe(true)) },
  {
    field: 'SecurityOpt',
    value: ['seccomp=unconfined'],
    expect: refused(/^--security-opt seccomp=unconfined is not supported/),
  },
  {
    field: 'SecurityOpt',
    value: ['apparmor=unconfined'],
    expect: applied((p) => {
      expect(p.o.apparmorProfile).toBe('unconfined');
      expect(p.run.apparmor_profile).toBe('unconfined');
    }),
  },
  {
    // A loaded profile by name: the engine checks it is loaded (plan.ts apparmorFor).
    field: 'SecurityOpt',
    value: ['apparmor=moat-web'],
    expect: applied((p) => expect(p.o.apparmorProfile).toBe('moat-web')),
  },
  {
    field: 'SecurityOpt',
    value: ['apparmor=../../etc/x'],
    expect: invalid(/^invalid --security-opt apparmor=\.\.\/\.\.\/etc\/x: not a profile name/),
  },
  {
    field: 'SecurityOpt',
    value: ['landlock-bind=8080,80', 'landlock-connect=none'],
    expect: applied((p) => {
      expect(p.o.landlockBind).toEqual([80, 8080]);
      expect(p.o.landlockConnect).toEqual([]);
    }),
  },
  {
    field: 'SecurityOpt',
    value: ['landlock-bind=80x'],
    expect: refused(
      /^invalid --security-opt landlock-bind=80x: "80x" is not a port number/,
      'RUNTIME_INVALID_OPTION',
    ),
  },
  {
    field: 'SecurityOpt',
    value: ['no-new-privileges'],
    expect: applied((p) => expect(p.spec.process.noNewPrivileges).toBe(true)),
  },
  { field: 'StorageOpt', value: { size: '1G' }, expect: refused(/^--storage-opt is not supported/) },
  {
    field: 'Tmpfs',
    value: { '/run': 'size=1m,exec' },
    expect: applied((p) => {
      expect(mount(p, '/run')?.options).toEqual(['nosuid', 'nodev', 'size=1m', 'exec']);
      expect(p.run.tmpfs_mounts).toEqual([
        { destination: '/run', options: ['nosuid', 'nodev', 'size=1m', 'exec'], exec: true },
      ]);
    }),
  },
  {
    field: 'Tmpfs',
    value: { '/x': 'suid' },
    expect: invalid(/^tmpfs option "suid" in "\/x:suid" is refused: moat mounts every tmpfs nosuid/),
  },
  { field: 'Tmpfs', value: { '/x': 'dev' }, expect: invalid(/^tmpfs option "dev" in "\/x:dev" is refused/) },
  { field: 'UTSMode', value: 'host', expect: refused(/^--uts=host is not supported/) },
  { field: 'UsernsMode', value: 'host', expect: refused(/^--userns=host is not supported/) },
  {
    field: 'ShmSize',
    value: 128 * MiB,
    expect: applied((p) => {
      expect(mount(p, '/dev/shm')?.options).toContain('size=131072k');
      expect(p.run.shm_size).toBe(128 * MiB);
    }),
  },
  {
    field: 'Sysctls',
    value: { 'net.ipv4.ping_group_range': '0 1000', 'kernel.shmmax': '65536', 'fs.mqueue.msg_max': '20' },
    expect: applied((p) => {
      const want = {
        'net.ipv4.ping_group_range': '0 1000',
        'kernel.shmmax': '65536',
        'fs.mqueue.msg_max': '20',
      };
      expect(p.spec.linux.sysctl).toMatchObject(want);
      expect(p.run.sysctls).toMatchObject(want);
    }),
  },
  {
    field: 'Sysctls',
    value: { 'kernel.core_pattern': '|/tmp/x' },
    expect: invalid(/^--sysctl kernel.core_pattern is refused: it is not namespaced/),
  },
  {
    field: 'Sysctls',
    value: { 'vm.swappiness': '1' },
    expect: invalid(/^--sysctl vm.swappiness is refused: it is not namespaced/),
  },
  {
    field: 'Sysctls',
    value: { 'kernel.hostname': 'x' },
    expect: invalid(/^--sysctl kernel.hostname is refused: .*--hostname/),
  },
  { field: 'Runtime', value: 'kata', expect: refused(/^--runtime is not supported/) },
  { field: 'Runtime', value: 'runc', expect: { noop: 'what moat runs' } },
  { field: 'Isolation', value: 'hyperv', expect: refused(/^--isolation is not supported/) },
  {
    field: 'MaskedPaths',
    value: ['/proc/kcore'],
    expect: refused(/^--security-opt systempaths=unconfined is not supported/),
  },
  {
    field: 'ReadonlyPaths',
    value: ['/proc/sys'],
    expect: refused(/^--security-opt systempaths=unconfined is not supported/),
  },
  // Before API 1.42 and gone since: refused when set.
  { field: 'KernelMemory', value: 64 * MiB, expect: refused(/^--kernel-memory is not supported/) },
];

const ROWS = [...CONFIG, ...HOSTCONFIG];
const label = (r: Row) => `${r.config ? '' : 'HostConfig.'}${r.field}=${JSON.stringify(r.value)}`;

describe("Docker's create body: every field applied or refused", () => {
  it('has a row for every field of ContainerConfig and HostConfig in moby’s swagger', () => {
    const covered = (config: boolean) =>
      new Set(ROWS.filter((r) => Boolean(r.config) === config).map((r) => r.field));
    expect(FIELDS.ContainerConfig.filter((f) => !covered(true).has(f))).toEqual([]);
    expect(FIELDS.HostConfig.filter((f) => !covered(false).has(f))).toEqual([]);
  });

  it('what the docker CLI sends by default plans as moat’s defaults', () => {
    const p = plan(plain());
    if (!('spec' in p)) throw new Error(p.message);
    expect(p.o).toMatchObject({ image: 'moat/busybox', cmd: ['true'], volumes: [], tmpfs: [], ulimits: [] });
    expect(
      p.o.shmSize ?? p.o.cpuQuota ?? p.o.memorySwap ?? p.o.groupAdd ?? p.o.sysctls ?? p.o.oomScoreAdj,
    ).toBeUndefined();
    expect(mount(p, '/dev/shm')?.options).toContain('size=65536k');
    expect(p.run).toMatchObject({
      shm_size: 64 * MiB,
      oom_score_adj: 0,
      group_add: [],
      ulimits: [],
      tmpfs_mounts: [],
    });
  });

  for (const r of ROWS) {
    it(label(r), () => {
      const b = plain();
      const at = r.config ? (b as Record<string, unknown>) : b.HostConfig;
      at[r.field] = r.value;
      Object.assign(b.HostConfig, r.with ?? {});
      const p = plan(b, r.cgroup);
      const e = r.expect;
      if ('refused' in e) {
        expect('code' in p ? { code: p.code, message: p.message } : 'applied').toMatchObject({
          code: e.refused[0],
        });
        expect((p as { message: string }).message).toMatch(e.refused[1]);
        return;
      }
      if (!('spec' in p)) throw new Error(`refused: ${p.code} ${p.message}`);
      if ('applied' in e) e.applied(p);
    });
  }
});
