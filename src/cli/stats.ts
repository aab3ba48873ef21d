/**
 * `moat stats [NAME...]`: docker stats — CPU %, memory use and limit, NET I/O, BLOCK I/O and
 * tasks of containers, refreshed every second (or once, `--no-stream`), as a table, JSON lines or
 * a Go template. Each sample is a `container.stats` request (decided by the policy, as docker
 * stats against the service); without names, the running containers (`-a`: all) as listed now,
 * listed again at every refresh.
 */
import type { Command } from 'commander';
import { STATS_DEFAULTS, type StatsSample } from '../runtime/stats.js';
import type { ContainerRecord } from '../runtime/state.js';
import { request } from './app.js';
import { isTemplateFormat } from './format/fields.js';
import type { CliState } from './index.js';
import { printError } from './report.js';
import {
  STATS_FIELD_HEADERS,
  STATS_HEADER,
  statsCells,
  statsRow,
  tabTable,
  type StatsRow,
} from './stats-columns.js';

interface StatsFlags {
  all?: boolean;
  stream: boolean;
  trunc: boolean;
  format: string;
}

const FIELDS = Object.keys(STATS_FIELD_HEADERS)
  .map((f) => `.${f}`)
  .join(' ');
const FORMAT_HINT = `--format takes table, json or a Go template (e.g. '{{.Name}} {{.CPUPerc}}', 'table {{.Name}}\\t{{.MemUsage}}'); the fields: ${FIELDS}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One sample of each container; a failure is printed (once per container) and leaves it out. */
async function sampleAll(
  refs: string[],
  state: CliState,
  failed: Set<string>,
): Promise<Map<string, StatsSample>> {
  const got = await Promise.all(
    refs.map((ref) =>
      request<StatsSample>('GET', `/containers/${encodeURIComponent(ref)}/stats`).then(
        (s) => [ref, s] as const,
        (e: unknown) => {
          if (!failed.has(ref)) {
            failed.add(ref);
            state.exitCode = printError(e, { json: false });
          }
          return undefined;
        },
      ),
    ),
  );
  return new Map(got.filter((x) => x !== undefined));
}

export function statsCommand(cmd: Command, state: CliState): Command {
  return cmd
    .description(
      "containers' resource use, as docker stats: CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS " +
        '(refreshed every second until interrupted; --no-stream: once)',
    )
    .argument('[containers...]', 'names or IDs (default: the running containers)')
    .option('-a, --all', 'all containers, not only running ones (without names)')
    .option('--no-stream', 'print one sample and exit')
    .option('--no-trunc', 'full container IDs')
    .option(
      '--format <format>',
      "table, json (one object a line), or a Go template: '{{.Name}} {{.CPUPerc}}', 'table {{.Name}}\\t{{.MemUsage}}'",
      'table',
    )
    .addHelpText('after', `\nTemplate fields: ${FIELDS}`)
    .action(async (names: string[], f: StatsFlags) => {
      const tmpl = isTemplateFormat(f.format) ? await import('./format/index.js') : undefined;
      const fmt = tmpl?.listFormat(f.format, FORMAT_HINT);
      const values = tmpl ? await import('./format/values.js') : undefined;
      const refs = async () =>
        names.length
          ? names
          : (await request<ContainerRecord[]>('GET', '/containers', { all: Boolean(f.all) }))
              .filter((c) => c.status !== 'broken')
              .map((c) => c.name);
      const render = (rows: StatsRow[]): string => {
        if (fmt?.kind === 'template') {
          const struct = (o: Readonly<Record<keyof StatsRow, string>>) =>
            values!.goStruct('*formatter.statsContext', { ...o });
          return tmpl!.renderList(fmt, rows.map(struct), struct(STATS_FIELD_HEADERS), FORMAT_HINT);
        }
        if (f.format === 'json')
          return rows
            .map(
              (r) =>
                JSON.stringify(Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)))) +
                '\n',
            )
            .join('');
        return tabTable([STATS_HEADER, ...rows.map(statsCells)]);
      };
      const failed = new Set<string>();
      const rowsOf = (cur: Map<string, StatsSample>, pre: Map<string, StatsSample>) =>
        [...cur].map(([ref, s]) => {
          const row = statsRow(s, pre.get(ref), ref);
          return f.trunc ? row : { ...row, ID: s.id };
        });
      let pre = await sampleAll(await refs(), state, failed);
      if (!f.stream) {
        await sleep(STATS_DEFAULTS.preSampleMs);
        const cur = await sampleAll([...pre.keys()], state, failed);
        process.stdout.write(render(rowsOf(cur, pre)));
        return;
      }
      // docker clears a terminal before each table; into a pipe the tables follow each other
      const clear = process.stdout.isTTY ? '\x1b[2J\x1b[H' : '';
      process.stdout.write(clear + render(rowsOf(pre, new Map())));
      for (;;) {
        await sleep(STATS_DEFAULTS.intervalMs);
        const cur = await sampleAll(await refs(), state, failed);
        process.stdout.write(clear + render(rowsOf(cur, pre)));
        pre = cur;
        if (names.length && cur.size === 0) return; // every named container is gone
      }
    });
}
