/** `moat events`: the event log, as docker prints it (see api/event-routes.ts). */
import type { Command } from 'commander';
import { request } from './app.js';
import type { CliState } from './index.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerEvents(program: Command, _state: CliState): void {
  program
    .command('events')
    .description(
      'what happened to containers (create, start, die, oom, kill, stop, destroy, attach, exec...): the stored events from --since, then new ones as they happen (until --until, or Ctrl-C)',
    )
    .option('--since <time>', 'from this time: Unix seconds, RFC 3339, or a duration before now (10m)')
    .option('--until <time>', 'up to this time (then stop), in the same forms')
    .option(
      '-f, --filter <key=value>',
      'container=NAME|ID, event=ACTION, image=NAME, label=KEY[=VALUE], type=container|image (repeatable: values of one key are alternatives, keys must all match)',
      collect,
      [],
    )
    .option('--format <format>', "text (docker's lines) or json (docker's messages, one per line)", 'text')
    .action(async (f: { since?: string; until?: string; filter: string[]; format: string }) => {
      await request(
        'GET',
        '/events',
        {
          ...(f.since !== undefined ? { since: f.since } : {}),
          ...(f.until !== undefined ? { until: f.until } : {}),
          filters: f.filter,
          format: f.format,
        },
        { stdout: process.stdout, stderr: process.stderr },
      );
    });
}
