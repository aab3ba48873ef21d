/**
 * pause, unpause, rename, restart: one request per container, each decided by the
 * policy, printed as docker prints them (the names given; a failure does not stop the others).
 */
import type { Command } from 'commander';
import { stopBody } from '../api/schemas.js';
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
