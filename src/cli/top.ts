/**
 * `moat top NAME [ps options]`: a running container's processes, as docker top prints them
 * (the columns of `ps -ef` unless other options are given; runtime/top/ps.ts lists them).
 */
import type { Command } from 'commander';
import { topText } from '../runtime/top/ps.js';
import { request } from './app.js';

export function topCommand(cmd: Command): Command {
  return cmd
    .description(
      "a running container's processes, as ps shows them (default -ef: UID PID PPID C STIME TTY TIME CMD; " +
        'also -e, -f, -o LIST, aux). PIDs are the host’s, users as the container names them',
    )
    .argument('<container>')
    .argument('[ps-options...]', 'ps options: -ef (default), -e, -f, aux, -o pid,user,args,...')
    .passThroughOptions()
    .action(async (id: string, ps: string[]) => {
      const r = await request<{ Titles: string[]; Processes: string[][] }>(
        'GET',
        `/containers/${encodeURIComponent(id)}/top`,
        ps.length ? { psArgs: ps.join(' ') } : {},
      );
      process.stdout.write(topText(r));
    });
}
