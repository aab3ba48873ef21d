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
import { trustOption } from './sign.js';
import { logOptsFromFlags, parseLogOptions } from '../runtime/logs/config.js';
import { prewarmMonitor } from '../runtime/monitor-client.js';
import { startError } from '../runtime/start-errors.js';
import { mountToRunOptions, parseMount } from '../runtime/mount-option.js';
import { stopBody, killBody, waitBody } from '../api/schemas.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { parseRestart } from '../runtime/restart.js';
import { parseEventTime } from '../runtime/events/filter.js';
import { parseDuration, type HealthOptions } from '../runtime/health/config.js';
import { registerAttach, startAttached } from './attach.js';
import { forEachArg } from './report.js';
import { parseExpose, parsePublish } from '../runtime/network/ports.js';
import { registerPs } from './ps.js';
import { registerLifecycleVerbs } from './lifecycle.js';
import { inspectContainers } from './inspect.js';
import { DEFAULT_DETACH_KEYS, openTerminal } from './terminal/index.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

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

function usage(msg: string, hint?: string): UsageError {
  return new UsageError(msg, { hint });
}

/** A whole-number value of `command`'s `flag`, or CLI_USAGE naming the flag. */
function wholeNumber(command: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
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

const progress = (msg: string) => process.stderr.write(`${msg}\n`);

export function registerContainerCommands(program: Command, state: CliState): void {
  addRunOptions(
    program
      .command('run')
      .description("create and start a container from an image (exit status: the container's)")
      .argument('<image>', 'image name or ID')
      .argument('[command...]', "command and arguments (default: the image's)")
      .option('--rm', 'remove the container when it exits')
      .option('-d, --detach', 'run in the background and print the container ID')
      .option(
        '--detach-keys <keys>',
        `the keys that detach from a terminal (-it), "" for none`,
        DEFAULT_DETACH_KEYS,
      )
      .addOption(trustOption())
      .passThroughOptions(),
  ).action(async (image: string, cmd: string[], f: RunFlags & { detach?: boolean; detachKeys: string }) => {
    // The container's monitor starts now: its start-up overlaps the planning (see monitor-client).
    prewarmMonitor({ attach: !f.detach, stdin: !f.detach && Boolean(f.interactive) });
    const options = toRunOptions(image, cmd, f);
    const term =
      f.tty && !f.detach
        ? openTerminal({ interactive: Boolean(f.interactive), detachKeys: f.detachKeys })
        : undefined;
    let res;
    try {
      res = await request<{
        id: string;
        name: string;
        exitCode?: number;
        error?: string;
        detached?: boolean;
        warnings: string[];
      }>(
        'POST',
        '/containers/run',
        { options, detach: Boolean(f.detach) },
        {
          stdin: term ? term.stdin : process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
          progress,
          ...(term ? { console: term.console } : {}),
        },
      );
    } finally {
      term?.restore();
    }
    for (const w of res.warnings) process.stderr.write(`moat: warning: ${w}\n`);
    if (f.detach) {
      process.stdout.write(`${res.id}\n`);
      return;
    }
    if (res.detached) {
      process.stderr.write(`\r\nmoat: detached from ${res.name}: moat attach ${res.name} to return\r\n`);
      return;
    }
    // The command never ran: runc's reason, as a moat error (once: runc's own line is not shown).
    if (res.error) throw startError(res.error, { kind: 'run', name: res.name, exitCode: res.exitCode });
    if (options.seccompLearn !== undefined)
      await (await import('./seccomp-learned.js')).sayLearned(options.seccompLearn);
    state.exitCode = res.exitCode ?? 125;
  });

  addRunOptions(
    program
      .command('create')
      .description('create a container without starting it; prints its ID')
      .argument('<image>')
      .argument('[command...]')
      .option('--rm', 'remove the container when it exits')
      .addOption(trustOption())
      .passThroughOptions(),
  ).action(async (image: string, cmd: string[], f: RunFlags) => {
    const res = await request<{ id: string; warnings: string[] }>(
      'POST',
      '/containers/create',
      { options: toRunOptions(image, cmd, f) },
      { stdout: process.stdout, stderr: process.stderr, progress },
    );
    for (const w of res.warnings) process.stderr.write(`moat: warning: ${w}\n`);
    process.stdout.write(`${res.id}\n`);
  });

  program
    .command('start')
    .description(
      "start created or stopped containers in the background (-a: attached, as run; its exit status is the container's)",
    )
    .argument('<container...>')
    .option('-a, --attach', "attach to the container's output (and terminal), as run does")
    .option('-i, --interactive', 'attach stdin too (a container created with -i)')
    .option(
      '--detach-keys <keys>',
      'with -a: the keys that detach from a terminal, "" for none',
      DEFAULT_DETACH_KEYS,
    )
    .action(async (ids: string[], f: { attach?: boolean; interactive?: boolean; detachKeys: string }) => {
      if (f.attach || f.interactive) {
        if (ids.length > 1) throw new UsageError('moat start -a starts one container at a time');
        return startAttached(ids[0], f, state);
      }
      await forEachArg(ids, state, async (id) => {
        await request('POST', `/containers/${encodeURIComponent(id)}/start`);
        process.stdout.write(`${id}\n`);
      });
    });

  registerAttach(program, state);
  registerPs(program, state);

  program
    .command('logs')
    .description("print a container's output (stdout and stderr, as they were written)")
    .argument('<container>')
    .option('-f, --follow', 'keep printing until the container exits')
    .option('-t, --timestamps', 'prefix each line with its time')
    .option('--tail <n>', 'only the last n lines (all: every line)', (v: string) =>
      v === 'all' ? undefined : wholeNumber('logs', '--tail', 0)(v),
    )
    .option(
      '--since <time>',
      'only lines from this time: Unix seconds, RFC 3339, or a duration before now (10m)',
    )
    .option('--until <time>', 'only lines up to this time, in the same forms')
    .option(
      '--details',
      "docker's extra log attributes: moat's log driver adds none, so this changes nothing",
    )
    .action(
      async (
        id: string,
        f: { follow?: boolean; timestamps?: boolean; tail?: number; since?: string; until?: string },
      ) => {
        const secs = (flag: string, v: string | undefined) => {
          if (v === undefined) return undefined;
          const ns = parseEventTime(v);
          if (ns === undefined)
            throw usage(
              `invalid ${flag} "${v}"`,
              'give Unix seconds, an RFC 3339 time (2026-12-07T10:00:00Z) or a duration before now (10m)',
            );
          return Number(ns) / 1e9;
        };
        const since = secs('--since', f.since);
        const until = secs('--until', f.until);
        await request(
          'GET',
          `/containers/${encodeURIComponent(id)}/logs`,
          {
            follow: Boolean(f.follow),
            timestamps: Boolean(f.timestamps),
            ...(f.tail !== undefined ? { tail: f.tail } : {}),
            ...(since !== undefined ? { since } : {}),
            ...(until !== undefined ? { until } : {}),
          },
          { stdout: process.stdout, stderr: process.stderr },
        );
      },
    );

  program
    .command('stop')
    .description('stop containers: the stop signal, then SIGKILL after the timeout')
    .argument('<container...>')
    .option(
      '-t, --time <seconds>',
      'seconds to wait before killing',
      wholeNumber('stop', '-t/--time', 0, 86400),
      stopBody.properties.timeout.default,
    )
    .action(async (ids: string[], f: { time: number }) => {
      await forEachArg(ids, state, async (id) => {
        await request('POST', `/containers/${encodeURIComponent(id)}/stop`, { timeout: f.time });
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('kill')
    .description('send a signal to containers (default SIGKILL)')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'signal name or number', killBody.properties.signal.default)
    .action(async (ids: string[], f: { signal: string }) => {
      await forEachArg(ids, state, async (id) => {
        await request('POST', `/containers/${encodeURIComponent(id)}/kill`, { signal: f.signal });
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('rm')
    .description('remove containers and everything they wrote')
    .argument('<container...>')
    .option('-f, --force', 'kill running containers first')
    .option('-v, --volumes', 'remove their anonymous volumes too (named volumes stay)')
    .action(async (ids: string[], f: { force?: boolean; volumes?: boolean }) => {
      await forEachArg(ids, state, async (id) => {
        await request('DELETE', `/containers/${encodeURIComponent(id)}`, {
          force: Boolean(f.force),
          ...(f.volumes ? { volumes: true } : {}),
        });
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('exec')
    .description("run a command in a running container (exit status: the command's)")
    .argument('<container>')
    .argument('<command...>')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .option('-u, --user <user[:group]>', "run as this user: a UID or a name from the container's /etc/passwd")
    .option('-w, --workdir <dir>', 'working directory')
    .option('-i, --interactive', 'pass stdin to the command')
    .option(
      '-t, --tty',
      'give the command a terminal (with -i: yours, in raw mode; detach with Ctrl-P Ctrl-Q)',
    )
    .option('--detach-keys <keys>', 'with -it: the keys that detach, "" for none', DEFAULT_DETACH_KEYS)
    .passThroughOptions()
    .action(
      async (
        id: string,
        cmd: string[],
        f: {
          env: string[];
          user?: string;
          workdir?: string;
          interactive?: boolean;
          tty?: boolean;
          detachKeys: string;
        },
      ) => {
        const term = f.tty
          ? openTerminal({ interactive: Boolean(f.interactive), detachKeys: f.detachKeys })
          : undefined;
        let res;
        try {
          res = await request<{ exitCode: number }>(
            'POST',
            `/containers/${encodeURIComponent(id)}/exec`,
            {
              cmd,
              env: f.env,
              ...(f.user ? { user: f.user } : {}),
              ...(f.workdir ? { workdir: f.workdir } : {}),
              interactive: Boolean(f.interactive),
              tty: Boolean(f.tty),
            },
            {
              stdin: term ? term.stdin : process.stdin,
              stdout: process.stdout,
              stderr: process.stderr,
              ...(term ? { console: term.console } : {}),
            },
          );
        } finally {
          term?.restore();
        }
        state.exitCode = res.exitCode;
      },
    );

  program
    .command('inspect')
    .description("show containers in detail (JSON: moat's record and docker's shape)")
    .argument('<container...>')
    .option('-f, --format <template>', "a Go template over that JSON, e.g. '{{.State.ExitCode}}'")
    .option(
      '--security',
      'what protects it instead: user namespace map, capabilities, no_new_privs, seccomp, AppArmor, read-only and masked paths, namespaces, mounts, limits; checked against its running process',
    )
    .action(async (ids: string[], f: { format?: string; security?: boolean }) =>
      inspectContainers(ids, f, state),
    );

  program
    .command('wait')
    .description('wait for containers to stop; prints each exit status')
    .argument('<container...>')
    .addOption(
      new Option(
        '--condition <condition>',
        'not-running (default): until it is not running; next-exit: until it next exits (a created one first runs); removed: until it is removed',
      ).choices(waitBody.properties.condition.enum),
    )
    .action(async (ids: string[], f: { condition?: 'not-running' | 'next-exit' | 'removed' }) => {
      await forEachArg(ids, state, async (id) => {
        const r = await request<{ exitCode?: number }>(
          'POST',
          `/containers/${encodeURIComponent(id)}/wait`,
          f.condition ? { condition: f.condition } : {},
        );
        // a container that never ran has no status: 0, as docker's API answers
        process.stdout.write(`${r.exitCode ?? 0}\n`);
      });
    });
  registerLifecycleVerbs(program, state);
}
