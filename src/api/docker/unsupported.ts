/**
 * The fields of Docker's create body moat has no counterpart for are refused when they are set,
 * never dropped: `-p` would publish nothing, `--restart` would never restart, `--cpu-shares`
 * would weigh nothing. The docker CLI sends every field, most of them empty; a field counts as
 * set when it holds anything but Docker's default (empty values, zeros, and a few named
 * defaults below).
 */
import { ApiError } from '../errors.js';

/** Config and HostConfig keys that runOptionsFromDocker reads, or that carry nothing for moat. */
const READ = new Set([
  // Config
  'Image',
  'Cmd',
  'Entrypoint',
  'Env',
  'WorkingDir',
  'User',
  'Hostname',
  'Labels',
  'Tty',
  'OpenStdin',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'StdinOnce',
  'HostConfig',
  'OnBuild', // a build-time trigger: nothing to do at run time
  'Shell', // the shell of a Dockerfile's shell forms: used by builds only, as under Docker
  // HostConfig
  'Privileged',
  'PidMode',
  'IpcMode',
  'UsernsMode',
  'UTSMode',
  'CgroupnsMode',
  'Devices',
  'DeviceRequests',
  'SecurityOpt',
  'Memory',
  'NanoCpus',
  'PidsLimit',
  // Applied (create-options.ts), checked with the other run options.
  'Mounts',
  'ShmSize',
  'CpuQuota',
  'CpuPeriod',
  'CpusetCpus',
  'MemorySwap',
  'GroupAdd',
  'Sysctls',
  'OomScoreAdj',
  'Init',
  'AutoRemove',
  'Healthcheck', // Test, Interval, Timeout, Retries, StartPeriod (containers-create.ts)
  'RestartPolicy', // Name and MaximumRetryCount (containers-create.ts); restart.ts runs it
  'CapAdd',
  'CapDrop', // every capability is dropped anyway
  'Binds',
  'NetworkMode', // none, slirp4netns, pasta, a user-defined network, container:NAME (containers-create.ts)
  // The endpoint the CLI names for --network: --network-alias's Aliases are read, --ip,
  // --mac-address, --link and --driver-opt refused (containers-create.ts).
  'NetworkingConfig',
  'PortBindings',
  'PublishAllPorts',
  'ExposedPorts', // -p sets it too; -P publishes the image's EXPOSEd ports
  'Dns',
  'ExtraHosts',
  'Volumes', // {"/path": {}}: anonymous volumes (-v /path), containers-create.ts
  'VolumesFrom',
  'Tmpfs',
  'Ulimits',
  'ReadonlyRootfs', // false is what the CLI always sends; the root stays read-only (README)
  'ConsoleSize', // the client's terminal size
  'LogConfig', // --log-driver local|json-file, --log-opt max-size/max-file
  'ContainerIDFile', // written by the client
]);

/** Docker's defaults that are not empty values. */
const DEFAULTS: Record<string, (v: unknown) => boolean> = {
  MemorySwappiness: (v) => v === undefined || v === null || v === -1,
  // What moat does anyway: runc, Linux's only isolation, no network, no health check
  // (--no-healthcheck), SIGTERM on stop.
  Runtime: (v) => v === undefined || v === null || v === '' || v === 'runc',
  Isolation: (v) => v === undefined || v === '' || v === 'default',
  VolumeDriver: (v) => v === undefined || v === null || v === '' || v === 'local',
  NetworkDisabled: (v) => v === undefined || v === null || typeof v === 'boolean',
  StopSignal: (v) =>
    v === undefined || v === null || v === '' || v === 'SIGTERM' || v === 'TERM' || v === '15',
};

/** The flags users type for the fields refused, and why moat has none. */
const WHY: Record<string, [string, string]> = {
  Links: [
    '--link',
    'put the containers on a user-defined network (docker network create NET; docker run --network NET): they reach each other by name',
  ],
  DnsSearch: ['--dns-search', 'not offered: --dns sets the servers'],
  DnsOptions: ['--dns-option', 'not offered: --dns sets the servers'],
  Domainname: ['--domainname', 'not offered'],
  MacAddress: ['--mac-address', "moat chooses the addresses of a container's links"],
  VolumeDriver: ['--volume-driver', "moat's volumes are local directories (the local driver)"],
  StopSignal: ['--stop-signal', 'moat stop sends SIGTERM, then SIGKILL'],
  StopTimeout: ['--stop-timeout', 'give docker stop -t SECONDS'],
  MemoryReservation: ['--memory-reservation', 'only --memory is offered'],
  MemorySwappiness: ['--memory-swappiness', 'only --memory is offered'],
  KernelMemory: ['--kernel-memory', 'only --memory is offered'],
  OomKillDisable: ['--oom-kill-disable', 'a container at its limit is killed'],
  CpuShares: ['--cpu-shares', 'use --cpus, or --cpu-quota with --cpu-period'],
  CpuRealtimePeriod: ['--cpu-rt-period', 'real-time scheduling is not offered'],
  CpuRealtimeRuntime: ['--cpu-rt-runtime', 'real-time scheduling is not offered'],
  CpuCount: ['--cpu-count', 'a Windows option: use --cpus'],
  CpuPercent: ['--cpu-percent', 'a Windows option: use --cpus'],
  IOMaximumIOps: ['--io-maxiops', 'a Windows option'],
  IOMaximumBandwidth: ['--io-maxbandwidth', 'a Windows option'],
  ArgsEscaped: ['ArgsEscaped', 'a Windows option'],
  Cgroup: ['a shared cgroup', 'each container has its own cgroups'],
  CpusetMems: ['--cpuset-mems', 'not offered'],
  BlkioWeight: ['--blkio-weight', 'block I/O limits are not offered'],
  BlkioWeightDevice: ['--blkio-weight-device', 'block I/O limits are not offered'],
  BlkioDeviceReadBps: ['--device-read-bps', 'block I/O limits are not offered'],
  BlkioDeviceWriteBps: ['--device-write-bps', 'block I/O limits are not offered'],
  BlkioDeviceReadIOps: ['--device-read-iops', 'block I/O limits are not offered'],
  BlkioDeviceWriteIOps: ['--device-write-iops', 'block I/O limits are not offered'],
  Runtime: ['--runtime', 'moat runs runc'],
  Isolation: ['--isolation', 'not offered'],
  CgroupParent: ['--cgroup-parent', 'moat places containers in the cgroups delegated to you'],
  DeviceCgroupRules: ['--device-cgroup-rule', 'device nodes are not passed in'],
  MaskedPaths: ['--security-opt systempaths=unconfined', "moat's masked paths always apply"],
  ReadonlyPaths: ['--security-opt systempaths=unconfined', "moat's read-only paths always apply"],
  StorageOpt: ['--storage-opt', 'not offered'],
  Annotations: ['--annotation', 'not offered'],
};

/**
 * Empty in Docker's sense: no value, false, zero, '', a list of empty values, or a structure
 * (Go field names) of empty values. A map's keys are values themselves (`{"/data": {}}` is an
 * anonymous volume, `{"80/tcp": {}}` an exposed port): a map is empty only without keys.
 */
export function emptyField(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return true;
  if (Array.isArray(v)) return v.every(emptyField);
  if (typeof v === 'object')
    return Object.entries(v).every(([k, x]) => /^[A-Z][A-Za-z0-9]*$/.test(k) && emptyField(x));
  return false;
}

/** Refuse the first field of `config` or its HostConfig that moat would otherwise drop. */
export function refuseUnsupported(config: Record<string, unknown>, host: Record<string, unknown>): void {
  // HostConfig first: -p sets both PortBindings and Config's ExposedPorts, and is named by the former.
  for (const [part, fields] of [
    ['HostConfig.', host],
    ['', config],
  ] as const) {
    for (const [key, value] of Object.entries(fields)) {
      if (READ.has(key)) continue;
      const isDefault = DEFAULTS[key] ?? emptyField;
      if (isDefault(value)) continue;
      const [flag, why] = WHY[key] ?? [`${part}${key}`.slice(0, 60), 'moat does not offer it'];
      throw new ApiError('API_INVALID_REQUEST', `${flag} is not supported by moat: ${why}`, {
        hint: 'drop the option; moat run --help lists what moat offers',
      });
    }
  }
}
