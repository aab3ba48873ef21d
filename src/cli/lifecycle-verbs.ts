/**
 * pause, unpause, rename: one request per container, each decided by the policy, printed as
 * docker prints them (the names given; a failure does not stop the others).
 */
import type { Command } from 'commander';
import { request } from './app.js';
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
