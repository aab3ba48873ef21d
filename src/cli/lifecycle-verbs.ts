/**
 * pause, unpause, rename, update, restart, port: one request per container, each decided by the
 * policy, printed as docker prints them (the names given; a failure does not stop the others).
 */
import type { Command } from 'commander';
import {
  parseBytes,
  parseCpus,
  parseInteger,
  parseMemorySwap,
  parsePositiveInt,
} from '../runtime/options.js';
import type { LimitUpdate } from '../runtime/update.js';
import { stopBody } from '../api/schemas.js';
import { portLine, type PortSpec } from '../runtime/network/ports.js';
import { RuntimeError } from '../runtime/errors.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { forEachArg } from './report.js';

const at = (id: string, verb: string) => `/containers/${encodeURIComponent(id)}/${verb}`;

export function pauseCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description(
      'freeze every process of running containers (their freezer cgroup: needs one delegated to you; moat info shows it)',
    )
    .argument('<container...>')
    .action(async (ids: string[]) => {
      await forEachArg(ids, state, async (id) => {
        await request('POST', at(id, 'pause'));
        process.stdout.write(`${id}\n`);
      });
    });
}

export function unpauseCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description('resume the processes of paused containers')
    .argument('<container...>')
    .action(async (ids: string[]) => {
      await forEachArg(ids, state, async (id) => {
        await request('POST', at(id, 'unpause'));
        process.stdout.write(`${id}\n`);
      });
    });
}

export function renameCommand(cmd: Command): Command {
  return cmd
    .description('rename a container (running or not): letters, digits, _ . -, unique')
    .argument('<container>')
    .argument('<new-name>')
    .action(async (id: string, name: string) => {
      await request('POST', at(id, 'rename'), { name });
    });
}

interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  cpus?: string;
  cpuQuota?: string;
  cpuPeriod?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
}

/** The flags as moat's update (the same parsers as run's). */
export function toLimitUpdate(f: UpdateFlags): LimitUpdate {
  const u: LimitUpdate = {};
  if (f.memory !== undefined) u.memory = parseBytes(f.memory);
  if (f.memorySwap !== undefined) u.memorySwap = parseMemorySwap(f.memorySwap);
  if (f.cpus !== undefined) u.cpus = parseCpus(f.cpus);
  if (f.cpuQuota !== undefined) u.cpuQuota = parseInteger(f.cpuQuota, '--cpu-quota');
  if (f.cpuPeriod !== undefined) u.cpuPeriod = parseInteger(f.cpuPeriod, '--cpu-period');
  if (f.cpusetCpus !== undefined) u.cpusetCpus = f.cpusetCpus;
  if (f.pidsLimit !== undefined)
    u.pidsLimit = /^(-1|0)$/.test(f.pidsLimit.trim()) ? -1 : parsePositiveInt(f.pidsLimit, '--pids-limit');
  return u;
}

export function updateCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description(
      "change containers' limits: written into a running container's cgroups, recorded for its next start",
    )
    .argument('<container...>')
    .option('-m, --memory <bytes>', 'memory limit, e.g. 64m')
    .option('--memory-swap <bytes>', 'memory plus swap, or -1 for unlimited swap')
    .option('--cpus <n>', 'CPU limit, e.g. 0.5')
    .option('--cpu-quota <us>', 'CFS quota per period (-1: none)')
    .option('--cpu-period <us>', 'CFS period')
    .option('--cpuset-cpus <list>', 'CPUs to run on, e.g. 0-1,3')
    .option('--pids-limit <n>', 'process limit; -1 for none')
    .action(async (ids: string[], f: UpdateFlags) => {
      const u = toLimitUpdate(f);
      if (!Object.keys(u).length)
        throw new UsageError('nothing to update: give at least one limit', {
          hint: 'moat update --help lists them',
        });
      await forEachArg(ids, state, async (id) => {
        const r = await request<{ warnings: string[] }>('POST', at(id, 'update'), u);
        for (const w of r.warnings) process.stderr.write(`moat: warning: ${w}\n`);
        process.stdout.write(`${id}\n`);
      });
    });
}

export function restartCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description(
      'stop containers (the stop signal, SIGKILL after the timeout) and start them again, keeping them (the start is decided by the policy as a start)',
    )
    .argument('<container...>')
    .option(
      '-t, --time <seconds>',
      'seconds to wait before killing',
      (v: string) => {
        const n = Number(v);
        if (!/^\d+$/.test(v.trim()) || n > stopBody.properties.timeout.maximum)
          throw new UsageError(`-t/--time "${v}": must be a whole number of seconds`, {
            hint: 'moat restart --help lists its options',
          });
        return n;
      },
      stopBody.properties.timeout.default,
    )
    .action(async (ids: string[], f: { time: number }) => {
      await forEachArg(ids, state, async (id) => {
        await request('POST', at(id, 'restart'), { timeout: f.time });
        process.stdout.write(`${id}\n`);
      });
    });
}

/**
 * `moat port NAME [PORT[/PROTO]]`: the container's published ports, which are none: moat's
 * containers have only the loopback network. Asked as an inspect (the container must exist, and
 * the policy may read it); prints nothing, or docker's refusal for a port asked by number.
 */
export function portCommand(cmd: Command): Command {
  return cmd
    .description(
      'list the ports a running container publishes (-p, -P), as CONTAINER_PORT/PROTO -> HOST_IP:HOST_PORT',
    )
    .argument('<container>')
    .argument('[private-port]', 'PORT[/PROTO]: only the mappings of this container port')
    .action(async (id: string, port?: string) => {
      const c = await request<{ publishedPorts?: PortSpec[] }>(
        'GET',
        `/containers/${encodeURIComponent(id)}/json`,
      );
      let ports = c.publishedPorts ?? [];
      if (port !== undefined) {
        const [n, proto = 'tcp'] = port.split('/');
        ports = ports.filter((p) => String(p.containerPort) === n && p.protocol === proto);
        if (!ports.length)
          throw new RuntimeError(
            'RUNTIME_INVALID_STATE',
            `no public port '${n}/${proto}' is published for ${id}`,
            {
              hint: 'moat port CONTAINER lists what it publishes (a running container started with -p or -P)',
            },
          );
        process.stdout.write(ports.map((p) => `${portLine(p).split(' -> ')[1]}\n`).join(''));
        return;
      }
      process.stdout.write(ports.map((p) => `${portLine(p)}\n`).join(''));
    });
}
