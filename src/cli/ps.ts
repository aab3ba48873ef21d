/**
 * `moat ps`: the containers, as moat's table, JSON, or a docker `--format` template; chosen by
 * docker's `--filter KEY=VALUE`, `-n/--last N` and `-l/--latest` with the same functions the
 * Docker API's container list uses (api/docker/filters.ts, list.ts), loaded only when asked for.
 */
import type { Command } from 'commander';
import type { ContainerRecord } from '../runtime/state.js';
import { humanStatus } from '../runtime/status.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import { CONTAINER_FIELDS, isTemplateFormat } from './format/fields.js';
import type { CliState } from './index.js';
import { chooseContainers, CONTAINER_FILTER_KEYS } from './list-filters.js';
import { ago, json, table } from './output.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

interface PsFlags {
  all?: boolean;
  quiet?: boolean;
  filter: string[];
  last?: number;
  latest?: boolean;
  trunc: boolean;
  format: string;
}

const FIELDS = CONTAINER_FIELDS.map((f) => (f === 'Label' ? '.Label "KEY"' : `.${f}`)).join(' ');
const FORMAT_HINT = `--format takes table, json or a Go template (e.g. '{{.Names}} {{.Status}}', 'table {{.ID}}\\t{{.Names}}'); the fields: ${FIELDS}`;
const FILTERS = CONTAINER_FILTER_KEYS.join(', ');

export function registerPs(program: Command, state: CliState): Command {
  return program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show all containers (default: running only)')
    .option('-q, --quiet', 'only IDs')
    .option('-f, --filter <key=value>', `choose containers by ${FILTERS} (repeatable)`, collect, [])
    .option('-n, --last <n>', 'the n most recently created containers, in any state', (v: string) => {
      if (!/^(-1|\d{1,9})$/.test(v.trim()))
        throw new UsageError(`-n/--last "${v}": must be a whole number`, {
          hint: 'moat ps -n 3 lists the last three',
        });
      return Math.max(0, Number(v));
    })
    .option('-l, --latest', 'the most recently created container, in any state')
    .option('--no-trunc', 'full IDs and commands')
    .option(
      '--format <format>',
      "table, json, or a Go template: '{{.Names}} {{.Status}}', 'table {{.ID}}\\t{{.Names}}'",
      'table',
    )
    .addHelpText(
      'after',
      `\nTemplate fields: ${FIELDS}\nFilters (docker's): status=created|running|exited, name=REGEX (matched against /NAME), label=KEY[=VALUE], ancestor=IMAGE, exited=CODE, id=REGEX, before=CONTAINER, since=CONTAINER`,
    )
    .action(async (f: PsFlags) => {
      state.json = f.format === 'json';
      // the template engine is loaded only for a template, and the template parsed before any request
      const tmpl = isTemplateFormat(f.format) ? await import('./format/index.js') : undefined;
      const fmt = tmpl?.listFormat(f.format, FORMAT_HINT);
      const limit = f.latest ? 1 : (f.last ?? 0);
      const list =
        f.filter.length || limit > 0
          ? await chooseContainers(f.filter, Boolean(f.all), limit)
          : await request<ContainerRecord[]>('GET', '/containers', { all: Boolean(f.all) });
      for (const c of list.filter((x) => x.status === 'broken'))
        process.stderr.write(
          `moat: warning: container ${c.id.slice(0, 12)}${c.name ? ` (${c.name})` : ''} has a broken record: ${c.error ?? 'unreadable'}; moat rm -f ${c.name || c.id.slice(0, 12)} removes it\n`,
        );
      const id = (c: ContainerRecord) => (f.trunc ? c.id.slice(0, 12) : c.id);
      if (fmt?.kind === 'template') {
        const { CONTAINER_HEADER, containerRow } = await import('./format/contexts.js');
        const rows = list.map((c) => containerRow(c, { trunc: f.trunc }));
        process.stdout.write(tmpl!.renderList(fmt, rows, CONTAINER_HEADER, FORMAT_HINT));
      } else if (f.format === 'json') {
        process.stdout.write(
          json(
            list.map((c) => ({
              Id: c.id,
              Names: c.name,
              Image: c.image,
              ImageID: c.imageId,
              Command: c.command.join(' '),
              Created: c.created,
              State: c.status,
              Status: humanStatus(c),
              ExitCode: c.exitCode ?? null,
              Pid: c.pid ?? null,
            })),
          ),
        );
      } else if (f.quiet) {
        process.stdout.write(list.map((c) => id(c) + '\n').join(''));
      } else {
        process.stdout.write(
          table(
            list.map((c) => [
              id(c),
              c.image,
              JSON.stringify(f.trunc ? c.command.join(' ').slice(0, 30) : c.command.join(' ')),
              ago(c.created),
              humanStatus(c),
              c.name,
            ]),
            ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES'],
          ),
        );
      }
    });
}
