/**
 * The options of `run` and `create` (also taken by `seccomp learn` and `apparmor generate`): the
 * flags, docker's spelling, and their translation into the RunOptions body the router validates.
 */
import { Option, type Command } from 'commander';
import * as path from 'node:path';
import {
  defaultRunOptions,
  parseBytes,
  parseCpus,
  parseInteger,
  parseMemorySwap,
  parsePositiveInt,
  parseSecurityOpt,
  parseSysctl,
  parseTmpfs,
  parseUlimit,
  parseVolume,
  type RunOptions,
} from '../runtime/options.js';
import { logOptsFromFlags, parseLogOptions } from '../runtime/logs/config.js';
import { mountToRunOptions, parseMount } from '../runtime/mount-option.js';
import { UsageError } from './errors.js';
import { parseRestart } from '../runtime/restart.js';
import { parseDuration, type HealthOptions } from '../runtime/health/config.js';
import { parseExpose, parsePublish } from '../runtime/network/ports.js';

export const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'name the container')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <uid[:gid]>', 'run as this user (numeric, or a name from the image)')
    .option('--entrypoint <cmd>', 'override the image entrypoint ("" clears it)')
    .option(
      '-v, --volume <spec>',
      'mount a host path (/host:/ctr[:ro]), a named volume (NAME:/ctr[:ro], created on first use) or an anonymous volume (/ctr) (repeatable)',
      collect,
      [],
    )
    .option(
      '--volumes-from <container[:ro|:rw]>',
      "mount another container's volumes and binds on the same paths (repeatable)",
      collect,
      [],
    )
    .option('--tmpfs <path[:opts]>', 'mount a tmpfs (repeatable)', collect, [])
    .option(
      '--mount <spec>',
      'type=bind,source=/host,target=/path[,readonly], type=volume[,source=NAME],target=/path[,readonly,volume-nocopy] or type=tmpfs,target=/path[,tmpfs-size=64m,tmpfs-mode=1777] (repeatable)',
      collect,
      [],
    )
    .option(
      '--read-write',
      'make the root filesystem writable (default: read-only, with tmpfs on /tmp and /run)',
    )
    .option('--cap-add <cap>', 'grant a capability; none are granted by default (repeatable)', collect, [])
    .option('-m, --memory <bytes>', 'memory limit, e.g. 32m (needs a delegated memory cgroup)')
    .option(
      '--pids-limit <n>',
      'process limit; -1 for none (default 2048: pids cgroup where delegated, else RLIMIT_NPROC per container user)',
    )
    .option('--cpus <n>', 'CPU limit, e.g. 0.5 (needs a delegated cpu cgroup)')
    .option('--cpu-quota <us>', 'CFS quota: microseconds of CPU per period (cpu cgroup; not with --cpus)')
    .option('--cpu-period <us>', 'CFS period in microseconds (default 100000; not with --cpus)')
    .option('--cpuset-cpus <list>', 'CPUs to run on, e.g. 0-1,3 (needs a delegated cpuset cgroup)')
    .option(
      '--memory-swap <bytes>',
      'memory plus swap, e.g. 1g, or -1 for unlimited (with --memory; default: no swap)',
    )
    .option('--shm-size <bytes>', 'size of /dev/shm (default 64m)')
    .option(
      '--group-add <group>',
      'add a supplementary group: a GID or a group of the image (repeatable)',
      collect,
      [],
    )
    .option(
      '--sysctl <key=value>',
      'set a namespaced sysctl: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* (repeatable)',
      collect,
      [],
    )
    .option('--oom-score-adj <n>', 'OOM score adjustment, 0 to 1000 (a rootless container can only raise it)')
    .option('--ulimit <name=soft[:hard]>', 'set an rlimit (repeatable)', collect, [])
    .option('--init', 'run tini as PID 1 to reap zombies and forward signals')
    .option('-i, --interactive', 'keep stdin open and pass it to the container')
    .option(
      '-t, --tty',
      'give the container a terminal (with -i: yours, in raw mode; detach with Ctrl-P Ctrl-Q)',
    )
    .option('--hostname <name>', 'container hostname (default: the name or the short ID)')
    .option(
      '--health-cmd <command>',
      'a health check: a shell command run in the container (exit 0: healthy)',
    )
    .option('--health-interval <duration>', "time between checks (default 30s, or the image's)")
    .option('--health-timeout <duration>', 'a check running longer fails (default 30s)')
    .option('--health-retries <n>', 'failures in a row that make it unhealthy (default 3)')
    .option(
      '--health-start-period <duration>',
      'failures in this time after a start do not count (default 0s)',
    )
    .option('--no-healthcheck', "no health check, even the image's HEALTHCHECK")
    .option(
      '--health-on-failure <action>',
      'none (default), or kill: an unhealthy container is killed (its restart policy then acts)',
    )
    .option(
      '--restart <policy>',
      'run it again when it ends: no (default), on-failure[:N] (non-zero status, at most N times), always, unless-stopped; moat stop/kill end it for good',
    )
    .option(
      '--security-opt <opt>',
      'seccomp=FILE for a custom seccomp profile; apparmor=NAME for an AppArmor profile loaded on the host (unconfined: none, where moat-default would apply); landlock=off (none) or landlock=strict (refuse to run without it; by default Landlock applies where the kernel has it); landlock-bind=PORTS|declared|none and landlock-connect=PORTS|none: TCP bind/connect only to those ports (Landlock ABI 4; declared: the -p, --expose and image EXPOSE ports; strict implies landlock-bind=declared; UDP is not covered); no-new-privileges is always on (repeatable)',
      collect,
      [],
    )
    .option(
      '--seccomp-learn <file>',
      'a learning run: every system call is let through and recorded; the learned profile is written to FILE when the container ends (see moat seccomp learn)',
    )
    .option(
      '--allow-namespaces',
      'with --seccomp-learn: keep clone/unshare/setns loosened in the learned profile (namespace creation)',
    )
    .option('-l, --label <key=value>', 'set a label (repeatable)', collect, [])
    .option(
      '--network <mode>',
      'none (the default: loopback only); slirp4netns or pasta (outbound access and published ports, user-mode); a network made with `moat network create` (peers by name); container:NAME (share its network)',
    )
    .option(
      '--network-alias <name>',
      'another name peers on its network find it by (repeatable)',
      collect,
      [],
    )
    .addOption(new Option('--net <mode>', 'the same as --network').hideHelp())
    .option(
      '-p, --publish <[ip:][hostPort:]containerPort[/udp]>',
      'publish a port on 127.0.0.1 unless an address is given (implies --network slirp4netns) (repeatable)',
      collect,
      [],
    )
    .option(
      '-P, --publish-all',
      'publish every port the image EXPOSEs (and --expose), each on a free port of 127.0.0.1',
    )
    .option(
      '--expose <port[/tcp|/udp]>',
      "declare a container port without publishing it (-P publishes it; Landlock's landlock-bind=declared allows it) (repeatable)",
      collect,
      [],
    )
    .option(
      '--dns <ip>',
      "a DNS server for /etc/resolv.conf (repeatable; default: the network stack's)",
      collect,
      [],
    )
    .option('--add-host <name:ip>', 'add a line to /etc/hosts (repeatable)', collect, [])
    .option('--log-driver <name>', 'local (the default; json-file is taken as local)')
    .option(
      '--log-opt <key=value>',
      'log rotation: max-size=SIZE (default 20m), max-file=N (default 5) (repeatable)',
      collect,
      [],
    );
}

export interface RunFlags {
  name?: string;
  env: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  volume: string[];
  volumesFrom?: string[];
  network?: string;
  networkAlias?: string[];
  net?: string;
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  dns?: string[];
  addHost?: string[];
  tmpfs: string[];
  readWrite?: boolean;
  capAdd: string[];
  memory?: string;
  pidsLimit?: string;
  cpus?: string;
  mount?: string[];
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  memorySwap?: string;
  shmSize?: string;
  groupAdd?: string[];
  sysctl?: string[];
  oomScoreAdj?: string;
  ulimit: string[];
  init?: boolean;
  interactive?: boolean;
  tty?: boolean;
  restart?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  healthcheck?: boolean;
  healthOnFailure?: string;
  hostname?: string;
  securityOpt: string[];
  seccompLearn?: string;
  allowNamespaces?: boolean;
  label: string[];
  rm?: boolean;
  logDriver?: string;
  logOpt?: string[];
}

/** The --health-* flags (undefined: none given, the image's HEALTHCHECK applies). */
function healthOptions(f: RunFlags): HealthOptions | undefined {
  const h: HealthOptions = {};
  if (f.healthcheck === false) h.none = true;
  if (f.healthCmd !== undefined) h.cmd = f.healthCmd;
  if (f.healthInterval !== undefined) h.interval = parseDuration('--health-interval', f.healthInterval);
  if (f.healthTimeout !== undefined) h.timeout = parseDuration('--health-timeout', f.healthTimeout);
  if (f.healthStartPeriod !== undefined)
    h.startPeriod = parseDuration('--health-start-period', f.healthStartPeriod);
  if (f.healthRetries !== undefined) h.retries = parseInteger(f.healthRetries, '--health-retries');
  if (f.healthOnFailure !== undefined) {
    if (f.healthOnFailure !== 'none' && f.healthOnFailure !== 'kill')
      throw usage(`invalid --health-on-failure "${f.healthOnFailure}"`, 'none or kill');
    h.onFailure = f.healthOnFailure;
  }
  return Object.keys(h).length ? h : undefined;
}

export function usage(msg: string, hint?: string): UsageError {
  return new UsageError(msg, { hint });
}

/** A whole-number value of `command`'s `flag`, or CLI_USAGE naming the flag. */
export function wholeNumber(command: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max)
      throw usage(
        `${flag} "${v}": must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`,
        `moat ${command} --help lists its options`,
      );
    return n;
  };
}

export function toRunOptions(image: string, cmd: string[], f: RunFlags): RunOptions {
  const o = defaultRunOptions(image);
  if (f.name !== undefined) o.name = f.name;
  if (cmd.length) o.cmd = cmd;
  if (f.entrypoint !== undefined) o.entrypoint = f.entrypoint === '' ? [] : [f.entrypoint];
  // `-e VAR` passes on the caller's VAR, and leaves it unset when the caller has none (docker).
  o.env = f.env.flatMap((e) =>
    e.includes('=') ? [e] : process.env[e] !== undefined ? [`${e}=${process.env[e]}`] : [],
  );
  if (f.workdir) o.workdir = f.workdir;
  if (f.user) o.user = f.user;
  if (f.hostname) o.hostname = f.hostname;
  o.volumes = f.volume.map((v) => {
    const spec = parseVolume(v);
    return spec.volume === undefined ? { ...spec, host: path.resolve(spec.host) } : spec;
  });
  if (f.volumesFrom?.length) o.volumesFrom = f.volumesFrom;
  if (f.net !== undefined && f.network === undefined) f.network = f.net;
  if (f.network !== undefined) o.network = f.network;
  if (f.networkAlias?.length) o.networkAliases = f.networkAlias;
  if (f.publish?.length) o.ports = f.publish.map(parsePublish);
  if (f.publishAll) o.publishAll = true;
  if (f.expose?.length) o.expose = f.expose.map(parseExpose);
  if (f.dns?.length) o.dns = f.dns;
  if (f.addHost?.length) o.addHosts = f.addHost;
  o.tmpfs = f.tmpfs.map(parseTmpfs);
  o.readWrite = Boolean(f.readWrite);
  o.capAdd = f.capAdd;
  if (f.memory !== undefined) o.memory = parseBytes(f.memory);
  if (f.pidsLimit !== undefined)
    o.pidsLimit = /^(-1|0)$/.test(f.pidsLimit.trim()) ? -1 : parsePositiveInt(f.pidsLimit, '--pids-limit');
  if (f.cpus !== undefined) o.cpus = parseCpus(f.cpus);
  // --mount: the same binds and tmpfs mounts as -v and --tmpfs (every option checked by the engine).
  for (const m of f.mount ?? []) {
    const r = mountToRunOptions(parseMount(m));
    if ('volume' in r) o.volumes.push(r.volume);
    else o.tmpfs.push(r.tmpfs);
  }
  if (f.cpuQuota !== undefined) {
    const q = parseInteger(f.cpuQuota, '--cpu-quota');
    if (q !== -1) o.cpuQuota = q; // docker's -1: no quota, which is the default
  }
  if (f.cpuPeriod !== undefined) o.cpuPeriod = parseInteger(f.cpuPeriod, '--cpu-period');
  if (f.cpusetCpus !== undefined) o.cpusetCpus = f.cpusetCpus;
  if (f.memorySwap !== undefined) o.memorySwap = parseMemorySwap(f.memorySwap);
  if (f.shmSize !== undefined) o.shmSize = parseBytes(f.shmSize);
  if (f.groupAdd?.length) o.groupAdd = f.groupAdd;
  if (f.sysctl?.length) o.sysctls = Object.fromEntries(f.sysctl.map(parseSysctl));
  if (f.oomScoreAdj !== undefined) o.oomScoreAdj = parseInteger(f.oomScoreAdj, '--oom-score-adj');
  o.ulimits = f.ulimit.map(parseUlimit);
  o.init = Boolean(f.init);
  o.rm = Boolean(f.rm);
  o.interactive = Boolean(f.interactive);
  o.tty = Boolean(f.tty);
  const health = healthOptions(f);
  if (health) o.health = health;
  if (f.restart !== undefined) {
    const policy = parseRestart(f.restart);
    if (policy.name !== 'no') o.restart = policy;
  }
  for (const s of f.securityOpt) {
    const { seccompProfile, apparmorProfile, landlock, landlockBind, landlockConnect } = parseSecurityOpt(s);
    if (seccompProfile !== undefined) o.seccompProfile = path.resolve(seccompProfile);
    if (apparmorProfile !== undefined) o.apparmorProfile = apparmorProfile;
    if (landlock !== undefined) o.landlock = landlock;
    if (landlockBind !== undefined) o.landlockBind = landlockBind;
    if (landlockConnect !== undefined) o.landlockConnect = landlockConnect;
  }
  if (f.seccompLearn !== undefined) o.seccompLearn = path.resolve(f.seccompLearn);
  if (f.allowNamespaces) o.seccompAllowNamespaces = true;
  for (const l of f.label) {
    const i = l.indexOf('=');
    o.labels[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  const log = parseLogOptions(f.logDriver, logOptsFromFlags(f.logOpt ?? []));
  if (log) o.log = log;
  return o;
}
