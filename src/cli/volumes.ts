/**
 * `moat volume create|ls|inspect|rm|prune` (docker's `volume` commands): named volumes that outlive
 * containers, and the anonymous ones `-v /path` and an image's VOLUMEs make. What they are:
 * directories under moat's data directory, owned by the container's mapped IDs (see the README).
 */
import { Option, type Command } from 'commander';
import { parseFilterFlags } from '../api/docker/filters.js';
import type { VolumePruneResult } from '../runtime/volumes/remove.js';
import type { VolumeView } from '../runtime/volumes/view.js';
import { humanSize4 } from '../util/go-units.js';
import { request } from './app.js';
import { UsageError } from './errors.js';
import type { CliState } from './index.js';
import { json, table } from './output.js';
import { forEachArg } from './report.js';
import { isTemplateFormat } from './format/fields.js';
import { confirm, pruneLabelBody } from './prune.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const FORMAT_HINT = "--format table, json, or a Go template such as '{{.Name}}\\t{{.Driver}}'";
const VOLUME_FIELDS = ['Name', 'Driver', 'Scope', 'Mountpoint', 'Labels', 'Links', 'Size', 'CreatedAt'];

/** `--label K=V` / `--opt K=V` into an object (a key without `=` gets an empty value, as docker). */
export function keyValues(flags: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const i = f.indexOf('=');
    const k = i < 0 ? f : f.slice(0, i);
    if (!k) throw new UsageError(`invalid ${what} "${f}"`, { hint: `use ${what} KEY=VALUE` });
    out[k] = i < 0 ? '' : f.slice(i + 1);
  }
  return out;
}

async function volumeRows(vols: readonly VolumeView[]) {
  const { goStruct } = await import('./format/values.js');
  const row = (v: VolumeView) =>
    goStruct('*formatter.volumeContext', {
      Name: v.Name,
      Driver: v.Driver,
      Scope: v.Scope,
      Mountpoint: v.Mountpoint,
      Labels: Object.entries(v.Labels)
        .map(([k, x]) => `${k}=${x}`)
        .join(','),
      Links: String(v.UsedBy.length),
      Size: 'N/A',
      CreatedAt: v.CreatedAt,
    });
  const header = goStruct('*formatter.volumeContext', {
    Name: 'VOLUME NAME',
    Driver: 'DRIVER',
    Scope: 'SCOPE',
    Mountpoint: 'MOUNTPOINT',
    Labels: 'LABELS',
    Links: 'LINKS',
    Size: 'SIZE',
    CreatedAt: 'CREATED',
  });
  return { rows: vols.map(row), header };
}

export function registerVolumeCommands(program: Command, state: CliState): void {
  const volume = program
    .command('volume')
    .description("manage volumes: directories under moat's data directory that outlive containers");

  volume
    .command('create')
    .description('create a volume (no name: a random one); `run -v NAME:/path` also creates one on first use')
    .argument('[name]')
    .option('-d, --driver <driver>', "only local: a directory under moat's data directory", 'local')
    .option('-l, --label <key=value>', 'set a label (repeatable)', collect, [])
    .option(
      '-o, --opt <key=value>',
      'driver option: o=uid=N,gid=N (owner of its root, as the container sees it), o=nocopy (never filled from an image)',
      collect,
      [],
    )
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      async (
        name: string | undefined,
        f: { driver: string; label: string[]; opt: string[]; format: string },
      ) => {
        state.json = f.format === 'json';
        if (f.driver !== 'local')
          throw new UsageError(`volume driver "${f.driver}" is not available`, {
            hint: "moat's volumes are local directories (--driver local)",
          });
        const v = await request<VolumeView>('POST', '/volumes/create', {
          ...(name ? { name } : {}),
          labels: keyValues(f.label, '--label'),
          options: keyValues(f.opt, '--opt'),
        });
        process.stdout.write(state.json ? json(v) : `${v.Name}\n`);
      },
    );

  volume
    .command('ls')
    .alias('list')
    .description('list volumes')
    .option('-q, --quiet', 'only names')
    .option(
      '-f, --filter <key=value>',
      'dangling=true|false, driver=local, label=KEY[=VALUE], name=NAME (repeatable)',
      collect,
      [],
    )
    .option(
      '--format <format>',
      `table, json, or a Go template; fields: ${VOLUME_FIELDS.map((x) => `.${x}`).join(' ')}`,
      'table',
    )
    .action(async (f: { quiet?: boolean; filter: string[]; format: string }) => {
      state.json = f.format === 'json';
      const tmpl = isTemplateFormat(f.format) ? await import('./format/index.js') : undefined;
      const fmt = tmpl?.listFormat(f.format, FORMAT_HINT);
      const { filterVolumes } = await import('../runtime/volumes/filter.js');
      const filters = parseFilterFlags(f.filter);
      const vols = filterVolumes(await request<VolumeView[]>('GET', '/volumes'), filters);
      if (f.quiet) process.stdout.write(vols.map((v) => `${v.Name}\n`).join(''));
      else if (state.json) process.stdout.write(json(vols));
      else if (fmt?.kind === 'template') {
        const { rows, header } = await volumeRows(vols);
        process.stdout.write(tmpl!.renderList(fmt, rows, header, FORMAT_HINT));
      } else
        process.stdout.write(
          table(
            vols.map((v) => [v.Driver, v.Name]),
            ['DRIVER', 'VOLUME NAME'],
          ),
        );
    });

  volume
    .command('inspect')
    .description("show volumes as JSON (docker's fields, plus Anonymous and UsedBy)")
    .argument('<name...>')
    .option('-f, --format <template>', 'a Go template, e.g. {{.Mountpoint}}')
    .action(async (names: string[], f: { format?: string }) => {
      const { inspectFormat, renderOne } = await import('./format/index.js');
      const t = inspectFormat(f.format, FORMAT_HINT);
      const found: VolumeView[] = [];
      await forEachArg(names, state, async (n) => {
        found.push(await request<VolumeView>('GET', `/volumes/${encodeURIComponent(n)}`));
      });
      process.stdout.write(t ? found.map((v) => renderOne(t, v, FORMAT_HINT)).join('') : json(found));
    });

  volume
    .command('rm')
    .alias('remove')
    .description('remove volumes (refused while a container, running or not, mounts one)')
    .argument('<name...>')
    .option('-f, --force', 'no error for a volume that does not exist')
    .action(async (names: string[], f: { force?: boolean }) => {
      await forEachArg(names, state, async (n) => {
        await request('DELETE', `/volumes/${encodeURIComponent(n)}`, { force: Boolean(f.force) });
        process.stdout.write(`${n}\n`);
      });
    });

  volume
    .command('prune')
    .description('remove the anonymous volumes no container mounts (-a: every unused volume)')
    .option('-a, --all', 'named volumes too')
    .option('-f, --force', 'do not ask')
    .option('--filter <key=value>', 'label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)', collect, [])
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (f: { all?: boolean; force?: boolean; filter: string[]; format: string }) => {
      state.json = f.format === 'json';
      const body = { ...pruneLabelBody(f.filter), ...(f.all ? { all: true } : {}) };
      const what = f.all ? 'all volumes' : 'all anonymous volumes';
      if (
        !f.force &&
        !(await confirm(`WARNING! This will remove ${what} not used by at least one container.`))
      )
        return;
      const r = await request<VolumePruneResult>('POST', '/volumes/prune', body);
      process.stdout.write(
        state.json
          ? json(r)
          : `${r.deleted.length ? `Deleted Volumes:\n${r.deleted.map((n) => `${n}\n`).join('')}\n` : ''}Total reclaimed space: ${humanSize4(r.reclaimed)}\n`,
      );
    });
}
